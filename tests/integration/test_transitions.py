"""Every transition of every workflow, fired once on real rows; the refusals; the publish cascade.

The table of rows is built from the definitions themselves, so a transition added to `workflows/` without a setup
here fails with a LookupError rather than going untested. PDFs are stubbed here (`stub_pdfs`): these tests are about
states and events; the documents' content is tested where it matters (test_notifications_smtp, the document tests).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app import clock
from app.errors import NotAllowed, Refused
from app.extensions import db
from app.models import Application, AuditEvent, CheckResult, Decision, Job, Message, Payment, Recovery, Report
from app.services import evaluation, workflow
from app.services.workflow import ENTITY_TYPE, catch_up, fire
from tests import factories as f
from tests.factories import admin_of, member_of
from workflows.engine import WORKFLOWS, NotAvailable

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]  # PDFs: test_notifications_smtp

ROWS = [(name, tr.trigger, source, tr.dest)
        for name, definition in WORKFLOWS.items() for tr in definition.transitions for source in tr.source]
CLOCK_MOVES = {(name, move.trigger, move.source) for name, d in WORKFLOWS.items() for move in d.clock}
NOTE = "Pamatojums testam."


def _id(row):
    name, trigger, source, dest = row
    return f"{name}.{trigger}:{source}->{dest}"


# --- setups: each returns (entity, actor, note, data) for one row ------------------------------------------------

def _call(state, **options):
    call = f.make_call(state=state, **options)
    return call, admin_of(call)


def _application(state, **options):
    application = f.make_application(state=state, **options)
    return application, admin_of(application.call), member_of(application)


def _checks_recorded(application, admin, passed):
    for check in application.call.checks:
        db.session.add(CheckResult(application_id=application.id, check_id=check.id, passed=passed,
                                   reason="" if passed else "Neatbilst.", recorded_by=admin.id,
                                   recorded_at=clock.now()))
    db.session.commit()


def setup_call(trigger, source, dest):
    if trigger == "open":
        call, _admin = _call("announced", when="past")
        return call, None, None, {}
    if trigger == "close":
        call, _admin = _call("open")
        return call, None, None, {}
    call, admin = _call(source)
    if trigger == "extend_deadline":
        return call, admin, NOTE, {"closes_at": call.closes_at + timedelta(days=7)}
    if trigger == "reopen":
        return call, admin, NOTE, {"closes_at": clock.now() + timedelta(days=7)}
    if trigger == "publish_results":
        f._fire(call, "confirm_ranking", admin)
    return call, admin, NOTE if trigger == "cancel" else None, {}


def setup_application(trigger, source, dest):
    if trigger in ("dismiss_appeal", "uphold_appeal"):
        prior = {"dismiss_appeal": dest, "uphold_appeal": "ineligible" if dest == "submitted" else "rejected"}[trigger]
        application, admin, _member = _application("appealed", appeal_from=prior)
        return application, admin, NOTE, {}
    if trigger == "promote":
        (reserve,) = f.make_applications(f.make_call(state="announced", when="past", projects=1), ["reserve"])
        funded = db.session.scalars(select(Application).where(Application.call_id == reserve.call_id,
                                                              Application.status == "funded")).one()
        f._fire(funded, "decline", member_of(funded))  # frees the money the reserve may now take
        return reserve, admin_of(reserve.call), NOTE, {}
    application, admin, member = _application(source)
    if trigger == "submit":
        return application, member, None, {}
    if trigger == "accept_offer":
        f.render_agreement(application)  # the worker's part of the offer: only a rendered agreement is accepted
        return application, member, None, {}
    if trigger in ("withdraw", "decline"):
        return application, member, None, {}
    if trigger == "request_clarification":
        return application, admin, None, {"question": "Kāds ir budžets?",
                                          "answer_due_at": clock.now() + timedelta(days=5)}
    if trigger == "clarify":
        return application, member, None, {"answer": "Budžets ir 4600 euro."}
    if trigger in ("pass_checks", "fail_checks"):
        _checks_recorded(application, admin, passed=trigger == "pass_checks")
        return application, admin, None, {}
    if trigger == "expire_reserve":  # the clock's move, when the call's reserve list ends
        application.call.reserve_expires_at = clock.now() + timedelta(days=30)
        db.session.commit()
    if trigger in ("start_review", "complete_review", "expire_reserve"):
        return application, None, None, {}
    if trigger in ("fund", "reserve", "reject"):  # by hand: a re-ranking, justified in writing
        return application, admin, NOTE, {}
    if trigger == "renounce":
        return application, member, NOTE, {}
    if trigger == "terminate":
        return application, admin, NOTE, {}
    if trigger == "close_grant":
        f.settle_grant(application)
        return application, admin, None, {}
    if trigger == "appeal":
        return application, member, NOTE, {"grounds": "factual_error"}
    if trigger == "sign":
        return application, admin, None, {}
    raise LookupError(trigger)


def setup_review(trigger, source, dest):
    assignment = f.make_assignment(source)
    evaluator, admin = assignment.evaluator, admin_of(assignment.application.call)
    if trigger == "declare_no_conflict":
        return assignment, evaluator, None, {}
    if trigger == "recuse":
        return assignment, evaluator, NOTE, {}
    if trigger == "submit_review":
        criteria = assignment.application.call.criteria
        evaluation.save_scores(assignment, evaluator, {c.id: (6, "Vidēji.") for c in criteria})
        db.session.commit()
        return assignment, evaluator, None, {}
    return assignment, admin, NOTE, {}  # reopen, revoke, void


def setup_report(trigger, source, dest):
    if trigger == "allow_early":  # the final report, before the implementation has ended
        report = f.make_report(source, kind="final")
        return report, admin_of(report.application.call), NOTE, {}
    report = f.make_report(source)
    member, admin = member_of(report.application), admin_of(report.application.call)
    if trigger == "submit":
        from app.services import reporting

        reporting.save(report, member, f.REPORT_CONTENT, report.version)
        db.session.commit()
        return report, member, None, {}
    if trigger == "resubmit":
        return report, member, None, {}
    return report, admin, NOTE if trigger == "request_changes" else None, {}


def setup_payment(trigger, source, dest):
    payment = f.make_payment(source)
    admin = admin_of(db.session.get(Application, payment.application_id).call)
    if trigger == "pay":
        return payment, admin, None, {"bank_reference": "LV-2022-0001"}
    if trigger == "reduce":  # part of the tranche, for a shortfall in results
        return payment, admin, NOTE, {"amount_cents": 10_000}
    return payment, admin, NOTE, {}


def setup_recovery(trigger, source, dest):
    recovery = f.make_recovery(source)
    admin = admin_of(db.session.get(Application, recovery.application_id).call)
    return recovery, admin, NOTE if trigger == "write_off" else None, {}


SETUPS = {"call": setup_call, "application": setup_application, "review": setup_review, "report": setup_report,
          "payment": setup_payment, "recovery": setup_recovery}


def events_of(entity_type, entity_id, trigger=None, source=None, dest=None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
    if trigger:
        query = query.where(AuditEvent.trigger == trigger, AuditEvent.from_state == source,
                            AuditEvent.to_state == dest)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def test_every_workflow_has_a_setup():
    assert set(SETUPS) == set(WORKFLOWS)


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_every_transition_fires_once_and_writes_one_event(app, row):
    name, trigger, source, dest = row
    entity, actor, note, data = SETUPS[name](trigger, source, dest)
    assert entity.status == source, "the setup must leave the entity in the source state"
    entity_type = ENTITY_TYPE[name]
    before = len(events_of(entity_type, entity.id, trigger, source, dest))

    if (name, trigger, source) in CLOCK_MOVES and actor is None:  # the clock's own path: catch_up, when it is time
        at = next(m.at for m in WORKFLOWS[name].clock if m.trigger == trigger)
        clock.travel_to(workflow.times(entity)(at))
        events = catch_up(entity)
        event = events[-1]
    else:
        event = fire(entity, trigger, actor, note, **data)
    db.session.commit()

    db.session.expire_all()
    assert entity.status == dest
    assert (event.entity_type, event.entity_id, event.trigger, event.from_state, event.to_state) == (
        entity_type, entity.id, trigger, source, dest)
    assert event.actor_id == (actor.id if actor is not None else None)
    assert len(events_of(entity_type, entity.id, trigger, source, dest)) == before + 1


# --- refusals ------------------------------------------------------------------------------------------------------

def _refused(entity, trigger, actor, note=None, **data):
    """Fire inside force_locale("en") and roll back; returns the exception (pytest.raises does the type check)."""
    try:
        with force_locale("en"):
            fire(entity, trigger, actor, note, **data)
    finally:
        db.session.rollback()


def _unchanged(entity, status, events):
    db.session.expire_all()
    assert entity.status == status
    assert len(events_of(ENTITY_TYPE[workflow.workflow_name(entity)], entity.id)) == events


def _other_admin():
    return f.make_user("admin")  # administers a new organiser, not the call's


def refusals_call():
    call, admin = _call("draft", criteria=0)
    applicant = f.make_user("applicant")
    return call, [
        ("wrong state", "start_evaluation", admin, {}, NotAvailable, None),
        ("wrong role", "announce", applicant, {}, NotAllowed, None),
        ("auditor", "announce", f.make_user("auditor", organiser=call.organiser), {}, NotAllowed, None),
        ("failing guard", "announce", admin, {}, Refused, "Add at least one criterion with points"),
        ("other organiser", "announce", _other_admin(), {}, NotAllowed, None),
    ]


def refusals_application():
    application, admin, member = _application("draft")
    application.declarations_accepted = False
    db.session.commit()
    return application, [
        ("wrong state", "withdraw", member, {}, NotAvailable, None),
        ("wrong role", "submit", admin, {}, NotAllowed, None),
        ("failing guard", "submit", member, {}, Refused, "Confirm the declarations before submitting."),
        ("other organisation", "submit", f.make_user("applicant"), {}, NotAllowed, None),
    ]


def refusals_review():
    assignment = f.make_assignment("accepted")
    evaluator, admin = assignment.evaluator, admin_of(assignment.application.call)
    return assignment, [
        ("wrong state", "declare_no_conflict", evaluator, {}, NotAvailable, None),
        ("wrong role", "submit_review", admin, {}, NotAllowed, None),
        ("failing guard", "submit_review", evaluator, {}, Refused, "Criterion 2.1 has no score and no comment."),
        ("another evaluator", "submit_review", f.make_user("evaluator"), {}, NotAllowed, None),
    ]


def refusals_report():
    report = f.make_report("draft")
    member, admin = member_of(report.application), admin_of(report.application.call)
    return report, [
        ("wrong state", "approve", admin, {}, NotAvailable, None),
        ("wrong role", "submit", admin, {}, NotAllowed, None),
        ("failing guard", "submit", member, {}, Refused, "Describe the activities held."),
        ("other organisation", "submit", f.make_user("applicant"), {}, NotAllowed, None),
    ]


def refusals_payment():
    payment = f.make_payment("scheduled")
    application = db.session.get(Application, payment.application_id)
    admin = admin_of(application.call)
    second = f._payments(application)[1]  # waits for the approved final report
    return payment, [
        ("wrong state", "repay", admin, {}, NotAvailable, None),
        ("wrong role", "pay", member_of(application), {"bank_reference": "X"}, NotAllowed, None),
        ("failing guard", "pay", admin, {}, Refused, "Enter the bank reference of the transfer."),
        ("other organiser", "pay", _other_admin(), {"bank_reference": "X"}, NotAllowed, None),
    ], (second, "pay", admin, {"bank_reference": "X"}, "This tranche is not due yet")


def refusals_recovery():
    recovery = f.make_recovery("demanded")
    application = db.session.get(Application, recovery.application_id)
    admin = admin_of(application.call)
    return recovery, [
        ("wrong state", "pay", admin, {}, NotAvailable, None),
        ("wrong role", "repay", member_of(application), {}, NotAllowed, None),
        ("failing guard: a reason is required", "write_off", admin, {}, Refused, "Please write the reason."),
        ("other organiser", "repay", _other_admin(), {}, NotAllowed, None),
    ]


REFUSALS = {"call": refusals_call, "application": refusals_application, "review": refusals_review,
            "report": refusals_report, "payment": refusals_payment, "recovery": refusals_recovery}


def test_every_workflow_has_refusals():
    assert set(REFUSALS) == set(WORKFLOWS)


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refusals_say_why_and_change_nothing(app, name):
    """Per workflow: a trigger not available here (409), a role that may not (403), a failing guard (its message),
    and someone outside the object's reach (403). Each leaves the state and the audit trail as they were."""
    entity, cases, *extra = REFUSALS[name]()
    status = entity.status
    events = len(events_of(ENTITY_TYPE[name], entity.id))
    for label, trigger, actor, data, expected, message in cases:
        with pytest.raises(expected) as refused:
            _refused(entity, trigger, actor, NOTE if expected is not Refused else None, **data)
        if message:
            assert message in refused.value.message, label
        _unchanged(entity, status, events)
    for other, trigger, actor, data, message in extra:
        with pytest.raises(Refused, match=message):
            _refused(other, trigger, actor, **data)


def test_a_refused_payment_keeps_nothing_half_done(app):
    payment = f.make_payment("scheduled")
    admin = admin_of(db.session.get(Application, payment.application_id).call)
    with pytest.raises(Refused):
        _refused(payment, "pay", admin, bank_reference="  ")
    db.session.expire_all()
    assert (payment.status, payment.paid_on, payment.bank_reference) == ("scheduled", None, None)


# --- the publish cascade -------------------------------------------------------------------------------------------

def _ranked_call():
    """A call in ranking with three reviewed applications that the ranking funds, reserves and rejects."""
    call = f.make_call(state="announced", when="past", projects=1)
    applications = f.make_applications(call, ["reviewed", "reviewed", "reviewed"], scores=[9, 7, 3])
    admin = admin_of(call)
    f._fire(call, "confirm_ranking", admin)
    return call, admin, applications


def test_publish_writes_one_caused_event_per_application(app):
    call, admin, (first, second, third) = _ranked_call()

    publish = fire(call, "publish_results", admin)
    db.session.commit()

    db.session.expire_all()
    assert (call.status, first.status, second.status, third.status) == ("awarded", "funded", "reserve", "rejected")
    caused = list(db.session.scalars(select(AuditEvent).where(AuditEvent.caused_by_id == publish.id)
                                     .order_by(AuditEvent.entity_id)))
    assert [(e.entity_type, e.entity_id, e.trigger, e.from_state, e.to_state, e.actor_id) for e in caused] == [
        ("application", first.id, "fund", "reviewed", "funded", None),
        ("application", second.id, "reserve", "reviewed", "reserve", None),
        ("application", third.id, "reject", "reviewed", "rejected", None),
    ]
    assert publish.caused_by_id is None and publish.trigger == "publish_results"


def test_a_failure_mid_cascade_rolls_everything_back(app, monkeypatch):
    call, admin, applications = _ranked_call()
    counts = _counts()
    from app.services import decisions

    real_send_letter, letters = decisions.send_letter, []

    def send_letter_then_fail(application, ctx, outcome, extra=None):
        letters.append(application.id)
        if len(letters) == 2:
            raise RuntimeError("the mail queue broke on the second letter")
        return real_send_letter(application, ctx, outcome, extra)

    monkeypatch.setattr(decisions, "send_letter", send_letter_then_fail)
    with pytest.raises(RuntimeError, match="second letter"):
        fire(call, "publish_results", admin)
    db.session.rollback()

    db.session.expire_all()
    assert len(letters) == 2, "the first application had moved before the failure"
    assert call.status == "ranking"
    assert [a.status for a in applications] == ["reviewed"] * 3
    assert _counts() == counts


def _counts():
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (AuditEvent, Decision, Message, Job, Payment, Report, Recovery)}


def test_an_admin_result_needs_a_written_justification(app):
    """fund/reserve/reject by hand (a re-ranking after an upheld appeal) are refused without a justification."""
    application, admin, _member = _application("reviewed")
    with pytest.raises(Refused, match="Write the justification"):
        _refused(application, "reserve", admin)
    _unchanged(application, "reviewed", len(events_of("application", application.id)))
