"""Hostile text in every stored field a person types comes out as text: in the pages, in the PDFs, in the e-mails
(issue 9, security suite).

A world is built with the factories (a budgeted call with questions, attachment types and cost categories; an
application in clarification, an appealed one, a reviewed one with comments, a contracted grant with a report, an
evaluator with affiliations, a draft call), then every typed text column of every row (TYPED, and the text answers
inside the JSON contents) is overwritten with a payload that names its row:

    <script>alert('users.name#7')</script>"><img src=x onerror=alert('users.name#7')>{{7*7}} javascript:alert(1)

Pages: a crawler follows every same-site link from each visitor's home (the NGO's member, an evaluator, a
programme-level admin and auditor) and reads every HTML page it reaches; no page may contain markup the payloads made
(a <script> without src, an on… attribute, a javascript: URL, an <img>), and every column must be shown whole,
escaped, somewhere (else the check would be vacuous; a column no page shows is listed in NOT_ON_PAGES, with why).

Documents: every kind (receipt, regulations, agreement, letter, protocol, …) is made from its frozen context with
the payloads put in: its HTML has no markup the payloads made and shows them escaped; the agreement is rendered for
real (WeasyPrint) and pypdf reads the payload back as literal text. The renderer's url_fetcher refuses every URL but
its own static files and fonts. E-mails: after the payloads are in, the NGO answers its clarification with a file
whose name carries markup and a right-to-left override; the notices go to a real SMTP server: the HTML part escaped,
the text part as typed, one Subject line, one recipient.
"""
from __future__ import annotations

import io
import re
import threading
from html import unescape
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

import pytest
from markupsafe import escape
from sqlalchemy import select, update

from app.extensions import db
from app.models import Application, Document, Message
from tests import factories

# --- the payload ----------------------------------------------------------------------------------------------------


def payload(tag: str) -> str:
    return (f"<script>alert('{tag}')</script>\"><img src=x onerror=alert('{tag}')>{{{{7*7}}}} "
            f"javascript:alert('{tag}')")


# Every column a person types into (a form, an upload's file name, a reason in a workflow button), by table.
TYPED = {
    "organisations": ["name", "address"], "organisers": ["name"], "users": ["name"],
    "calls": ["title_lv", "title_en", "description_lv", "description_en", "funder"],
    "applications": ["title"], "budget_lines": ["description"], "application_files": ["original_name"],
    "attachment_types": ["label_lv", "label_en"], "call_questions": ["label_lv", "label_en", "help_lv", "help_en"],
    "cost_categories": ["label_lv", "label_en"],
    "criteria": ["title_lv", "title_en", "description_lv", "description_en"],
    "checks": ["title_lv", "title_en"], "check_results": ["reason"], "clarifications": ["question", "answer"],
    "appeals": ["text", "decision_reasons"], "scores": ["comment"], "conflicts": ["note"],
    "evaluator_affiliations": ["domain", "text"], "reports": ["reviewer_note", "early_allowed_reason"],
    "report_rounds": ["comment"], "grants": ["termination_reason"], "recoveries": ["reason"],
    "audit_events": ["note"], "agreement_signatures": ["original_name"], "attachments": ["filename"],
    "messages": ["subject"],  # made of typed names and titles
}
# JSON columns whose text answers are typed: the application's form and its questions, the report's form
TYPED_JSON = {"applications": "content", "reports": "content", "report_rounds": "content"}
NOT_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}.*|-?\d+([.,]\d+)?|[a-z_]+|")  # dates, numbers, choices (keys of a list)


def _text_leaves(value, tag: str, path: str = ""):
    """`value` with every typed text answer replaced by its payload."""
    if isinstance(value, dict):
        return {k: _text_leaves(v, tag, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_text_leaves(v, tag, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str) and not NOT_TEXT.fullmatch(value):
        return payload(f"{tag}{path}")
    return value


def inject() -> tuple[dict[str, list[str]], dict[str, str]]:
    """Every typed column of every row → its payload. Returns {column: [the payloads written]} and
    {the value it had: its payload} (for the documents' frozen contexts)."""
    written, replaced = {}, {}
    for name in sorted(set(TYPED) | set(TYPED_JSON)):
        table = db.metadata.tables[name]
        key = list(table.primary_key.columns)[0]
        for row in db.session.execute(select(table)).mappings().all():
            changes = {}
            for column in TYPED.get(name, []):
                if row[column]:
                    tag = f"{name}.{column}#{row[key.name]}"
                    changes[column] = payload(tag)
                    replaced.setdefault(row[column], payload(tag))
                    written.setdefault(f"{name}.{column}", []).append(payload(tag))
            if column := TYPED_JSON.get(name):
                new = _text_leaves(row[column] or {}, f"{name}.{column}#{row[key.name]}")
                if new != row[column]:
                    changes[column] = new
                    written.setdefault(f"{name}.{column}", []).extend(_payloads_in(new))
            if changes:
                db.session.execute(update(table).where(key == row[key.name]).values(**changes))
    db.session.commit()
    return written, replaced


def _payloads_in(value) -> list[str]:
    if isinstance(value, dict):
        return [p for v in value.values() for p in _payloads_in(v)]
    if isinstance(value, list):
        return [p for v in value for p in _payloads_in(v)]
    return [value] if isinstance(value, str) and value.startswith("<script>") else []


# --- what a page may not contain -----------------------------------------------------------------------------------

class MarkupFinder(HTMLParser):
    """Elements and attributes the payloads would make if they were interpreted."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name.lower(): value or "" for name, value in attrs}
        if tag == "script" and not names.get("src"):
            self.problems.append(f"<script> without src at line {self.getpos()[0]}")
        if tag == "img" and names.get("src") == "x":
            self.problems.append(f"<img src=x> at line {self.getpos()[0]}")
        for name, value in names.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> at line {self.getpos()[0]}")
            if name in ("href", "src", "action", "formaction", "xlink:href") and \
                    value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…> at line {self.getpos()[0]}")


def markup_problems(body: str) -> list[str]:
    finder = MarkupFinder()
    finder.feed(body)
    finder.close()
    return finder.problems


def test_the_finder_sees_what_an_unescaped_payload_makes():
    unescaped = f"<p>{payload('x')}</p><a href=\"javascript:go()\">a</a>"
    assert markup_problems(unescaped) == ["<script> without src at line 1", "<img src=x> at line 1",
                                          "<img onerror=…> at line 1", "<a href=javascript:…> at line 1"]
    assert markup_problems(f"<p>{escape(payload('x'))}</p>") == []


# --- the world ------------------------------------------------------------------------------------------------------

ATTACHED = b"%PDF-1.7\n%% a board decision\n%%EOF\n"


def build_world():
    from app.models import ApplicationFile, AttachmentType, CostCategory, EvaluatorAffiliation, Question

    f = factories
    organisation = f.make_organisation("Biedrība „Ogres jaunieši”")
    member = f.make_user("applicant", organisation=organisation, name="Anna Kalniņa")
    # a budgeted call with its own question, attachment type and a cost category; a clarification asked there
    asking = f.make_application(state="clarification", organisation=organisation)
    call = asking.call
    db.session.add_all([
        Question(call_id=call.id, key="q1", position=0, kind="short_text", step="questions", required=False,
                 label_lv="Kura skola?", label_en="Which school?", help_lv="Skolas nosaukums.",
                 help_en="The school's name.", options=[]),
        AttachmentType(call_id=call.id, label_lv="Valdes lēmums", label_en="Board decision", formats=["pdf"],
                       required=False),
        CostCategory(call_id=call.id, position=0, code="staff", label_lv="Personāls", label_en="Staff",
                     cap_percent=50),
        ApplicationFile(application_id=asking.id, filename="lemums.pdf", original_name="Valdes lēmums.pdf",
                        format="pdf", content_type="application/pdf", size=len(ATTACHED), content=ATTACHED,
                        sha256="0" * 64, uploaded_by=member.id)])
    budgeted_call = f.make_call(state="open", funding="budgeted")
    budgeted = f.make_application(budgeted_call, "draft", organisation=organisation)
    appealed = f.make_application(state="appealed", organisation=organisation, appeal_from="rejected")
    reviewed = f.make_assignment("submitted")  # its score sheet with comments
    evaluator = db.session.get(type(member), reviewed.evaluator_id)
    db.session.add(EvaluatorAffiliation(evaluator_id=evaluator.id, kind="text", text="Jelgavas skola"))
    report = f.make_report("submitted")  # a contracted grant: agreement, payments, a report with its texts
    grant = report.application
    f.make_call(state="draft", organiser=call.organiser, admin=f.admin_of(call))
    db.session.commit()
    return {"member": member, "evaluator": evaluator, "member_of_grant": f.member_of(grant),
            "apps": [asking, budgeted, appealed, reviewed.application, grant], "report": report}


# --- the pages ------------------------------------------------------------------------------------------------------

SKIP = ("/static/", "/logout", "/language", "/account/", "/password/", "/messages/settings")


def crawl(client, starts: list[str], *, limit: int, skip: set[str] = frozenset()) -> dict[str, str]:
    """The HTML pages reachable by GET links from `starts`, breadth first, at most `limit`, but those in `skip`
    (the public pages every visitor reaches): {path: body}."""
    pages, queue, seen = {}, list(starts), set(starts) | set(skip)
    while queue and len(pages) < limit:
        url = queue.pop(0)
        response = client.get(url)
        assert response.status_code < 500, f"{url}: {response.status_code}"
        for value in response.headers.values():
            assert "\n" not in value and "\r" not in value, (url, value)
        if response.mimetype != "text/html" or response.status_code != 200:
            continue
        body = response.get_data(as_text=True)
        pages[url] = body
        for link in re.findall(r'href="([^"]+)"', body):
            link = unescape(link)
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or not link.startswith("/") or link.startswith(SKIP):
                continue
            link = parts.path + (f"?{parts.query}" if parts.query else "")
            if link not in seen:
                seen.add(link)
                queue.append(link)
    return pages


# Columns no HTML page shows, and why.
NOT_ON_PAGES: dict[str, str] = {}


@pytest.fixture
def no_diagrams(monkeypatch):
    from workflows import diagram

    monkeypatch.setattr(diagram, "to_svg", lambda *args, **kwargs: "<svg></svg>")


def _with_payloads(value, replaced: dict[str, str]):
    """A document's frozen context with every value a person typed replaced by the payload its column now holds."""
    if isinstance(value, dict):
        return {k: _with_payloads(v, replaced) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_payloads(v, replaced) for v in value]
    if isinstance(value, str):
        if value in replaced:
            return replaced[value]
        if not NOT_TEXT.fullmatch(value) and len(value) > 12 and " " in value:  # a typed text answer
            return payload(f"context:{value[:20]}")
    return value


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


# Rendered for real and read back with pypdf (a few seconds each here); every kind's HTML is checked (the step from
# HTML to PDF adds no markup of its own)
PRINTED = ("agreement",)
# a file name as the NGO's computer gives it: markup, and a right-to-left override that would show "exe.pdf" as
# "fdp.exe"
FILE_NAME = "\"><img src=x onerror=alert(1)>l\u0113mums\u202efdp.exe.pdf"


def test_hostile_text_comes_out_as_text_in_pages_documents_and_emails(app, login_as, smtp_server, monkeypatch,
                                                                      no_diagrams):
    from pypdf import PdfReader

    from app import documents
    from app.services import applications as application_service
    from app.services import jobs

    real_render = documents.render
    monkeypatch.setattr(documents, "render", lambda kind, context, language: b"%PDF-1.4\n%%EOF\n")
    world = build_world()
    written, replaced = inject()
    failures: dict[str, list[str]] = {}

    # e-mails: the NGO answers the clarification (with a file), which tells the call's admins
    asking = db.session.get(Application, world["apps"][0].id)
    member = db.session.get(type(world["member"]), world["member"].id)
    first_message = db.session.scalar(select(Message.id).order_by(Message.id.desc())) or 0
    application_service.clarify(asking, member, payload("clarify.answer"), files=[(FILE_NAME, ATTACHED)])
    db.session.commit()
    for message_id in db.session.scalars(select(Message.id).where(Message.id > first_message)):
        jobs.deliver(message_id)
    mails = smtp_server.received
    failures["e-mails"] = _mail_problems(mails, [payload("clarify.answer")] + written["applications.title"])
    assert mails, "the answer told nobody"

    # pages: every page each visitor reaches
    admin = factories.make_user("admin", programme_level=True)
    auditor = factories.make_user("auditor", programme_level=True, language="en")
    objects = [f"/admin/applications/{a.id}" for a in world["apps"]] + [f"/admin/reports/{world['report'].id}"]
    pages: dict[str, str] = {}
    public = crawl(app.test_client(), ["/"], limit=10)
    pages.update({f"anonymous {url}": body for url, body in public.items()})
    for who, starts, limit in ((world["member"], ["/apply/", "/messages"], 30),
                               (world["member_of_grant"], ["/apply/"], 12),
                               (world["evaluator"], ["/evaluate/", "/messages"], 8),
                               (admin, objects + ["/admin/", "/admin/evaluators", "/admin/messages"], 45),
                               (auditor, [f"/calls/{asking.call.code}", f"/admin/calls/{asking.call_id}"] + objects,
                                12)):
        visitor = app.test_client()
        login_as(visitor, who)
        pages.update({f"{who.role} {url}": body
                      for url, body in crawl(visitor, starts, limit=limit, skip=set(public)).items()})
    failures["pages"] = [f"{page}: {problem}" for page, body in pages.items() for problem in markup_problems(body)]
    shown = {column for column, values in written.items()
             if any(str(escape(value)) in body for value in values for body in pages.values())}
    missing = sorted(set(written) - shown - set(NOT_ON_PAGES))
    if missing:
        failures["pages"].append(f"typed columns no page shows whole and escaped: {missing}")
    file_name = str(escape(FILE_NAME.replace("\u202e", "")))
    if not any(file_name in body for body in pages.values()):
        failures["pages"].append(f"the uploaded file's name is shown nowhere as {file_name!r}")
    if any("\u202e" in body for body in pages.values()):
        failures["pages"].append("a right-to-left override reached a page")

    # documents: each kind, from its frozen context with the payloads put in
    first_of_kind = {}
    for document in db.session.scalars(select(Document).order_by(Document.id)):
        first_of_kind.setdefault(document.kind, document)
    assert {"receipt", "agreement", "regulations", "letter", "protocol"} <= set(first_of_kind), sorted(first_of_kind)
    failures["documents"] = []
    for kind, document in sorted(first_of_kind.items()):
        context = _with_payloads(document.context, replaced)
        put_in = sorted(set(_payloads_in(context)))
        html = documents.render_html(kind, context, document.language)
        failures["documents"] += [f"{kind}: {problem}" for problem in markup_problems(html)]
        if not any(str(escape(p)) in html for p in put_in):
            failures["documents"].append(f"{kind}: none of {len(put_in)} payloads shown whole and escaped")
        if kind in PRINTED:
            pdf = real_render(kind, context, document.language)
            text = _flat("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
            if not [p for p in put_in if _flat(p) in text]:
                failures["documents"].append(f"{kind}: none of {len(put_in)} payloads printed whole in the PDF")
    failures = {where: found for where, found in failures.items() if found}
    assert not failures, "\n".join(f"{where}:\n  " + "\n  ".join(found[:30]) for where, found in failures.items())


def _mail_problems(mails, payloads: list[str]) -> list[str]:
    problems = []
    for mail in mails:
        message = mail.message
        subject = message["Subject"]
        where = f"to {mail.rcpt_tos} {subject!r}"
        if "\n" in str(subject) or "\r" in str(subject) or message.get_all("Bcc") or len(mail.rcpt_tos) != 1:
            problems.append(f"{where}: a header was injected")
        problems += [f"{where} (HTML part): {p}" for p in markup_problems(mail.html)]
        if not any(str(escape(p)) in mail.html for p in payloads):
            problems.append(f"{where}: no payload in its HTML part, escaped")
        if not any(p in mail.text for p in payloads):
            problems.append(f"{where}: no payload in its text part, as typed")
    return problems


class _Counting(BaseHTTPRequestHandler):
    asked: list[str] = []

    def do_GET(self):  # noqa: N802  http.server's name
        _Counting.asked.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_document_renderer_fetches_nothing_but_its_own_files(app):
    """An <img> or <link> that got into a document (it cannot, escaped; this is the second line of defence) fetches
    no URL: not the network, not a file outside the app's static folder and fonts."""
    from weasyprint import HTML

    from app import documents

    server = HTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    here = f"http://127.0.0.1:{server.server_port}"
    try:
        fetcher = documents._local_only_fetcher()
        for url in (f"{here}/pixel.png", "file:///etc/passwd", f"file://{documents.STATIC}/../../config.py",
                    "ftp://127.0.0.1/x", "https://example.com/x.css"):
            with pytest.raises(ValueError, match="refusing"):
                fetcher.fetch(url)
        css = next(documents.STATIC.rglob("*.css"))
        assert fetcher.fetch(f"file://{css}") is not None  # its own files it does fetch
        markup = (f'<link rel="stylesheet" href="{here}/style.css"><img src="{here}/pixel.png">'
                  f'<img src="file:///etc/passwd"><p style="background: url({here}/bg.png)">Teksts</p>')
        pdf = HTML(string=markup, base_url=str(documents.STATIC), url_fetcher=fetcher).write_pdf()
        assert pdf.startswith(b"%PDF")
        assert _Counting.asked == [], _Counting.asked
    finally:
        server.shutdown()
        server.server_close()


def test_a_line_break_typed_into_a_name_never_makes_a_mail_header(client, smtp_server):
    """The public registration form takes the organisation's name as typed, line breaks included, and the
    confirmation's subject names it: the subject goes out as one line, to the one recipient (before, the e-mail
    library refused the header and the confirmation was never delivered)."""
    from app.services import jobs

    response = client.post("/register", data={
        "organisation_name": "Biedrība\r\nBcc: evil@example.com\r\n\r\n<b>x</b>", "legal_form": "biedriba",
        "registration_number": factories.registration_number(880_001), "iban": factories.IBAN,
        "organisation_email": "info@jauniesi-880001.lv", "address": "Lielā iela 1, Jelgava", "user_name": "Anna",
        "email": "anna@jauniesi-880001.lv", "password": "parole-1234567-zz", "password_again": "parole-1234567-zz"})
    assert response.status_code == 302
    message = db.session.scalars(select(Message).where(Message.recipient == "anna@jauniesi-880001.lv")).one()
    assert "\n" not in message.subject and "\r" not in message.subject
    jobs.deliver(message.id)
    [mail] = smtp_server.received
    assert mail.rcpt_tos == ["anna@jauniesi-880001.lv"]
    assert mail.message.get_all("Bcc") is None
    assert mail.message["Subject"] == ("Apstipriniet organizācijas Biedrība Bcc: evil@example.com <b>x</b> "
                                       "reģistrāciju")
    assert markup_problems(mail.html) == [] and "&lt;b&gt;x&lt;/b&gt;" in mail.html
