"""The evaluator's pages (/evaluate/…): declare before seeing, never see a conflicted application, score, submit.

The competition is brought to evaluation with the services (an NGO's submission, the checks, the clock past the
deadline, `start_evaluation`, `assign`); everything the evaluator does goes through HTTP.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock, create_app
from app.clock import RIGA
from app.extensions import db
from app.models import Assignment, ConflictOfInterest, Score, User
from app.services import accounts, applications, calls, evaluation, organisations
from app.services.workflow import fire
from tests import factories

ORGANISER = "Jelgavas novada pašvaldība"
BEFORE = datetime(2022, 2, 20, 12, 0, tzinfo=RIGA)
OPENS = datetime(2022, 3, 1, 9, 0, tzinfo=RIGA)
DURING = datetime(2022, 3, 15, 10, 0, tzinfo=RIGA)
CLOSES = datetime(2022, 4, 5, 0, 0, tzinfo=RIGA)
EVALUATING = CLOSES + timedelta(days=2)
PASSWORD = "parole-1234567"
TITLE = "Vasaras nometne jauniešu līderiem"
SUMMARY = "Nometne un darbnīcas jauniešiem, kuri apsver pamest skolu."
CONTENT = {"summary": SUMMARY, "objectives": "Jaunieši turpina mācības.", "activities": "Piecas darbnīcas.",
           "target_group": "Jelgavas novada jaunieši", "participants": 20, "participants_at_risk": 12,
           "start_on": "2022-06-01", "end_on": "2022-08-31", "declared_conflicts": "Pēteris Kļaviņš"}


@dataclass(frozen=True)
class World:
    application_id: int
    number: str
    receipt_document_id: int
    criteria: tuple[int, int]  # 2.2 (half points, comment required), 2.4.1 (whole points, comment optional)
    scorer: int  # assignment ids, one per evaluator
    recuser: int
    conflicted: int


@pytest.fixture
def app(tmp_path):
    clock.travel_to(BEFORE)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'test.sqlite'}",
                     UPLOAD_DIR=str(tmp_path / "uploads"))
    with app.app_context():
        db.create_all()
    yield app
    clock.travel_to(None)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def world(app) -> World:
    """One application in review, assigned to three evaluators (e1 scores, e2 recuses, e3 turns out conflicted)."""
    with app.app_context():
        admin = accounts.create_staff_user(email="admin@jelgava.lv", name="Ilze Admina", role="admin",
                                           password=PASSWORD, organisers=[ORGANISER])
        evaluators = [accounts.create_staff_user(email=f"e{n}@eksperti.lv", name=f"Vērtētājs {n}", role="evaluator",
                                                 password=PASSWORD) for n in (1, 2, 3)]
        call = calls.create(admin.organisers[0].id, admin, code="PMP-2022", number_prefix="PMP-2022",
                            title_lv="Jaunatnes iniciatīvu projekti 2022", title_en="Youth initiative projects 2022",
                            funding_mode="lump_sum", amount_cents=460_000, budget_cents=1_380_000, opens_at=OPENS,
                            closes_at=CLOSES, decision_on=date(2022, 5, 6), implementation_start=date(2022, 6, 1),
                            implementation_end=date(2022, 11, 30), pass_mark_half_points=8)
        calls.add_criterion(call, code="2.2", title_lv="Mērķa atbilstība", title_en="Relevance of the aim",
                            description_en="How well the project serves young people at risk.",
                            max_half_points=10, step_half_points=1, min_half_points=6, comment_required=True,
                            anchors={"0": "fails", "10": "excellent"})
        calls.add_criterion(call, code="2.4.1", title_lv="Aktivitāšu kvalitāte", title_en="Quality of activities",
                            max_half_points=10, step_half_points=2, comment_required=False)
        calls.add_check(call, code="A1", title_lv="Iesniegts laikā", title_en="Submitted on time", automatic="on_time")
        calls.announce(call, admin)
        member = organisations.register(
            organisation_name="Biedrība „Jaunieši Jelgavai”", registration_number="40008000121",
            legal_form="biedriba",
            iban="LV80BANK0000435195001", organisation_email="info@jauniesi.lv", address="Jelgava",
            user_name="Anna Kalniņa", email="anna@jauniesi.lv", password=PASSWORD)
        db.session.commit()

        clock.travel_to(DURING)
        application = applications.create_draft(call, member)
        applications.save_draft(application, member, title=TITLE, content=CONTENT, amount_cents=0,
                                declarations_accepted=True, version=application.version)
        db.session.flush()
        applications.submit(application, member)
        applications.record_checks(application, admin, {c.id: (True, "") for c in call.checks})
        db.session.commit()

        clock.travel_to(EVALUATING)
        fire(call, "start_evaluation", admin)
        assignments = [evaluation.assign(application, e, admin) for e in evaluators]
        db.session.commit()
        return World(application.id, application.number, application.receipt_document_id,
                     tuple(c.id for c in call.criteria), *(a.id for a in assignments))


def browser(app, email=None, lang="en"):
    """A test client that chose a language (English by default, so assertions read the msgids) and logged in."""
    client = app.test_client()
    client.post("/language", data={"lang": lang})
    if email:
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302
        with app.app_context():
            factories.finish_sign_in(client, email)  # an admin's two-factor step (enrolment at the first sign-in)
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def assignment(app, assignment_id) -> Assignment:
    with app.app_context():
        found = db.session.get(Assignment, assignment_id)
        db.session.expunge(found)
        return found


def stored_scores(app, assignment_id) -> dict[int, tuple[int | None, str]]:
    with app.app_context():
        return {s.criterion_id: (s.half_points, s.comment)
                for s in db.session.scalars(select(Score).where(Score.assignment_id == assignment_id))}


def test_only_evaluators_use_the_evaluator_pages(app, world):
    assert "/login" in browser(app).get("/evaluate/").headers["Location"]
    assert browser(app, "anna@jauniesi.lv").get("/evaluate/").status_code == 403
    assert browser(app, "admin@jelgava.lv").get("/evaluate/").status_code == 403


def test_before_declaring_the_evaluator_sees_the_number_and_nothing_of_the_content(app, world):
    e1 = browser(app, "e1@eksperti.lv")
    queue = text(e1.get("/evaluate/"))
    assert world.number in queue and "Declare conflicts" in queue and TITLE not in queue
    page = text(e1.get(f"/evaluate/assignments/{world.scorer}"))
    assert world.number in page and "Youth initiative projects 2022" in page
    assert str(evaluation.DECLARATION) in page
    assert TITLE not in page and SUMMARY not in page and 'name="score_' not in page
    assert e1.get(f"/documents/{world.receipt_document_id}").status_code == 404  # not even the receipt
    assert e1.post(f"/evaluate/assignments/{world.scorer}/save",
                   data={f"score_{world.criteria[0]}": "3"}, follow_redirects=True).status_code == 200
    assert stored_scores(app, world.scorer) == {}  # a score before the declaration is refused


def test_declare_score_and_submit(app, world):
    e1 = browser(app, "e1@eksperti.lv")
    relevance, quality = world.criteria
    e1.post(f"/evaluate/assignments/{world.scorer}/action", data={"trigger": "declare_no_conflict"})
    declared = assignment(app, world.scorer)
    assert declared.status == "accepted" and declared.declaration_text == str(evaluation.DECLARATION)

    page = text(e1.get(f"/evaluate/assignments/{world.scorer}"))
    assert TITLE in page and SUMMARY in page
    assert "Pēteris Kļaviņš" not in page  # the applicant's declared conflicts are for the admin, not the evaluator
    # a points field per criterion in its step: half points for 2.2, whole points for 2.4.1
    relevance_input = page.split(f'id="score_{relevance}"')[1].split(">")[0]
    quality_input = page.split(f'id="score_{quality}"')[1].split(">")[0]
    assert 'type="number"' in page and 'max="5"' in relevance_input and 'step="0.5"' in relevance_input
    assert 'step="1"' in quality_input
    assert "not applicable" in page and "excellent" in page

    # Values outside the scale are refused and nothing is stored.
    response = e1.post(f"/evaluate/assignments/{world.scorer}/save",
                       data={f"score_{relevance}": "11", f"score_{quality}": "1.5"}, follow_redirects=True)
    assert response.status_code == 400
    assert "Criterion 2.2: the score must be from 0 to 5 in steps of 0.5." in text(response)
    assert "Criterion 2.4.1: the score must be from 0 to 5 in steps of 1." in text(response)
    assert "nothing was saved" in text(response) and stored_scores(app, world.scorer) == {}

    # A draft save: one scored, one "not applicable".
    e1.post(f"/evaluate/assignments/{world.scorer}/save",
            data={f"score_{relevance}": "3.5", f"comment_{relevance}": "", f"score_{quality}": "na"})
    assert stored_scores(app, world.scorer) == {relevance: (7, ""), quality: (None, "")}
    page = text(e1.get(f"/evaluate/assignments/{world.scorer}"))
    assert 'value="3.5"' in page.split(f'id="score_{relevance}"')[1].split(">")[0]

    # Submitting without the required comment is refused with the guard's reason; the scores stay saved.
    response = e1.post(f"/evaluate/assignments/{world.scorer}/submit",
                       data={f"score_{relevance}": "3.5", f"score_{quality}": "4"}, follow_redirects=True)
    assert "Criterion 2.2 needs a comment." in text(response)
    assert assignment(app, world.scorer).status == "accepted"
    assert stored_scores(app, world.scorer)[quality] == (8, "")

    # Submitting is for good: the first press saves the sheet and asks; only the confirmation submits.
    sheet = {f"score_{relevance}": "3.5", f"comment_{relevance}": "Skaidrs mērķis.", f"score_{quality}": "4"}
    asked = e1.post(f"/evaluate/assignments/{world.scorer}/submit", data=sheet)
    assert "This cannot be undone." in text(asked) and 'name="confirmed" value="1"' in text(asked)
    assert assignment(app, world.scorer).status == "accepted"
    assert stored_scores(app, world.scorer)[relevance] == (7, "Skaidrs mērķis.")
    e1.post(f"/evaluate/assignments/{world.scorer}/submit", data={**sheet, "confirmed": "1"})
    assert assignment(app, world.scorer).status == "submitted"
    assert stored_scores(app, world.scorer) == {relevance: (7, "Skaidrs mērķis."), quality: (8, "")}
    page = text(e1.get(f"/evaluate/assignments/{world.scorer}"))
    assert "Skaidrs mērķis." in page and "3.5" in page and 'name="score_' not in page
    assert "Submitted" in text(e1.get("/evaluate/"))

    lv = browser(app, "e1@eksperti.lv", lang="lv")  # Latvian shows half points with a comma
    assert "3,5" in text(lv.get(f"/evaluate/assignments/{world.scorer}"))


def test_a_recused_evaluator_sees_nothing_of_the_application(app, world):
    e2 = browser(app, "e2@eksperti.lv")
    response = e2.post(f"/evaluate/assignments/{world.recuser}/action", data={"trigger": "recuse"},
                       follow_redirects=True)
    assert "Please write the reason." in text(response)
    assert assignment(app, world.recuser).status == "assigned"
    e2.post(f"/evaluate/assignments/{world.recuser}/action",
            data={"trigger": "recuse", "note": "Mana māsa ir valdē."})
    assert assignment(app, world.recuser).status == "recused"

    assert e2.get(f"/evaluate/assignments/{world.recuser}").status_code == 404
    queue = text(e2.get("/evaluate/"))
    assert "Recused" in queue and world.number not in queue and "Youth initiative" not in queue
    assert f"/evaluate/assignments/{world.recuser}" not in queue
    assert e2.get(f"/documents/{world.receipt_document_id}").status_code == 404


def test_a_conflict_found_after_assignment_hides_the_application(app, world):
    with app.app_context():
        assigned = db.session.get(Assignment, world.conflicted)
        member = db.session.scalar(select(User.id).where(
            User.organisation_id == assigned.application.organisation_id))  # who named it (issue 7)
        db.session.add(ConflictOfInterest(evaluator_id=assigned.evaluator_id,
                                          organisation_id=assigned.application.organisation_id, source="applicant",
                                          note="declared by the applicant", named_by_id=member))
        db.session.commit()
    e3 = browser(app, "e3@eksperti.lv")
    assert e3.get(f"/evaluate/assignments/{world.conflicted}").status_code == 404
    assert e3.post(f"/evaluate/assignments/{world.conflicted}/action",
                   data={"trigger": "declare_no_conflict"}).status_code == 404
    assert assignment(app, world.conflicted).status == "assigned"
    queue = text(e3.get("/evaluate/"))
    assert world.number not in queue and f"/evaluate/assignments/{world.conflicted}" not in queue


def test_an_evaluator_cannot_open_another_evaluators_assignment(app, world):
    e1 = browser(app, "e1@eksperti.lv")
    assert e1.get(f"/evaluate/assignments/{world.conflicted}").status_code == 404
    assert e1.post(f"/evaluate/assignments/{world.conflicted}/save", data={}).status_code == 404


def test_a_revoked_assignment_leaves_the_queue(app, world):
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        fire(db.session.get(Assignment, world.conflicted), "revoke", admin, "Termiņš nokavēts.")
        db.session.commit()
    e3 = browser(app, "e3@eksperti.lv")
    assert world.number not in text(e3.get("/evaluate/"))
    assert e3.get(f"/evaluate/assignments/{world.conflicted}").status_code == 404

