"""The walking skeleton: one competition from the call to the closed grant, played through the real routes.

Every step is an HTTP request from the person who would take it (admin, the public, three NGOs, two evaluators),
each in a browser (test client) of their own, reading the pages in English. Only three things bypass the web:
staff accounts come from `create_staff_user` (the CLI's job), the clock is moved with `travel_to`, and the
worker's `run_pending` delivers the mail to a real SMTP server (aiosmtpd), where the test reads what arrived.
After each step the test checks the stored state and rows, and what the page said.
"""
from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select, text
from werkzeug.datastructures import MultiDict

from app import clock
from app.extensions import db
from app.models import (Application, Assignment, AuditEvent, Call, Check, CheckResult, Criterion, Decision,
                        Document, Grant, Job, Organiser, Payment, RankingProtocol, Report, Score, User)
from app.services import audit, jobs, scoring
from app.services.accounts import create_staff_user
from tests import factories
from tests.factories import IBAN, registration_number, riga

pytestmark = pytest.mark.postgres

PASSWORD = "pareiza-parole-2030"
ORGANISER = "Jelgavas novada pašvaldība"
CODE = "PMP-2030"
OPENS = riga(2030, 3, 1, 9, 0)
CLOSES = riga(2030, 4, 5)  # exclusive: "until 04.04.2030 23:59"

CALL_FORM = {
    "code": CODE, "number_prefix": CODE, "title_lv": "Jauniešu iniciatīvu projekti 2030",
    "title_en": "Youth initiative projects 2030", "description_lv": "Konkurss jaunatnes organizācijām.",
    "description_en": "A competition for youth NGOs.", "funder": "IKVD", "programme": "8.3.4.0/16/I/001",
    "funding_mode": "lump_sum", "amount": "4 600,00", "budget": "4 600,00",  # one project; the next is reserve
    "max_applications_per_organisation": "1", "opens_at": "2030-03-01T09:00", "closes_at": "05.04.2030 00:00",
    "decision_on": "2030-05-06", "implementation_start": "2030-06-01", "implementation_end": "2030-11-30",
    "reserve_expires_at": "", "retention_until": "2036-12-31", "pass_mark": "9", "evaluators_per_application": "2",
    "divergence_threshold_percent": "30", "divergence_policy": "mean_all", "allocation_policy": "strict",
    "tie_break_keys-0": "submitted_at", "review_days": "14", "acceptance_days": "10", "appeal_days": "30",
    "delivery_allowance_working_days": "2",  # the rows of the report schedule and of the tranches:
    "report_schedule-0-kind": "interim", "report_schedule-0-due_on": "2030-08-15",
    "report_schedule-1-kind": "final", "report_schedule-1-due_on": "2030-12-14",
    "payment_tranches-0-percent": "80", "payment_tranches-0-on": "sign",
    "payment_tranches-1-percent": "20", "payment_tranches-1-on": "final_report_approved",
}
CRITERIA = [  # 0–5 points in half points each; 2.2 needs at least 3
    {"code": "2.2", "title_lv": "Mērķa grupas iesaiste", "title_en": "Involvement of the target group",
     "max_points": "5", "step": "1", "min_points": "3", "weight_percent": "100", "comment_required": "y",
     "anchors": "0 = neatbilst\n5 = izcili"},
    {"code": "2.4.1", "title_lv": "Aktivitāšu kvalitāte", "title_en": "Quality of the activities",
     "max_points": "5", "step": "1", "min_points": "", "weight_percent": "100", "comment_required": "y",
     "anchors": ""},
    {"code": "2.4.3", "title_lv": "Rezultātu ilgtspēja", "title_en": "Sustainability of the results",
     "max_points": "5", "step": "1", "min_points": "", "weight_percent": "100", "comment_required": "y",
     "anchors": ""},
]
CHECKS = [
    {"code": "A1", "title_lv": "Iesniegts laikā", "title_en": "Submitted on time", "automatic": "on_time"},
    {"code": "A3", "title_lv": "Atbilstošs iesniedzējs", "title_en": "Eligible applicant",
     "automatic": "registration_number"},
    {"code": "E4", "title_lv": "Vismaz 12 dalībnieki", "title_en": "At least 12 participants", "automatic": ""},
]
EVALUATORS = [("Ilze Bērziņa", "ilze.berzina@eksperti.example.com"),
              ("Andris Kalniņš", "andris.kalnins@eksperti.example.com")]
# Half points per criterion (2.2, 2.4.1, 2.4.3), by evaluator, by NGO: the first totals 12 of 15, the second 9.5 —
# both pass (pass mark 9, 2.2 ≥ 3), neither pair diverges.
SCORES = {"first": ([8, 8, 8], [9, 8, 7]), "second": ([6, 6, 7], [6, 7, 6])}


@dataclass
class Ngo:
    key: str
    name: str
    email: str
    title: str
    number_seed: int
    client: FlaskClient | None = None
    user_id: int | None = None
    application_id: int | None = None

    @property
    def form(self) -> dict:
        return {"organisation_name": self.name, "registration_number": registration_number(self.number_seed),
                "legal_form": "biedriba", "iban": IBAN, "organisation_email": f"info@{self.email.split('@')[1]}",
                "address": "Lielā iela 1, Jelgava", "user_name": f"{self.name} valdes loceklis",
                "email": self.email, "password": PASSWORD, "password_again": PASSWORD}


LATE_TITLE = "Pārgājieni"


def three_ngos() -> tuple[Ngo, Ngo, Ngo]:
    """The best one, a lower-scoring one, and one that misses the deadline."""
    return (Ngo("first", "Biedrība „Zaļā Jelgava”", "anna@zala-jelgava.example.lv", "Jauniešu darbnīcas", 901),
            Ngo("second", "Biedrība „Ozolnieku jaunieši”", "janis@ozolnieki.example.lv", "Vasaras nometne", 902),
            Ngo("third", "Nodibinājums „Vēlais putns”", "liga@velais.example.lv", LATE_TITLE, 903))

CONTENT = {"summary": "Darbnīcas jauniešiem ar mācību grūtībām.", "objectives": "Mazināt kavējumus.",
           "activities": "12 darbnīcas, 3 izbraukumi.", "target_group": "13–17 gadus veci jaunieši.",
           "participants": "16", "participants_at_risk": "9", "start_on": "2030-06-01", "end_on": "2030-11-30",
           "declared_conflicts": "", "amount": "", "declarations": "y"}
GUIDED_STEPS = {"project": ("title", "summary", "objectives", "start_on", "end_on", "amount"),
                "activities": ("activities",), "participants": ("target_group", "participants", "participants_at_risk"),
                "results": (), "declarations": ("declared_conflicts", "declarations")}
REPORT = {"activities": "Notika 12 darbnīcas.", "participants": "16", "participants_at_risk": "9",
          "results": "Kavējumi samazinājās par trešdaļu.", "declaration": "y"}


# --- small helpers ---------------------------------------------------------------------------------------------

def page(response) -> str:
    """The page as a reader sees it: entities unescaped (so “quotes” and ' compare as typed)."""
    return html.unescape(response.get_data(as_text=True))


def fresh(model, entity_id):
    """The row as stored now (the requests commit in sessions of their own)."""
    db.session.expire_all()
    return db.session.get(model, entity_id)


def audit_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(AuditEvent.id)))


def browser(app) -> FlaskClient:
    """A new browser that reads the site in English."""
    client = app.test_client()
    assert client.post("/language", data={"lang": "en"}).status_code == 302
    return client


def login(client: FlaskClient, email: str) -> None:
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, page(response)
    factories.finish_sign_in(client, email)  # an admin's two-factor step (tests/factories.py)


def post(client: FlaskClient, url: str, data: dict | None = None, *, says: str) -> str:
    """Post a form as a browser would, follow the redirect, and check the message the next page shows."""
    response = client.post(url, data=data or {}, follow_redirects=True)
    shown = page(response)
    assert response.status_code == 200, shown
    assert says in shown, f"{says!r} not on the page after POST {url}; flashed: {flashes(shown)}"
    return shown


def post_confirming(client: FlaskClient, url: str, data: dict | None = None, *, says: str) -> str:
    """An irreversible step as a browser takes it: the button, the page that asks (nothing moves yet), and that
    page's own form posted back with its confirm button, as `post` does."""
    before = audit_count()
    asked = page(client.post(url, data=data or {}))
    assert "This cannot be undone." in asked, f"no confirmation after POST {url}; flashed: {flashes(asked)}"
    assert audit_count() == before
    form = re.search(r'<section class="card border-warning confirmation".*?<form method="post" action="([^"]+)"'
                     r'[^>]*>(.*?)</form>', asked, re.S)
    fields = MultiDict([(html.unescape(n), html.unescape(v)) for n, v in
                        re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', form.group(2))])
    button = re.search(r'<button [^>]*name="(confirmed)" value="(1)"', form.group(2))
    fields.add(button.group(1), button.group(2))
    return post(client, html.unescape(form.group(1)), fields, says=says)


def words(shown: str) -> str:
    """The page's text without its tags, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", shown))


def badges(shown: str) -> list[str]:
    """The states the page shows in its state badges (the process diagram, which names every state, aside)."""
    return re.findall(r'<span class="badge [^"]*\bstate-(\w+)">', shown)


def flashes(shown: str) -> list[str]:
    """The flashed messages (for a failing assertion's explanation)."""
    return [words(m).strip() for m in re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', shown, re.S)]


def redirect_id(response, pattern: str) -> int:
    assert response.status_code == 302, page(response)
    return int(re.search(pattern, response.headers["Location"]).group(1))


def version_on(client: FlaskClient, url: str) -> str:
    """The hidden version an edit page carries, as a browser sends it back."""
    return re.search(r'name="version" type="hidden" value="(\d+)"', page(client.get(url))).group(1)


def ranking_rows(shown: str) -> list[list[str]]:
    """The ranking table's rows as cell texts."""
    rows = []
    for row in re.findall(r'<tr class="decision-\w+">(.*?)</tr>', shown, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([words(c).strip() for c in cells])
    return rows


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


@dataclass
class Postbox:
    """Runs the worker as `flask worker --once` would and hands back what reached the SMTP server since last time."""

    mailbox: object  # conftest's Mailbox
    seen: int = 0

    def deliver(self) -> list:
        db.session.commit()  # end the test's read transaction: the worker must see what the requests committed
        jobs.run_pending()
        db.session.expire_all()
        assert db.session.scalars(select(Job).where(Job.status != "done")).all() == []
        arrived, self.seen = self.mailbox.received[self.seen:], len(self.mailbox.received)
        return arrived


def mail_to(arrived, address: str) -> list:
    return [m for m in arrived if m.rcpt_tos == [address]]


def only_pdf(mail) -> bytes:
    (attachment,) = mail.attachments
    filename, content_type, data = attachment
    assert content_type == "application/pdf" and filename.endswith(".pdf") and data.startswith(b"%PDF")
    return data


# --- the skeleton, step by step --------------------------------------------------------------------------------

def staff_accounts() -> dict[str, User]:
    """Admins and evaluators come from `flask create-user`, i.e. this service."""
    admin = create_staff_user(email="admin@jelgava.example.lv", name="Dace Administratore", role="admin",
                              password=PASSWORD, organisers=(ORGANISER,), language="en")
    evaluators = [create_staff_user(email=email, name=name, role="evaluator", password=PASSWORD, language="en")
                  for name, email in EVALUATORS]
    db.session.commit()
    return {"admin": admin, "evaluators": evaluators}


def admin_sets_up_and_announces(admin: FlaskClient) -> int:
    organiser = db.session.scalar(select(Organiser).where(Organiser.name == ORGANISER))
    assert "Funding mode" in page(admin.get("/admin/calls/new"))
    response = admin.post("/admin/calls/new", data={**CALL_FORM, "organiser_id": str(organiser.id)})
    call_id = redirect_id(response, r"/admin/calls/(\d+)$")
    for criterion in CRITERIA:
        post(admin, f"/admin/calls/{call_id}/criteria", criterion, says=f"Criterion {criterion['code']} added.")
    for check in CHECKS:
        post(admin, f"/admin/calls/{call_id}/checks", check, says=f"Check {check['code']} added.")

    call = fresh(Call, call_id)
    assert (call.status, call.code, call.organiser_id) == ("draft", CODE, organiser.id)
    assert (call.amount_cents, call.budget_cents, call.pass_mark_half_points) == (460_000, 460_000, 18)
    assert (call.opens_at, call.closes_at) == (OPENS, CLOSES)
    assert call.report_schedule == [{"kind": "interim", "due_on": "2030-08-15"},
                                    {"kind": "final", "due_on": "2030-12-14"}]
    assert call.payment_tranches == [{"percent": 80, "on": "sign"}, {"percent": 20, "on": "final_report_approved"}]
    assert [(c.code, c.max_half_points, c.min_half_points) for c in call.criteria] == [
        ("2.2", 10, 6), ("2.4.1", 10, None), ("2.4.3", 10, None)]
    assert [(c.code, c.automatic) for c in call.checks] == [("A1", "on_time"), ("A3", "registration_number"),
                                                           ("E4", None)]

    post(admin, f"/admin/calls/{call_id}/fire", {"trigger": "announce"}, says="Done: Announce.")
    call = fresh(Call, call_id)
    assert call.status == "announced" and call.frozen_at == clock.now() and len(call.definition_sha256) == 64
    regulations = db.session.get(Document, call.regulations_document_id)
    assert (regulations.kind, regulations.entity_id, regulations.sha256) == ("regulations", call_id, None)
    assert db.session.scalar(select(Job.status).where(Job.kind == "document", Job.target_id == regulations.id)) \
        == "pending"  # rendered after the commit, by the worker
    return call_id


def public_sees_the_call_open(app, call_id: int) -> None:
    anonymous = browser(app)
    for url in ("/", f"/calls/{CODE}"):
        shown = page(anonymous.get(url))
        assert "Youth initiative projects 2030" in shown and "04.04.2030 23:59" in shown  # the deadline, as said
        assert badges(shown) == ["announced"] and "Log in to apply" not in shown

    clock.travel_to(OPENS + timedelta(hours=1))
    events = audit_count()
    index, announcement = page(anonymous.get("/")), page(anonymous.get(f"/calls/{CODE}"))
    assert badges(index) == badges(announcement) == ["open"] and "Log in to apply" in announcement
    assert audit_count() == events and fresh(Call, call_id).status == "announced"  # a GET never writes


def ngo_registers_and_drafts(app, ngo: Ngo, postbox: Postbox) -> None:
    ngo.client = browser(app)
    post(ngo.client, "/register", ngo.form, says="If this address can be used for a new account, we have sent a link")
    assert ngo.client.get("/apply/").status_code == 302  # not logged in until the link from the e-mail is opened
    (confirmation,) = mail_to(postbox.deliver(), ngo.email)
    assert confirmation.message["Subject"] == f"Confirm the registration of {ngo.name}"
    link = re.search(r"https?://[^/\s]+(/register/confirm/\S+)", confirmation.text)
    assert link, confirmation.text
    post(ngo.client, link.group(1), says="Your organisation is registered. You can now apply.")
    user = db.session.scalar(select(User).where(User.email == ngo.email))
    assert (user.role, user.language, user.organisation.name) == ("applicant", "en", ngo.name)
    ngo.user_id = user.id

    response = ngo.client.post(f"/apply/calls/{CODE}/start")
    ngo.application_id = redirect_id(response, r"/apply/applications/(\d+)$")
    # The guided form: each step a page of its own, saved with "Save and continue", which leads to the next one
    # and, after the last, to "check your answers".
    typed = {**CONTENT, "title": ngo.title}
    for step, names in GUIDED_STEPS.items():
        url = f"/apply/applications/{ngo.application_id}/steps/{step}"
        shown = page(ngo.client.get(url))
        hidden = {name: re.search(rf'name="{name}" type="hidden" value="([^"]*)"', shown).group(1)
                  for name in ("version", "fingerprint")}
        shown = post(ngo.client, url, {**hidden, **{n: typed[n] for n in names}, "go": "next"}, says="Saved.")
    assert "Check your answers before submitting" in shown and "Everything required is filled in." in shown
    draft = fresh(Application, ngo.application_id)
    assert (draft.status, draft.title, draft.amount_cents, draft.declarations_accepted) == (
        "draft", ngo.title, 460_000, True)
    assert draft.content["participants"] == 16 and draft.content["start_on"] == "2030-06-01"


def ngo_submits(ngo: Ngo, number: str, riga_time: str) -> None:
    shown = post_confirming(ngo.client, f"/apply/applications/{ngo.application_id}/submit",
                            says="Your application is submitted. Keep the receipt.")
    application = fresh(Application, ngo.application_id)
    assert (application.status, application.number, application.submitted_at) == ("submitted", number, clock.now())
    assert re.fullmatch(r"[0-9a-f]{64}", application.content_sha256)
    assert "Receipt of submission" in shown and number in shown  # the receipt page
    assert application.content_sha256 in shown and f"{riga_time} (Riga time)" in words(shown)


def late_submission_is_refused(ngo: Ngo) -> None:
    clock.travel_to(CLOSES + timedelta(seconds=1))
    post(ngo.client, f"/apply/applications/{ngo.application_id}/submit",
         says="The call is not accepting applications at 05.04.2030 00:00:01 (Riga time). "
              "The deadline was 04.04.2030 23:59.")
    late = fresh(Application, ngo.application_id)
    assert (late.status, late.number, late.submitted_at) == ("draft", None, None)


def admin_checks_and_assigns(admin: FlaskClient, call_id: int, ngos: list[Ngo], evaluators: list[User]) -> None:
    listing = page(admin.get(f"/admin/calls/{call_id}/applications"))
    assert "PMP-2030-001" in listing and "PMP-2030-002" in listing and LATE_TITLE not in listing
    checks = db.session.scalars(select(Check).where(Check.call_id == call_id).order_by(Check.position)).all()
    for ngo in ngos:
        url = f"/admin/applications/{ngo.application_id}"
        answers = {f"passed_{c.id}": "yes" for c in checks} | {f"reason_{c.id}": "" for c in checks}
        post(admin, f"{url}/checks", answers, says="The checks are recorded.")
        assert fresh(Application, ngo.application_id).status == "eligible"
        assert db.session.scalars(select(CheckResult.passed).where(
            CheckResult.application_id == ngo.application_id)).all() == [True, True, True]
        for evaluator in evaluators:
            assert evaluator.email in page(admin.get(url))  # offered in the assignment form
            post(admin, f"{url}/assign", {"evaluator_id": str(evaluator.id)}, says=f"{evaluator.name} is assigned.")
    assigned = db.session.execute(select(Assignment.application_id, Assignment.evaluator_id, Assignment.status)
                                  .order_by(Assignment.id)).all()
    assert assigned == [(n.application_id, e.id, "assigned") for n in ngos for e in evaluators]


def admin_fires(admin: FlaskClient, call_id: int, trigger: str, done: str, *, confirming: bool = False,
                **extra) -> str:
    send = post_confirming if confirming else post
    return send(admin, f"/admin/calls/{call_id}/fire", {"trigger": trigger, **extra}, says=f"Done: {done}.")


def evaluator_reviews(app, evaluator: User, index: int, ngos: list[Ngo], criteria: list[Criterion]) -> None:
    client = browser(app)
    login(client, evaluator.email)
    queue = page(client.get("/evaluate/"))
    assert "PMP-2030-001" in queue and "PMP-2030-002" in queue
    for ngo in ngos:
        assignment_id = db.session.scalar(select(Assignment.id).where(
            Assignment.application_id == ngo.application_id, Assignment.evaluator_id == evaluator.id))
        url = f"/evaluate/assignments/{assignment_id}"
        assert ngo.title not in page(client.get(url))  # nothing of the content before the declaration
        post(client, f"{url}/action", {"trigger": "declare_no_conflict"}, says="Declaration recorded.")
        assert ngo.title in page(client.get(url))
        sheet = {}
        for criterion, half_points in zip(criteria, SCORES[ngo.key][index]):
            sheet[f"score_{criterion.id}"] = f"{half_points // 2}.5" if half_points % 2 else str(half_points // 2)
            sheet[f"comment_{criterion.id}"] = f"{criterion.code}: pamatojums {ngo.key} {index + 1}."
        post_confirming(client, f"{url}/submit", sheet, says="Your review is submitted. Thank you.")
        review = fresh(Assignment, assignment_id)
        assert (review.status, review.submitted_at) == ("submitted", clock.now())
        assert review.declared_at is not None and "no conflict of interest" in review.declaration_text
        assert sorted(db.session.execute(select(Score.criterion_id, Score.half_points)
                                         .where(Score.assignment_id == assignment_id)).all()) == \
            sorted((c.id, p) for c, p in zip(criteria, SCORES[ngo.key][index]))


def admin_ranks_and_publishes(admin: FlaskClient, call_id: int, first: Ngo, second: Ngo) -> None:
    admin_fires(admin, call_id, "finish_evaluation", "Finish evaluation")
    assert fresh(Call, call_id).status == "ranking"
    assert {fresh(Application, n.application_id).status for n in (first, second)} == {"reviewed"}

    rows = ranking_rows(page(admin.get(f"/admin/calls/{call_id}/ranking")))
    # rank, number, organisation and title, total, weighted total, pass, tie, decision, amount
    assert [(r[0], r[1], r[3], r[5], r[7], r[8]) for r in rows] == [
        ("1", "PMP-2030-001", "12", "passes", "Funded", "€4,600.00"),
        ("2", "PMP-2030-002", "9.5", "passes", "Reserve list", "—")]

    admin_fires(admin, call_id, "confirm_ranking", "Confirm the ranking and protocol", confirming=True)
    call = fresh(Call, call_id)
    protocol = db.session.scalars(select(RankingProtocol).where(RankingProtocol.call_id == call_id)).one()
    assert protocol.inputs_sha256 == scoring.inputs_hash(call) and re.fullmatch(r"[0-9a-f]{64}",
                                                                               protocol.inputs_sha256)
    assert [(r["application_id"], r["rank"], r["decision"]) for r in protocol.ranking] == [
        (first.application_id, 1, "funded"), (second.application_id, 2, "reserve")]
    assert protocol.document_id is not None

    admin_fires(admin, call_id, "publish_results", "Publish the results", confirming=True)
    assert fresh(Call, call_id).status == "awarded"
    assert (fresh(Application, first.application_id).status, fresh(Application, second.application_id).status) \
        == ("funded", "reserve")
    decisions = db.session.execute(select(Decision.application_id, Decision.outcome, Decision.rank,
                                          Decision.amount_cents).order_by(Decision.rank)).all()
    assert decisions == [(first.application_id, "funded", 1, 460_000), (second.application_id, "reserve", 2, 0)]


def funded_ngo_reads_result_and_accepts(ngo: Ngo, evaluators: list[User]) -> None:
    url = f"/apply/applications/{ngo.application_id}/view"
    shown = page(ngo.client.get(url))
    assert "Congratulations: your project is funded" in shown and "Evaluation summary" in shown
    assert "2.2: pamatojums first 1." in shown and "2.2: pamatojums first 2." in shown  # the comments
    assert "Evaluator 1" in shown and "Evaluator 2" in shown and "4.25" in shown  # 2.2's mean: (4 + 4.5) / 2
    for evaluator in evaluators:  # never who said it
        assert evaluator.name not in shown and evaluator.email not in shown
        assert evaluator.name.split()[1] not in shown

    post(ngo.client, f"/apply/applications/{ngo.application_id}/action",
         {"trigger": "accept_offer", "confirm": "y"}, says="Done: Offer accepted.")
    accepted = fresh(Application, ngo.application_id)
    agreement = db.session.get(Document, accepted.agreement_document_id)
    assert (accepted.status, accepted.accepted_by, accepted.accepted_at) == ("accepted", ngo.user_id, clock.now())
    assert agreement.kind == "agreement" and agreement.sha256 is not None  # rendered when accepted, if not before
    assert accepted.agreement_sha256 == agreement.sha256


def admin_signs(admin: FlaskClient, ngo: Ngo) -> tuple[list[Payment], dict[str, Report]]:
    post_confirming(admin, f"/admin/applications/{ngo.application_id}/fire", {"trigger": "sign"},
                    says="Done: Sign the agreement.")
    assert fresh(Application, ngo.application_id).status == "contracted"
    grant = db.session.scalars(select(Grant).where(Grant.application_id == ngo.application_id)).one()
    assert (grant.amount_cents, grant.starts_on, grant.ends_on) == (460_000, date(2030, 6, 1), date(2030, 11, 30))
    payments = db.session.scalars(select(Payment).where(Payment.application_id == ngo.application_id)
                                  .order_by(Payment.tranche)).all()
    assert [(p.tranche, p.amount_cents, p.status, p.scheduled_at is not None) for p in payments] == [
        (1, 368_000, "scheduled", True), (2, 92_000, "scheduled", False)]  # 80 % now, 20 % after the final report
    reports = {r.kind: r for r in db.session.scalars(select(Report).where(
        Report.application_id == ngo.application_id))}
    assert {(k, r.due_on, r.status) for k, r in reports.items()} == {
        ("interim", date(2030, 8, 15), "draft"), ("final", date(2030, 12, 14), "draft")}
    return payments, reports


def admin_pays(admin: FlaskClient, payment: Payment, reference: str) -> None:
    post(admin, f"/admin/payments/{payment.id}/fire", {"trigger": "pay", "bank_reference": reference},
         says="Done: Mark as paid.")
    paid = fresh(Payment, payment.id)
    assert (paid.status, paid.bank_reference, paid.paid_on) == ("paid", reference, clock.to_riga(clock.now()).date())


def ngo_reports_and_admin_approves(admin: FlaskClient, ngo: Ngo, report: Report) -> None:
    url = f"/apply/reports/{report.id}"
    post(ngo.client, f"{url}/submit", {**REPORT, "version": version_on(ngo.client, url)},
         says="The report is submitted.")
    submitted = fresh(Report, report.id)
    assert (submitted.status, submitted.submitted_at) == ("submitted", clock.now())
    assert submitted.content == {**REPORT, "participants": 16, "participants_at_risk": 9, "declaration": True,
                                 "indicators": [], "spending": []}  # a lump sum call, no indicators planned
    post(admin, f"/admin/reports/{report.id}/fire", {"trigger": "approve"}, says="Done: Approve the report.")
    assert fresh(Report, report.id).status == "approved"


def audit_trail_verifies_then_catches_tampering(runner, tampered_event_id: int) -> None:
    result = runner.invoke(args=["tick"])  # seals a checkpoint over every entity's latest event
    assert result.exit_code == 0 and "checkpoint: 1" in result.output
    db.session.expire_all()
    assert audit.verify().ok
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "audit trail intact" in result.output

    db.session.execute(text("UPDATE audit_events SET note = 'nothing happened' WHERE id = :id"),
                       {"id": tampered_event_id})
    db.session.commit()
    verdict = audit.verify()
    assert not verdict.ok and f"event {tampered_event_id} " in verdict.problem
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code != 0 and f"event {tampered_event_id} " in result.output


# --- the test --------------------------------------------------------------------------------------------------

def test_one_competition_from_the_call_to_the_closed_grant(app, runner, smtp_server):
    postbox = Postbox(smtp_server)
    first, second, third = three_ngos()
    clock.travel_to(riga(2030, 2, 20, 10))
    staff = staff_accounts()
    evaluators = staff["evaluators"]

    # 1. The admin logs in, sets the call up with its criteria and checks, and announces it.
    admin = browser(app)
    login(admin, staff["admin"].email)
    call_id = admin_sets_up_and_announces(admin)
    # nothing to mail yet but the notice of the admin's two-factor sign-in, set up at the first login; the worker
    # renders the regulations
    assert [received.rcpt_tos for received in postbox.deliver()] == [[staff["admin"].email]]
    assert fresh(Document, fresh(Call, call_id).regulations_document_id).sha256 is not None

    # 2. The public sees it announced, then open once opens_at has passed (read, never written, by the GET).
    public_sees_the_call_open(app, call_id)

    # 3. The first NGO registers, drafts, saves and submits; the receipt arrives by e-mail with its PDF.
    clock.travel_to(riga(2030, 3, 10, 11, 0))
    ngo_registers_and_drafts(app, first, postbox)
    ngo_submits(first, "PMP-2030-001", "10.03.2030 11:00:00")
    (receipt,) = mail_to(postbox.deliver(), first.email)
    submitted = fresh(Application, first.application_id)
    assert receipt.message["Subject"] == "Application PMP-2030-001 received"
    assert "10.03.2030 11:00:00 (Riga time)" in receipt.text and submitted.content_sha256 in receipt.text
    receipt_pdf = only_pdf(receipt)
    assert "PMP-2030-001" in pdf_text(receipt_pdf)
    assert fresh(Document, submitted.receipt_document_id).content == receipt_pdf  # the stored one, rendered once

    # 4. The second NGO submits in the last second; the third drafts but submits one second too late.
    clock.travel_to(riga(2030, 3, 20, 12, 0))
    ngo_registers_and_drafts(app, second, postbox)
    ngo_registers_and_drafts(app, third, postbox)
    clock.travel_to(CLOSES - timedelta(seconds=1))
    ngo_submits(second, "PMP-2030-002", "04.04.2030 23:59:59")
    (receipt,) = mail_to(postbox.deliver(), second.email)
    assert "PMP-2030-002" in receipt.message["Subject"] and only_pdf(receipt)
    late_submission_is_refused(third)
    assert postbox.deliver() == []

    # 5. After the deadline the admin records the checks, assigns two evaluators to each, and starts evaluation.
    clock.travel_to(riga(2030, 4, 8, 10))
    admin_checks_and_assigns(admin, call_id, [first, second], evaluators)
    notices = postbox.deliver()
    for evaluator in evaluators:
        assert sorted(m.message["Subject"] for m in mail_to(notices, evaluator.email)) == [
            "New application to evaluate: PMP-2030-001", "New application to evaluate: PMP-2030-002"]
    assert len(notices) == 4
    admin_fires(admin, call_id, "start_evaluation", "Start evaluation")
    assert fresh(Call, call_id).status == "evaluation"
    assert {fresh(Application, n.application_id).status for n in (first, second)} == {"in_review"}
    call_moves = db.session.execute(select(AuditEvent.trigger, AuditEvent.actor_id).where(
        AuditEvent.entity_type == "call", AuditEvent.entity_id == call_id).order_by(AuditEvent.id)).all()
    admin_id = staff["admin"].id
    assert call_moves == [("create", admin_id), ("announce", admin_id), ("open", None), ("close", None),
                          ("start_evaluation", admin_id)]  # the clock's moves persisted by the first write

    # 6. Each evaluator declares no conflict and scores every criterion with comments.
    clock.travel_to(riga(2030, 4, 15, 10))
    criteria = fresh(Call, call_id).criteria
    for index, evaluator in enumerate(evaluators):
        evaluator_reviews(app, evaluator, index, [first, second], criteria)

    # 7. The admin finishes evaluation, reads the ranking, confirms it and publishes: one funded, one reserve.
    clock.travel_to(riga(2030, 5, 6, 10))
    admin_ranks_and_publishes(admin, call_id, first, second)
    letters = postbox.deliver()
    (funded_letter,) = mail_to(letters, first.email)
    (reserve_letter,) = mail_to(letters, second.email)
    assert funded_letter.message["Subject"] == "Decision on application PMP-2030-001: funded"
    assert reserve_letter.message["Subject"] == "Decision on application PMP-2030-002: reserve list"
    assert "PMP-2030-001" in pdf_text(only_pdf(funded_letter)) and only_pdf(reserve_letter)
    assert "placed on the reserve list" in reserve_letter.text
    assert badges(page(second.client.get(f"/apply/applications/{second.application_id}/view")))[:1] == ["reserve"]
    results = page(browser(app).get(f"/calls/{CODE}"))
    assert first.name in results and first.title in results and second.title not in results  # reserve: not public

    # 8. The funded NGO reads its result (no evaluator named) and accepts; the admin signs; reports and payments
    # follow until the grant is closed.
    clock.travel_to(riga(2030, 5, 8, 10))
    funded_ngo_reads_result_and_accepts(first, evaluators)
    clock.travel_to(riga(2030, 5, 20, 10))
    payments, reports = admin_signs(admin, first)
    admin_pays(admin, payments[0], "LV-TRANSFER-0001")
    clock.travel_to(riga(2030, 8, 10, 10))
    ngo_reports_and_admin_approves(admin, first, reports["interim"])
    assert fresh(Payment, payments[1].id).scheduled_at is None  # the last tranche waits for the final report
    clock.travel_to(riga(2030, 12, 5, 10))
    ngo_reports_and_admin_approves(admin, first, reports["final"])
    assert fresh(Payment, payments[1].id).scheduled_at == clock.now()
    admin_pays(admin, payments[1], "LV-TRANSFER-0002")
    post_confirming(admin, f"/admin/applications/{first.application_id}/fire", {"trigger": "close_grant"},
                    says="Done: Close the grant.")
    assert fresh(Application, first.application_id).status == "closed"
    assert "The project is closed" in page(first.client.get(f"/apply/applications/{first.application_id}/view"))
    # the NGO hears of the signature, each approved report, each payment and the closing; the call's admin of the
    # accepted offer and of each submitted report (issue 8, notifications)
    delivered = {(m.message["To"], m.message["Subject"]) for m in postbox.deliver()}
    ngo, officer = first.email, staff["admin"].email
    assert delivered == {(ngo, "Agreement signed: PMP-2030-001"), (officer, "Offer accepted: PMP-2030-001"),
                         (officer, "Report submitted: PMP-2030-001"), (ngo, "Report approved: PMP-2030-001"),
                         (ngo, "Payment made: PMP-2030-001"), (ngo, "Grant closed: PMP-2030-001")}

    # 9. The audit trail verifies, and a single edited note breaks it, naming the event.
    submit_event = db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.entity_type == "application", AuditEvent.entity_id == first.application_id,
        AuditEvent.trigger == "submit"))
    audit_trail_verifies_then_catches_tampering(runner, submit_event)
