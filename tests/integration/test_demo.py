"""The demo (DESIGN 7): loaded on a freshly migrated database, then loaded again through `flask demo`.

Loading takes several seconds (password hashing, three agreement PDFs), so it is done once for the module and
every test reads the result.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from app import clock, create_app
from app.demo import PASSWORD, load_demo
from app.extensions import db
from app.models import (
    Application,
    Assignment,
    AuditEvent,
    Call,
    CheckResult,
    Clarification,
    Decision,
    Grant,
    Payment,
    Report,
)
from app.services import audit
from app.services.accounts import authenticate
from app.services.calls import missing_reviews
from app.services.workflow import effective_status


def _row_counts() -> dict[str, int]:
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


@pytest.fixture(scope="module")
def demo(tmp_path_factory, _sqlite_template):
    """The app with the demo loaded twice: by `load_demo()`, then by the CLI command."""
    folder = tmp_path_factory.mktemp("demo")
    shutil.copyfile(_sqlite_template, folder / "grants.sqlite")
    flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'grants.sqlite'}",
                           UPLOAD_DIR=str(folder / "uploads"), MAIL_SERVER="")
    context = flask_app.app_context()
    context.push()
    try:
        logins = load_demo()
        first = _row_counts()
        db.session.remove()
        result = flask_app.test_cli_runner().invoke(args=["demo"])
        db.session.remove()
        yield {"app": flask_app, "logins": logins, "first": first, "second": _row_counts(), "cli": result}
    finally:
        db.session.remove()
        context.pop()
        with flask_app.app_context():
            db.engine.dispose()


def _call(code: str) -> Call:
    return db.session.scalar(select(Call).where(Call.code == code))


def _applications(call: Call) -> list[Application]:
    return db.session.scalars(select(Application).where(Application.call_id == call.id)
                              .order_by(Application.id)).all()


def _current_year() -> int:
    return clock.to_riga(clock.now()).year


def test_loading_twice_changes_nothing(demo):
    assert demo["cli"].exit_code == 0, demo["cli"].output
    assert demo["first"] == demo["second"]
    assert demo["first"]["audit_events"] > 100
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(minutes=5)  # the clock runs again


def test_logins_are_returned_printed_and_work(demo):
    logins = demo["logins"]
    roles = [role for role, _email, _password in logins]
    assert roles.count("admin") == 2 and roles.count("auditor") == 1 and roles.count("evaluator") == 3
    assert roles.count("applicant") >= 6
    assert {password for _role, _email, password in logins} == {PASSWORD}
    for role, email, password in logins:
        assert email in demo["cli"].output
        user = authenticate(email, password)
        assert user.role == role
    assert authenticate("auditors@ikvd.gov.lv", PASSWORD).programme_level


def test_the_three_calls_and_their_states(demo):
    year = _current_year()
    completed, second_round, open_call = _call("PMP-2022"), _call(f"PMP-{year}-R"), _call(f"PMP-{year}")
    assert completed.status == "completed"
    assert second_round.status == effective_status(second_round) == "evaluation"
    assert effective_status(open_call) == "open"
    assert open_call.opens_at < clock.now() < open_call.closes_at
    assert second_round.closes_at < clock.now()
    organisers = {c.organiser.name for c in (completed, second_round, open_call)}
    assert organisers == {"Jelgavas novada pašvaldība"}


def test_2022_dates_and_rules_are_the_real_ones(demo):
    call = _call("PMP-2022")
    assert clock.to_riga(call.opens_at).isoformat() == "2022-03-01T00:00:00+02:00"
    assert clock.to_riga(call.closes_at).isoformat() == "2022-04-05T00:00:00+03:00"
    assert (call.amount_cents, call.budget_cents, call.pass_mark_half_points) == (460_000, 1_380_000, 60)
    assert [c.code for c in call.criteria] == ["1.1", "1.2", "2.1", "2.2", "2.3", "2.4.1", "2.4.2", "2.4.3",
                                              "3.1", "3.2"]
    assert {c.code: c.min_half_points for c in call.criteria if c.min_half_points} == {
        "2.2": 6, "2.4.1": 6, "2.4.3": 6}
    assert call.tie_break_keys == ["2.2", "2.4.3", "submitted_at"]


def test_2022_results_funded_reserve_rejected_ineligible(demo):
    call = _call("PMP-2022")
    by_status: dict[str, list[Application]] = {}
    for application in _applications(call):
        by_status.setdefault(application.status, []).append(application)
    assert {s: len(a) for s, a in by_status.items()} == {
        "closed": 3, "declined": 1, "not_funded": 1, "rejected": 1, "ineligible": 1}
    funded = db.session.scalars(select(Decision).join(Application).where(
        Application.call_id == call.id, Decision.current, Decision.outcome == "funded")).all()
    assert sorted(d.application_id for d in funded) == sorted(a.id for a in by_status["closed"])
    assert [d.amount_cents for d in funded] == [460_000] * 3
    assert sum(d.amount_cents for d in funded) == call.budget_cents == 1_380_000
    for application in by_status["closed"]:
        grant = db.session.scalar(select(Grant).where(Grant.application_id == application.id))
        payments = db.session.scalars(select(Payment).where(Payment.application_id == application.id)
                                      .order_by(Payment.tranche)).all()
        assert grant.amount_cents == 460_000
        assert [(p.amount_cents, p.status) for p in payments] == [(368_000, "paid"), (92_000, "paid")]
        assert all(p.bank_reference for p in payments)
        assert application.agreement_sha256 is not None


def test_2022_tie_minimum_promotion_and_ineligibility(demo):
    call = _call("PMP-2022")
    decisions = db.session.scalars(select(Decision).join(Application).where(Application.call_id == call.id)
                                   .order_by(Decision.id)).all()
    tie = [d for d in decisions if d.tie_broken_by == "2.2"]
    assert len(tie) == 1 and tie[0].outcome == "reserve" and not tie[0].current
    promoted = db.session.get(Application, tie[0].application_id)
    assert promoted.status == "closed"  # promoted from the reserve list after a funded NGO declined
    rejected = next(d for d in decisions if d.outcome == "rejected")
    assert rejected.failures == ["minimum:2.4.1"]
    assert Fraction(rejected.total) > Fraction(80)  # half points: over 40 points, far above the pass mark
    ineligible = next(a for a in _applications(call) if a.status == "ineligible")
    failed = db.session.scalars(select(CheckResult).where(CheckResult.application_id == ineligible.id,
                                                          CheckResult.passed.is_(False))).all()
    assert [(r.check.code, bool(r.reason)) for r in failed] == [("E4", True)]
    answered = db.session.scalars(select(Clarification).join(Application).where(
        Application.call_id == call.id)).all()
    assert len(answered) == 1 and answered[0].answer_sha256


def test_2022_shows_a_consensus_note_on_the_rejected_application(demo):
    from app.models import AuditEvent, ConsensusNote

    call = _call("PMP-2022")
    assert call.show_scores_after_review
    (note,) = db.session.scalars(select(ConsensusNote).join(Application).where(Application.call_id == call.id)).all()
    rejected = db.session.scalar(select(Decision).where(Decision.application_id == note.application_id,
                                                        Decision.outcome == "rejected"))
    assert rejected is not None and "2.4.1" in note.text  # it explains the minimum that failed
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.entity_type == "application",
                                                         AuditEvent.entity_id == note.application_id,
                                                         AuditEvent.trigger == "consensus_note"))


def test_2022_reports_all_approved(demo):
    call = _call("PMP-2022")
    reports = db.session.scalars(select(Report).join(Application).where(Application.call_id == call.id)).all()
    assert len(reports) == 6 and {r.status for r in reports} == {"approved"}


def test_second_round_in_evaluation_with_a_divergence(demo):
    call = _call(f"PMP-{_current_year()}-R")
    applications = _applications(call)
    assert applications and {a.status for a in applications} == {"in_review"}
    divergent = [a for a in applications if a.divergent]
    assert len(divergent) == 1
    assignments = db.session.scalars(select(Assignment).where(Assignment.application_id == divergent[0].id)
                                     .order_by(Assignment.id)).all()
    assert [a.status for a in assignments] == ["submitted", "submitted", "assigned"]
    third = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "assignment",
                                                       AuditEvent.entity_id == assignments[2].id))
    assert third.trigger == "assign" and third.actor_id is None  # assigned by the engine, not by an admin
    assert missing_reviews(call)  # reviews partly done: the evaluation cannot be finished yet
    statuses = db.session.scalars(select(Assignment.status).join(Application).where(
        Application.call_id == call.id)).all()
    assert {"submitted", "accepted", "assigned", "recused"} <= set(statuses)


def test_open_call_has_drafts_and_two_submissions(demo):
    call = _call(f"PMP-{_current_year()}")
    statuses = [a.status for a in _applications(call)]
    assert statuses.count("submitted") == 2 and statuses.count("draft") >= 2
    numbers = sorted(a.number for a in _applications(call) if a.number)
    assert numbers == [f"{call.number_prefix}-001", f"{call.number_prefix}-002"]


def test_audit_trail_verifies_and_explains_every_state(demo):
    assert audit.verify().ok
    for model, entity_type in ((Call, "call"), (Application, "application"), (Assignment, "assignment"),
                               (Report, "report"), (Payment, "payment")):
        for row in db.session.scalars(select(model)):
            last = db.session.scalars(select(AuditEvent).where(
                AuditEvent.entity_type == entity_type, AuditEvent.entity_id == row.id)
                .order_by(AuditEvent.id.desc()).limit(1)).first()
            assert last is not None and last.to_state == row.status, (entity_type, row.id)


def test_the_budgeted_call_shows_every_budget_screen(demo):
    """The fourth call (app/demo/budgeted.py): budgeted, open now, four cost categories (two capped), one
    application submitted with its budget table and one draft with a budget."""
    call = _call(f"JIB-{_current_year()}")
    assert call.funding_mode == "budgeted" and effective_status(call) == "open"
    assert (call.min_amount_cents, call.max_amount_cents) == (100_000, 800_000)
    assert [(c.label_lv, c.cap_percent) for c in call.cost_categories] == [
        ("Personāls", None), ("Materiāli un aprīkojums", None), ("Transports", 20), ("Administrācija", 10)]
    assert "4 600,00" not in call.description_lv and "1 000,00 € līdz 8 000,00 €" in call.description_lv
    applications = {a.status: a for a in _applications(call)}
    assert set(applications) == {"submitted", "draft"}
    # 96 × 15,00 + 6 × 42,50 + 2 × 180,00 + 150,00; and 36 × 18,00 + 640,00 + 120,00
    assert applications["submitted"].amount_cents == 220_500 and len(applications["submitted"].budget_lines) == 4
    assert applications["draft"].amount_cents == 140_800 and len(applications["draft"].budget_lines) == 3


def test_no_stored_text_names_a_number_not_yet_taken(demo):
    """The demo goes on after each submission in the same transaction; the promotion's note names the number of
    the application that declined, which must be its real number, never the submission's stand-in."""
    from app.models import AuditEvent, Message

    promoted = db.session.scalars(select(AuditEvent).where(AuditEvent.trigger == "promote")).all()
    assert promoted and all("PMP-2022-" in event.note for event in promoted)
    for text in (*db.session.scalars(select(AuditEvent.note)), *db.session.scalars(select(AuditEvent.data)),
                 *db.session.scalars(select(Message.body_text))):
        assert "[number-pending-" not in (text or "")
