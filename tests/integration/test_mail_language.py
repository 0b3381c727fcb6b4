"""E-mail in its recipient's language, and mail that is marked sent only when a server took it (issue 5, 3 and 7).

The Latvian catalogue is checked against the strings Babel itself extracts from the source with babel.cfg, and
against every subject the source hands to `jobs.notify` (found by reading the source's syntax tree), never against
a list kept by the code under test. Delivery is checked through a real local SMTP server (aiosmtpd): one that
accepts, one that refuses, and none at all.
"""
from __future__ import annotations

import ast
import asyncio
import html
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from sqlalchemy import select

from app.models import AuditEvent, Job, Message
from app.extensions import db
from app.services import jobs
from app.services.workflow import fire
from tests.conftest import _free_port
from tests.factories import login_as, member_of

ROOT = Path(__file__).resolve().parents[2]
LATVIAN = ROOT / "app/translations/lv/LC_MESSAGES/messages.po"


def babel_extracted(folder: str) -> set[str]:
    """Every msgid (singular) that `pybabel extract -F babel.cfg .` finds in the files under ROOT/folder."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    wanted = ROOT / folder

    def on_the_way(dirpath: str) -> bool:  # walk only towards and into `folder`, not the whole tree (.venv)
        path = Path(dirpath)
        return path == wanted or wanted in path.parents or path in wanted.parents

    found = set()
    for filename, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, directory_filter=on_the_way):
        if wanted in (ROOT / filename).parents:
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def latvian() -> dict[str, str]:
    with open(LATVIAN, "rb") as po:
        catalogue = read_po(po)
    return {m.id if isinstance(m.id, str) else m.id[0]: (m.string if isinstance(m.string, str) else m.string[0])
            for m in catalogue if m.id}


def _text_of(node: ast.expr, constants: dict[str, ast.expr]) -> list[str] | None:
    """The literal text(s) a subject expression stands for: _l("…") (a lazy string, translated in the recipient's
    language when the message is written), a module-level dict of them indexed, or a choice of two of them. A bare "…" is not translated."""
    if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_l" and node.args
            and isinstance(node.args[0], ast.Constant)):
        return [node.args[0].value]
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in constants:
        table = constants[node.value.id]
        if isinstance(table, ast.Dict):
            texts = [_text_of(value, constants) for value in table.values]
            return None if None in texts else [t for group in texts for t in group]
    if isinstance(node, ast.IfExp):
        texts = [_text_of(node.body, constants), _text_of(node.orelse, constants)]
        return None if None in texts else texts[0] + texts[1]
    if isinstance(node, ast.Name) and node.id in constants:
        return _text_of(constants[node.id], constants)
    return None


# app/services/notifications.py: each hands its subject on to notify, as its third argument too
FORWARDERS = ("tell_admins", "tell_members")


def notify_subjects() -> dict[str, str]:
    """Every subject given to a `notify(user, template, subject, …)` call (or to a function that hands it on to
    one: FORWARDERS) under app/, with where it is written."""
    subjects: dict[str, str] = {}
    unreadable = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {target.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                     for target in node.targets if isinstance(target, ast.Name)}
        forwarding = {id(call) for function in ast.walk(tree) if isinstance(function, ast.FunctionDef)
                      and function.name in FORWARDERS for call in ast.walk(function)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or id(node) in forwarding:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name not in ("notify", *FORWARDERS):
                continue
            subject = node.args[2] if len(node.args) > 2 else next(
                (k.value for k in node.keywords if k.arg == "subject"), None)
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            texts = _text_of(subject, constants) if subject is not None else None
            if texts is None:
                unreadable.append(where)
            for text in texts or ():
                subjects[text] = where
    assert not unreadable, f"subjects this test cannot read (write them as _l('…') literals): {unreadable}"
    return subjects


def test_every_subject_and_every_email_text_is_extracted_and_in_latvian():
    subjects = notify_subjects()
    assert len(subjects) >= 15, subjects  # 11 call sites and the four decision letters: the walk found them
    extracted = babel_extracted("app")
    not_extracted = {text: where for text, where in subjects.items() if text not in extracted}
    assert not_extracted == {}, "pybabel (babel.cfg) does not extract these subjects: mark them with _l"

    email_texts = babel_extracted("templates/email")
    assert "Hello, %(name)s!" in email_texts and len(email_texts) > 35  # the templates were read
    catalogue = latvian()
    untranslated = sorted(text for text in set(subjects) | email_texts if not catalogue.get(text))
    assert untranslated == []


def test_the_declaration_has_one_home_extracted_and_in_latvian():
    """The declaration an evaluator signs is written once, where the service keeps it, and translated."""
    opening = "I declare that I have no conflict of interest"
    homes = [str(p.relative_to(ROOT)) for p in (ROOT / "app").rglob("*.py") if opening in p.read_text("utf-8")]
    assert homes == ["app/services/evaluation.py"]

    (declaration,) = [text for text in babel_extracted("app") if text.startswith(opening)]
    assert latvian()[declaration].startswith("Apliecinu, ka man nav interešu konflikta")


def test_tick_writes_its_note_in_the_programmes_language(app, runner, clock, make_application):
    application = make_application(None, "funded")
    clock.travel_to(application.offer_deadline)

    result = runner.invoke(args=["tick"])

    assert f"application {application.number}: decline" in result.output
    note = db.session.scalars(select(AuditEvent.note).where(AuditEvent.entity_type == "application",
                                                            AuditEvent.entity_id == application.id,
                                                            AuditEvent.trigger == "decline")).one()
    assert note == "Piedāvājuma pieņemšanas termiņš ir beidzies."


# --- over SMTP ----------------------------------------------------------------------------------------------------

@pytest.fixture
def submitted(app, make_call, make_user, make_organisation, make_application, stub_pdfs, runner):
    """`submitted(language)`: a member speaking `language` submits a draft (a real move, committed); the queue holds
    only what that move left (the call's regulations were done first)."""

    def submit(language: str):
        call = make_call(state="open")  # before the member registers: no "new call" mail in the way
        member = make_user("applicant", organisation=make_organisation(), language=language,
                           name="Ilze Bērziņa")
        application = make_application(call, "draft", organisation=member.organisation)
        runner.invoke(args=["worker", "--once"])
        fire(application, "submit", member)
        db.session.commit()
        return application, member

    return submit


@pytest.mark.postgres
@pytest.mark.parametrize(("language", "subject", "greeting"), [
    ("lv", "Projekta iesniegums {} saņemts", "Labdien, Ilze Bērziņa!"),
    ("en", "Application {} received", "Hello, Ilze Bērziņa!"),
])
def test_the_receipt_mail_arrives_in_its_recipients_language(submitted, smtp_server, runner, language, subject,
                                                              greeting):
    application, member = submitted(language)

    runner.invoke(args=["worker", "--once"])

    (mail,) = smtp_server.to(member.email)
    assert mail.message["Subject"] == subject.format(application.number)
    assert mail.text.startswith(greeting)


@pytest.mark.postgres
def test_a_decision_letter_arrives_with_a_latvian_subject(app, make_application, smtp_server, stub_pdfs, runner):
    application = make_application(None, "funded")  # published by the real fires; members speak Latvian
    member = member_of(application)

    runner.invoke(args=["worker", "--once"])

    subjects = [mail.message["Subject"] for mail in smtp_server.to(member.email)]
    assert f"Lēmums par projekta iesniegumu {application.number}: apstiprināts finansēšanai" in subjects


# --- marked sent only when a server took it ------------------------------------------------------------------------

def page_text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def receipt_message(member) -> Message:
    db.session.expire_all()
    return db.session.scalars(select(Message).where(Message.user_id == member.id)).one()


def pages(app, member, application) -> dict[str, str]:
    """What the member reads (in Latvian): the message list, the message itself, the receipt page."""
    client = app.test_client()
    login_as(client, member)
    message = receipt_message(member)
    return {"list": page_text(client.get("/messages")),
            "message": page_text(client.get(f"/messages/{message.id}")),
            "receipt": page_text(client.get(f"/apply/applications/{application.id}/receipt"))}


CLAIMED_COPY = "Apliecinājums nosūtīts arī uz jūsu e-pastu"  # what the receipt page said before, whatever happened
IN_APP_ONLY = "Nav nosūtīts pa e-pastu: e-pasta sūtīšana šajā sistēmā ir izslēgta"


@pytest.mark.postgres
def test_without_a_mail_server_nothing_is_marked_sent(app, submitted, runner):
    assert app.config["MAIL_SERVER"] == ""
    application, member = submitted("lv")

    result = runner.invoke(args=["worker", "--once"])

    assert result.exit_code == 0
    message = receipt_message(member)
    assert message.sent_at is None
    assert message.delivery == "in_app_only"
    assert db.session.scalars(select(Job.status).where(Job.kind == "email", Job.target_id == message.id)).one() \
        == "done"
    seen = pages(app, member, application)
    assert IN_APP_ONLY in seen["list"] and "E-pasts nosūtīts" not in seen["list"]
    assert IN_APP_ONLY in seen["message"]
    assert CLAIMED_COPY not in seen["receipt"] and "nosūtīts uz" not in seen["receipt"]
    assert "Apliecinājums ir jūsu paziņojumos šajā sistēmā. Pa e-pastu tas nav nosūtīts" in seen["receipt"]


@pytest.mark.postgres
def test_with_a_server_the_message_is_marked_sent_once_the_server_took_it(app, submitted, smtp_server, runner):
    application, member = submitted("lv")
    before = receipt_message(member)
    assert (before.sent_at, before.delivery) == (None, "pending")
    assert "Apliecinājums tiek sūtīts uz " + member.email in pages(app, member, application)["receipt"]

    runner.invoke(args=["worker", "--once"])

    (mail,) = smtp_server.to(member.email)
    message = receipt_message(member)
    assert message.delivery == "sent" and message.sent_at is not None
    seen = pages(app, member, application)
    assert f"Nosūtīts uz {member.email}" in seen["message"]
    assert f"Apliecinājums nosūtīts uz {member.email}" in seen["receipt"]
    assert IN_APP_ONLY not in seen["list"]


class Refusing:
    """An SMTP server that answers every recipient with a permanent refusal."""

    def __init__(self):
        self.refused = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.refused.append(address)
        return "550 5.1.1 No such mailbox here"


@pytest.fixture
def refusing_server(app):
    from aiosmtpd.controller import Controller

    handler = Refusing()
    loop = asyncio.new_event_loop()
    controller = Controller(handler, loop=loop, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    try:
        yield handler
    finally:
        controller.stop()
        loop.close()
        app.config.update(MAIL_SERVER="", MAIL_PORT=25)


@pytest.fixture
def no_server(app):
    """MAIL_SERVER names a port where nothing listens: the server is down."""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port())
    yield
    app.config.update(MAIL_SERVER="", MAIL_PORT=25)


@pytest.mark.postgres
@pytest.mark.parametrize("server", ["refusing_server", "no_server"])
def test_a_message_a_server_did_not_take_is_never_marked_sent(app, submitted, runner, request, server, clock):
    request.getfixturevalue(server)
    clock.travel_to(clock.now())
    application, member = submitted("lv")

    runner.invoke(args=["worker", "--once"])  # the first try fails; the job waits for the next run

    message = receipt_message(member)
    assert (message.sent_at, message.delivery) == (None, "pending")
    if server == "refusing_server":
        assert request.getfixturevalue("refusing_server").refused == [member.email]

    for _retry in range(jobs.MAX_ATTEMPTS - 1):  # each try after its backoff; the last failure parks the job
        clock.travel_to(clock.now() + jobs.LONGEST_WAIT)
        runner.invoke(args=["worker", "--once"])

    message = receipt_message(member)
    assert (message.sent_at, message.delivery) == (None, "failed")
    job = db.session.scalars(select(Job).where(Job.kind == "email", Job.target_id == message.id)).one()
    assert job.status == "failed" and job.error
    seen = pages(app, member, application)
    assert "Neizdevās nosūtīt" in seen["list"]
    assert f"Šo paziņojumu neizdevās nosūtīt uz {member.email}" in seen["message"]
    assert CLAIMED_COPY not in seen["receipt"]
    assert f"Apliecinājumu neizdevās nosūtīt uz {member.email}" in seen["receipt"]
