"""The NGO's pages (/apply/…) driven through the Flask test client, with the clock moved by `travel_to`.

A call is built with the services (create, criteria, checks, announce) as an admin would; everything the NGO does
goes through HTTP, and the assertions read what a user would check: the page, the stored row, the state.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import clock, create_app
from app.clock import RIGA
from app.extensions import db
from app.models import Application, Assignment, Call, Organisation, Report, User
from app.services import accounts, applications, budget, calls, evaluation, organisations
from app.services.workflow import fire
from tests import factories

ORGANISER = "Jelgavas novada pašvaldība"
BEFORE = datetime(2022, 2, 20, 12, 0, tzinfo=RIGA)
OPENS = datetime(2022, 3, 1, 9, 0, tzinfo=RIGA)
DURING = datetime(2022, 3, 15, 10, 0, tzinfo=RIGA)
CLOSES = datetime(2022, 4, 5, 0, 0, tzinfo=RIGA)  # "līdz 04.04.2022. plkst. 23:59"
PASSWORD = "parole-1234567"

NGO = {"organisation_name": "Biedrība „Jaunieši Jelgavai”", "registration_number": "40008000121",
       "legal_form": "biedriba", "iban": "LV80BANK0000435195001", "organisation_email": "info@jauniesi.lv",
       "address": "Lielā iela 1, Jelgava", "user_name": "Anna Kalniņa", "email": "anna@jauniesi.lv",
       "password": PASSWORD, "password_again": PASSWORD}

COMPLETE = {"title": "Vasaras nometne jauniešu līderiem", "summary": "Nometne un darbnīcas.",
            "objectives": "Jaunieši turpina mācības.", "activities": "Piecas darbnīcas, viena nometne.",
            "target_group": "Jelgavas novada jaunieši 13–18 gadu vecumā.", "participants": "20",
            "participants_at_risk": "12", "start_on": "2022-06-01", "end_on": "2022-08-31",
            "declared_conflicts": "", "declarations": "y"}


# --- fixtures -----------------------------------------------------------------------------------------------

@pytest.fixture
def app(tmp_path):
    clock.travel_to(BEFORE)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'test.sqlite'}",
                     UPLOAD_DIR=str(tmp_path / "uploads"))
    with app.app_context():
        db.create_all()
        admin = accounts.create_staff_user(email="admin@jelgava.lv", name="Ilze Admina", role="admin",
                                           password=PASSWORD, organisers=[ORGANISER])
        db.session.commit()
        app.config["ADMIN_ID"] = admin.id
    yield app
    clock.travel_to(None)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A browser that chose English, so assertions read the msgids whatever the Latvian catalogue says."""
    browser = app.test_client()
    browser.post("/language", data={"lang": "en"})
    return browser


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def admin_user(app) -> User:
    return db.session.get(User, app.config["ADMIN_ID"])


def make_call(app, *, code="PMP-2022", funding_mode="lump_sum", **overrides) -> int:
    """A call announced with the services, open from OPENS until CLOSES (exclusive)."""
    with app.app_context():
        admin = admin_user(app)
        fields = dict(code=code, number_prefix=code, title_lv="Jaunatnes iniciatīvu projekti 2022",
                      title_en="Youth initiative projects 2022", funding_mode=funding_mode,
                      amount_cents=460_000 if funding_mode == "lump_sum" else None,
                      min_amount_cents=100_000 if funding_mode == "budgeted" else None,
                      max_amount_cents=460_000 if funding_mode == "budgeted" else None,
                      budget_cents=1_380_000, opens_at=OPENS, closes_at=CLOSES, decision_on=date(2022, 5, 6),
                      implementation_start=date(2022, 6, 1), implementation_end=date(2022, 11, 30),
                      pass_mark_half_points=8, acceptance_days=10,
                      report_schedule=[{"kind": "final", "due_on": "2022-12-14"}],
                      payment_tranches=[{"percent": 80, "on": "sign"}, {"percent": 20, "on": "final_report_approved"}])
        fields.update(overrides)
        call = calls.create(admin.organisers[0].id, admin, **fields)
        calls.add_criterion(call, code="2.2", title_lv="Projekta mērķa atbilstība", title_en="Relevance",
                            max_half_points=10, step_half_points=1, min_half_points=4, comment_required=True)
        calls.add_criterion(call, code="2.4.1", title_lv="Aktivitāšu kvalitāte", title_en="Quality of activities",
                            max_half_points=10, step_half_points=1, comment_required=False)
        calls.add_check(call, code="A1", title_lv="Iesniegts laikā", title_en="Submitted on time", automatic="on_time")
        if funding_mode == "budgeted":
            budget.add_category(call, admin, label_lv="Personāls", label_en="Staff", cap_percent=None)
        calls.announce(call, admin)
        db.session.commit()
        return call.id


# Submitting is irreversible: the confirmation page's button posts this (tests/integration/test_offers.py follows
# the page itself).
CONFIRMED = {"confirmed": "1"}


def register(client, **changes):
    """Register on the form and, when it was accepted, open the link the e-mail brought (as the NGO does)."""
    response = client.post("/register", data={**NGO, **changes}, follow_redirects=True)
    if response.request.path == "/register/sent":
        response = factories.confirm_registration(client, changes.get("email", NGO["email"]), follow_redirects=True)
    return response


def login(client, email, password=PASSWORD):
    client.post("/logout")
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    with client.application.app_context():  # an admin's two-factor step (enrolment at the first sign-in)
        factories.finish_sign_in(client, email)


def start(client, code="PMP-2022") -> int:
    response = client.post(f"/apply/calls/{code}/start")
    assert response.status_code == 302
    return int(re.search(r"/apply/applications/(\d+)$", response.headers["Location"]).group(1))


# The guided form's steps (app/services/steps.py), in order, and the fields each one's page posts.
STEP_FIELDS = {"project": ("title", "summary", "objectives", "start_on", "end_on", "amount"),
               "activities": ("activities",), "participants": ("target_group", "participants", "participants_at_risk"),
               "results": ("results",), "declarations": ("declared_conflicts", "declarations")}


def edit_form(client, app_id, step="project") -> dict:
    """The hidden version and fingerprint a step's page carries, as a browser would send them back."""
    page = client.get(f"/apply/applications/{app_id}/steps/{step}").get_data(as_text=True)
    return {name: re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page).group(1)
            for name in ("version", "fingerprint", "keep")}


def save(client, app_id, **fields):
    """Fill in the guided form as a member does: each step holding one of `fields` is opened and saved in turn
    ("Save and continue"); the first refused step's page is the answer, else the task list after the last."""
    response = None
    for step, names in STEP_FIELDS.items():
        sent = {name: fields[name] for name in names if name in fields}
        if not sent:
            continue
        response = client.post(f"/apply/applications/{app_id}/steps/{step}",
                               data={**edit_form(client, app_id, step), **sent, "go": "later"}, follow_redirects=True)
        if response.request.path != f"/apply/applications/{app_id}":
            return response
    return response


def application(app, app_id) -> Application:
    with app.app_context():
        found = db.session.get(Application, app_id)
        db.session.expunge(found)
        return found


def text(response) -> str:
    return response.get_data(as_text=True)


def submitted_application(app, client, code="PMP-2022") -> int:
    """Register an NGO, and submit a complete application during the call."""
    register(client)
    clock.travel_to(DURING)
    app_id = start(client, code)
    save(client, app_id, **COMPLETE)
    response = client.post(f"/apply/applications/{app_id}/submit", data=CONFIRMED)
    assert response.headers["Location"].endswith(f"/apply/applications/{app_id}/receipt")
    return app_id


# --- registration -------------------------------------------------------------------------------------------

def test_registration_with_invalid_number_shows_the_message_and_stores_nothing(app, client):
    response = register(client, registration_number="40008000001")
    assert "The registration number is not valid" in text(response)
    response = register(client, iban="LV80BANK0000435195002")
    assert "The IBAN is not valid" in text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count(Organisation.id))) == 0
        assert db.session.scalar(select(func.count(User.id)).where(User.role == "applicant")) == 0


def test_registered_ngo_lands_on_its_applications_and_sees_the_open_call(app, client):
    make_call(app)
    response = register(client)
    assert "Biedrība „Jaunieši Jelgavai”" in text(response)
    assert "No call is accepting applications" in text(response)  # announced, not yet open
    clock.travel_to(OPENS)
    page = text(client.get("/apply/"))
    assert "Youth initiative projects 2022" in page  # the call title in the chosen language
    assert "04.04.2022 23:59" in page  # the deadline as people say it (English: no trailing dot)
    assert 'action="/apply/calls/PMP-2022/start"' in page


# --- access ---------------------------------------------------------------------------------------------

def test_only_applicants_use_the_applicant_pages(app, client):
    assert client.get("/apply/").status_code == 302  # anonymous → login
    assert "/login" in client.get("/apply/").headers["Location"]
    with app.app_context():
        accounts.create_staff_user(email="eval@eksperti.lv", name="Eva", role="evaluator", password=PASSWORD)
        db.session.commit()
    login(client, "eval@eksperti.lv")
    assert client.get("/apply/").status_code == 403
    login(client, "admin@jelgava.lv")
    assert client.get("/apply/").status_code == 403


def test_another_organisation_cannot_see_or_change_an_application(app, client):
    make_call(app)
    app_id = submitted_application(app, client)
    other = app.test_client()
    with app.app_context():
        organisations.register(organisation_name="Citi", registration_number="40008000136", legal_form="biedriba",
                               iban="LV80BANK0000435195001", organisation_email="info@citi.lv", address="",
                               user_name="Juris", email="juris@citi.lv", password=PASSWORD)
        db.session.commit()
    login(other, "juris@citi.lv")
    for url in (f"/apply/applications/{app_id}", f"/apply/applications/{app_id}/view",
                f"/apply/applications/{app_id}/receipt"):
        assert other.get(url).status_code == 404
    assert other.post(f"/apply/applications/{app_id}/action",
                      data={"trigger": "withdraw", "confirm": "1"}).status_code == 404
    assert application(app, app_id).status == "submitted"


# --- draft, submit, receipt ---------------------------------------------------------------------------------

def test_draft_save_submit_and_receipt(app, client):
    make_call(app)
    register(client)
    clock.travel_to(DURING)
    app_id = start(client)
    page = text(client.get(f"/apply/applications/{app_id}"))
    assert "Give the project a title." in page  # the checklist of what is missing
    assert "Confirm the declarations before submitting." in page

    response = client.post(f"/apply/applications/{app_id}/submit", follow_redirects=True)
    assert "Give the project a title." in text(response)  # the guard's message, flashed
    assert application(app, app_id).status == "draft"

    response = save(client, app_id, participants="20", participants_at_risk="30", target_group="Jaunieši")
    assert response.status_code == 400
    assert "This cannot be more than the planned participants." in text(response)
    stored = application(app, app_id)  # nothing of the refused step half-saved
    assert "participants" not in stored.content and "target_group" not in stored.content

    response = save(client, app_id, **COMPLETE)
    assert "Everything required is filled in." in text(response)
    stored = application(app, app_id)
    assert stored.title == COMPLETE["title"] and stored.content["participants"] == 20
    assert stored.content["start_on"] == "2022-06-01" and stored.declarations_accepted
    assert stored.amount_cents == 460_000

    response = client.post(f"/apply/applications/{app_id}/submit", data=CONFIRMED)
    assert response.headers["Location"].endswith(f"/apply/applications/{app_id}/receipt")
    stored = application(app, app_id)
    assert stored.status == "submitted"
    assert stored.number == "PMP-2022-001"
    receipt = text(client.get(f"/apply/applications/{app_id}/receipt"))
    assert "PMP-2022-001" in receipt
    assert stored.content_sha256 in receipt and len(stored.content_sha256) == 64
    assert "15.03.2022 10:00:00" in receipt  # submitted, Riga time
    assert f'href="/documents/{stored.receipt_document_id}"' in receipt

    home = text(client.get("/apply/"))
    assert "PMP-2022-001" in home and "Submitted" in home
    client.post("/language", data={"lang": "lv"})
    home = text(client.get("/apply/"))
    assert "PMP-2022-001" in home and "Iesniegts" in home and 'lang="lv"' in home  # Latvian first
    # A submitted application is no longer editable: the edit page forwards to the read-only view.
    assert client.get(f"/apply/applications/{app_id}").headers["Location"].endswith("/view")
    response = client.post(f"/apply/applications/{app_id}", data={**COMPLETE, "version": "99"})
    assert response.status_code == 302 and application(app, app_id).title == COMPLETE["title"]


def test_save_from_the_edit_form_then_submit_in_one_click(app, client):
    make_call(app)
    register(client)
    clock.travel_to(DURING)
    app_id = start(client)
    response = client.post(f"/apply/applications/{app_id}/submit",
                           data={**edit_form(client, app_id), **COMPLETE, **CONFIRMED})
    assert response.headers["Location"].endswith("/receipt")
    assert application(app, app_id).status == "submitted"


def test_a_stale_save_is_refused_with_a_clear_message(app, client):
    make_call(app)
    register(client)
    clock.travel_to(DURING)
    app_id = start(client)
    stale = edit_form(client, app_id)
    save(client, app_id, title="Pirmā versija")  # someone else, in another tab
    response = client.post(f"/apply/applications/{app_id}/steps/project", data={**stale, "title": "Otrā versija"},
                           follow_redirects=True)
    assert "Another member saved this step meanwhile" in text(response)
    assert application(app, app_id).title == "Pirmā versija"


def test_the_deadline_second(app, client):
    make_call(app)
    register(client)
    clock.travel_to(DURING)
    app_id = start(client)
    save(client, app_id, **COMPLETE)

    clock.travel_to(CLOSES)  # 05.04.2022 00:00:00: one second after "23:59:59"
    response = client.post(f"/apply/applications/{app_id}/submit", follow_redirects=True)
    assert "The call is not accepting applications" in text(response)
    assert application(app, app_id).status == "draft"
    page = text(client.get(f"/apply/applications/{app_id}"))
    assert "can no longer be changed or submitted" in page and "Save and submit" not in page

    clock.travel_to(CLOSES - timedelta(seconds=1))  # 04.04.2022 23:59:59 still counts
    client.post(f"/apply/applications/{app_id}/submit", data=CONFIRMED)
    stored = application(app, app_id)
    assert stored.status == "submitted"
    assert "04.04.2022 23:59:59" in text(client.get(f"/apply/applications/{app_id}/receipt"))


def test_start_is_refused_on_a_call_that_is_not_open(app, client):
    make_call(app)
    register(client)
    response = client.post("/apply/calls/PMP-2022/start", follow_redirects=True)  # announced, opens 1 March
    assert "This call is not accepting applications." in text(response)
    assert client.post("/apply/calls/NO-SUCH/start").status_code == 404
    clock.travel_to(DURING)
    first = start(client)
    assert start(client) == first  # a double click continues the same draft


def test_a_budgeted_calls_amount_is_its_budget_tables_total(app, client):
    """The amount is no longer typed on the draft form (it was, before the budget table): it is the total of the
    budget lines, entered in euros on the budget page."""
    make_call(app, code="BUD-2022", funding_mode="budgeted")
    register(client)
    clock.travel_to(DURING)
    app_id = start(client, "BUD-2022")
    save(client, app_id, amount="2 500,50")
    assert application(app, app_id).amount_cents == 0
    page = text(client.get(f"/apply/applications/{app_id}/budget"))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    client.post(f"/apply/applications/{app_id}/budget", data={
        "version": version, "category": "staff", "description": "Vadītājs", "quantity": "1",
        "unit_cost": "2 500,50"})
    assert application(app, app_id).amount_cents == 250_050
    assert 'id="budget-total"' in (page := text(client.get(f"/apply/applications/{app_id}/budget")))
    assert "€2,500.50</output>" in page  # this NGO reads English


# --- after submission ---------------------------------------------------------------------------------------

def test_withdraw_needs_the_confirmation(app, client):
    make_call(app)
    app_id = submitted_application(app, client)
    page = text(client.get(f"/apply/applications/{app_id}/view"))
    assert 'value="withdraw"' in page and "Vasaras nometne" in page
    response = client.post(f"/apply/applications/{app_id}/action", data={"trigger": "withdraw"},
                           follow_redirects=True)
    assert "Tick the confirmation first." in text(response)
    assert application(app, app_id).status == "submitted"
    client.post(f"/apply/applications/{app_id}/action", data={"trigger": "withdraw", "confirm": "1"})
    assert application(app, app_id).status == "withdrawn"
    assert 'value="withdraw"' not in text(client.get(f"/apply/applications/{app_id}/view"))
    # a trigger that is not the applicant's is not fired through this route
    assert client.post(f"/apply/applications/{app_id}/action",
                       data={"trigger": "pass_checks", "confirm": "1"}).status_code == 400


def test_clarification_question_and_answer(app, client):
    make_call(app)
    app_id = submitted_application(app, client)
    with app.app_context():
        applications.request_clarification(db.session.get(Application, app_id), admin_user(app),
                                           "Precizējiet dalībnieku skaitu.", DURING + timedelta(days=5))
        db.session.commit()
    page = text(client.get(f"/apply/applications/{app_id}/view"))
    assert "Precizējiet dalībnieku skaitu." in page and "20.03.2022 10:00:00" in page
    response = client.post(f"/apply/applications/{app_id}/clarify", data={"answer": ""}, follow_redirects=True)
    assert "Write your answer." in text(response)
    client.post(f"/apply/applications/{app_id}/clarify", data={"answer": "Dalībnieki būs 20."})
    assert application(app, app_id).status == "submitted"


def _score(app, evaluator_id, app_id, half_points):
    assignment = db.session.scalar(select(Assignment).where(Assignment.evaluator_id == evaluator_id,
                                                            Assignment.application_id == app_id))
    evaluator = db.session.get(User, evaluator_id)
    fire(assignment, "declare_no_conflict", evaluator)
    criteria = assignment.application.call.criteria
    evaluation.save_scores(assignment, evaluator, {c.id: (half_points, f"Komentārs {c.code} ({half_points})")
                                                   for c in criteria})
    fire(assignment, "submit_review", evaluator)


def decide(app, call_id, app_id, half_points=(8, 6)):
    """Checks, evaluation by two evaluators, ranking and publication, through the services."""
    with app.app_context():
        admin = admin_user(app)
        evaluators = [accounts.create_staff_user(email=f"e{n}@eksperti.lv", name=f"Vērtētājs Nr{n}",
                                                 role="evaluator", password=PASSWORD) for n in (1, 2)]
        application_ = db.session.get(Application, app_id)
        call = db.session.get(Call, call_id)
        applications.record_checks(application_, admin, {c.id: (True, "") for c in call.checks})
        clock.travel_to(CLOSES + timedelta(days=1))
        fire(call, "start_evaluation", admin)
        for evaluator in evaluators:
            evaluation.assign(application_, evaluator, admin)
        for evaluator, points in zip(evaluators, half_points):
            _score(app, evaluator.id, app_id, points)
        fire(call, "finish_evaluation", admin)
        fire(call, "confirm_ranking", admin)
        fire(call, "publish_results", admin)
        db.session.commit()
        return [e.name for e in evaluators]


def test_result_summary_offer_acceptance_and_report(app, client):
    call_id = make_call(app)
    app_id = submitted_application(app, client)
    names = decide(app, call_id, app_id, half_points=(8, 6))
    assert application(app, app_id).status == "funded"
    with app.app_context():  # the worker renders the agreement before the offer's message leaves
        from app.services import jobs

        jobs.run_pending()

    page = text(client.get(f"/apply/applications/{app_id}/view"))
    assert "Funded" in page  # outcome
    assert "Komentārs 2.2 (8)" in page and "Komentārs 2.2 (6)" in page  # the comments …
    assert not any(name in page for name in names)  # … never the evaluators' names
    assert "3.5" in page  # mean of 4 and 3 points on each criterion
    assert "7 of 10" in page and '<th class="num">7</th>' in page  # the total, exact
    assert 'value="accept_offer"' in page and 'value="decline"' in page
    stored = application(app, app_id)
    assert f'/documents/{stored.agreement_document_id}' in page

    response = client.post(f"/apply/applications/{app_id}/action", data={"trigger": "accept_offer"},
                           follow_redirects=True)
    assert "Tick the confirmation first." in text(response)
    client.post(f"/apply/applications/{app_id}/action", data={"trigger": "accept_offer", "confirm": "y"})
    stored = application(app, app_id)
    assert stored.status == "accepted" and stored.agreement_sha256

    with app.app_context():
        fire(db.session.get(Application, app_id), "sign", admin_user(app))
        db.session.commit()
        report_id = db.session.scalar(select(Report.id).where(Report.application_id == app_id))
    page = text(client.get(f"/apply/applications/{app_id}/view"))
    assert f"/apply/reports/{report_id}" in page and "€3,680.00" in page  # the 80 % tranche

    clock.travel_to(datetime(2022, 12, 1, 10, tzinfo=RIGA))  # the final report: once the implementation has ended
    version = re.search(r'name="version" type="hidden" value="(\d+)"',
                        text(client.get(f"/apply/reports/{report_id}"))).group(1)
    response = client.post(f"/apply/reports/{report_id}/submit", data={"version": version, "activities": "Nometne"},
                           follow_redirects=True)
    assert "Describe the results against the plan." in text(response)
    version = re.search(r'name="version" type="hidden" value="(\d+)"',
                        text(client.get(f"/apply/reports/{report_id}"))).group(1)
    client.post(f"/apply/reports/{report_id}/submit",
                data={"version": version, "activities": "Nometne", "participants": "22",
                      "participants_at_risk": "13", "results": "Visi mērķi sasniegti.", "declaration": "y"})
    with app.app_context():
        report = db.session.get(Report, report_id)
        assert report.status == "submitted" and report.content["participants"] == 22


def test_rejected_application_may_appeal(app, client):
    call_id = make_call(app)
    app_id = submitted_application(app, client)
    decide(app, call_id, app_id, half_points=(2, 2))  # 2 of 10 points: below the pass mark of 4
    assert application(app, app_id).status == "rejected"
    page = text(client.get(f"/apply/applications/{app_id}/view"))
    assert "Rejected" in page and 'action="/apply/applications/%d/appeal"' % app_id in page
    assert "Criterion 2.2 scored below its minimum of 2 points." in page  # why it failed
    response = client.post(f"/apply/applications/{app_id}/appeal", data={"grounds": "factual_error", "text": ""},
                           follow_redirects=True)
    assert "Choose the grounds" in text(response)
    client.post(f"/apply/applications/{app_id}/appeal",
                data={"grounds": "factual_error", "text": "Kritērijs 2.2 vērtēts kļūdaini.", "confirm": "y"})
    assert application(app, app_id).status == "appealed"
    assert "Kritērijs 2.2 vērtēts kļūdaini." in text(client.get(f"/apply/applications/{app_id}/view"))


def test_no_appeal_form_once_the_window_has_closed(app, client):
    call_id = make_call(app)
    app_id = submitted_application(app, client)
    decide(app, call_id, app_id, half_points=(2, 2))
    clock.travel_to(CLOSES + timedelta(days=60))
    page = text(client.get(f"/apply/applications/{app_id}/view"))
    assert "The appeal window closed on" in page and "/appeal" not in page
    response = client.post(f"/apply/applications/{app_id}/appeal",
                           data={"grounds": "procedural", "text": "Par vēlu.", "confirm": "y"}, follow_redirects=True)
    assert "The appeal window has closed." in text(response)  # the guard still decides
    assert application(app, app_id).status == "rejected"
