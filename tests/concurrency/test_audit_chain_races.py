"""Concurrent fires on one entity never fork its audit chain and never lose a move (DESIGN 4.2): each writer takes
the entity's lock, reads the entity again under it, and links its event to the latest one."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.errors import Refused
from app.extensions import db
from app.models import Application, Assignment, AuditEvent, Call, User
from app.services import applications as application_service
from app.services import audit, evaluation
from app.services.workflow import fire
from tests.concurrency.conftest import assert_linear_chains, chains
from tests.factories import _fire, admin_of, evaluators_of, make_organiser_admin, member_of

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def test_six_admins_extend_one_deadline_at_once_the_chain_stays_one_line(app, make_call, race):
    call = make_call(state="open")
    admins = [admin_of(call).id] + [make_organiser_admin(call.organiser).id for _ in range(5)]
    call_id, closes_at = call.id, call.closes_at
    new_deadlines = [closes_at + timedelta(days=i + 1) for i in range(6)]

    def extender(admin_id, deadline):
        def run():
            return fire(db.session.get(Call, call_id), "extend_deadline", db.session.get(User, admin_id),
                        "Servera traucējumi.", closes_at=deadline).id
        return run

    result = race(*[extender(a, d) for a, d in zip(admins, new_deadlines)])

    assert result.winners, result.outcomes
    assert all(isinstance(o.refused, Refused) for o in result.refused)  # "not later than the current deadline"
    extensions = [e for e in chains()[("call", call_id)] if e.trigger == "extend_deadline"]
    assert len(extensions) == len(result.winners)
    # the deadline only ever moved later, and it is the last winner's
    assert db.session.get(Call, call_id).closes_at == max(
        d for d, o in zip(new_deadlines, result.outcomes) if o.ok)
    assert_linear_chains()
    assert audit.verify().ok


def test_an_admin_and_the_applicant_act_on_one_application_at_once(app, make_call, make_application, race):
    """Clarification, checks and withdrawal pressed at the same moment: whatever order they take, each move starts
    from the state the previous one left (no lost update), and the chain is one line."""
    call = make_call(state="announced", when="past")
    application = make_application(call, state="submitted")
    admin, second_admin, member = admin_of(call), make_organiser_admin(call.organiser), member_of(application)
    application_id, admin_id, second_id, member_id = application.id, admin.id, second_admin.id, member.id
    checks = {c.id: (True, "") for c in call.checks}
    due = call.closes_at + timedelta(days=60)

    def clarification():
        return application_service.request_clarification(
            db.session.get(Application, application_id), db.session.get(User, admin_id),
            "Lūdzu precizējiet budžetu.", due).id

    def pass_checks():
        return application_service.record_checks(db.session.get(Application, application_id),
                                                 db.session.get(User, second_id), checks).id

    def withdraw():
        return application_service.withdraw(db.session.get(Application, application_id),
                                            db.session.get(User, member_id)).id

    result = race(clarification, pass_checks, withdraw)

    assert result.winners
    events = chains()[("application", application_id)]
    moves = [e for e in events if e.trigger in ("request_clarification", "pass_checks", "withdraw")]
    assert len(moves) == len(result.winners)
    assert db.session.get(Application, application_id).status == events[-1].to_state
    assert_linear_chains()
    assert audit.verify().ok


def _accepted_pair(make_application, make_user, make_assignment):
    """An application in review with two evaluators who have declared no conflict, plus a spare evaluator."""
    application = make_application(state="in_review")
    first, second = (make_assignment("accepted", application=application) for _ in range(2))
    spare = make_user("evaluator")
    return application, first, second, spare


def _scored(assignment: Assignment, half_points: int) -> None:
    evaluation.save_scores(assignment, db.session.get(User, assignment.evaluator_id),
                           {c.id: (half_points, "Pamatojums.") for c in assignment.application.call.criteria})
    db.session.commit()


def _submitting(assignment_id: int, evaluator_id: int):
    def run():
        return fire(db.session.get(Assignment, assignment_id), "submit_review",
                    db.session.get(User, evaluator_id)).id
    return run


def test_two_divergent_reviews_submitted_at_once_are_seen_as_divergent(app, make_application, make_user,
                                                                       make_assignment, race):
    """Each review alone diverges from nothing; together they do. Submitted at the same moment, the second to
    commit must still see the first (the application is locked before its reviews are counted), flag the
    divergence and ask a third evaluator."""
    application, first, second, _spare = _accepted_pair(make_application, make_user, make_assignment)
    _scored(first, 10)
    _scored(second, 2)
    application_id = application.id
    racers = [_submitting(a.id, a.evaluator_id) for a in (first, second)]

    result = race(*racers)

    assert len(result.winners) == 2
    application = db.session.get(Application, application_id)
    assert application.divergent
    live = db.session.scalar(select(func.count(Assignment.id)).where(
        Assignment.application_id == application_id, Assignment.status.in_(evaluation.LIVE)))
    assert live == 3
    assert_linear_chains()
    assert audit.verify().ok


def test_the_last_two_reviews_after_an_upheld_appeal_submitted_at_once_complete_the_review(
        app, make_call, make_application, race, monkeypatch):
    """After an upheld appeal on scoring grounds (the call already awarded), the reopened reviews are submitted
    again at the same moment: the application must become reviewed exactly once, not stay in review for ever."""
    counted = evaluation.submitted_count

    def slow_count(application):  # widen the window between "my review is in" and "how many are in?"
        time.sleep(0.3)
        return counted(application)

    monkeypatch.setattr(evaluation, "submitted_count", slow_count)
    call = make_call(state="announced", when="past", projects=1)
    application = make_application(call, state="appealed", appeal_from="rejected")
    _fire(application, "uphold_appeal", make_organiser_admin(call.organiser), "Vērtējums nav pamatots.")
    assert application.status == "in_review"
    reopened = db.session.scalars(select(Assignment).where(Assignment.application_id == application.id,
                                                           Assignment.status == "accepted")).all()
    assert len(reopened) == 2 == len(evaluators_of(application))
    application_id = application.id
    racers = [_submitting(a.id, a.evaluator_id) for a in reopened]

    result = race(*racers)

    assert len(result.winners) == 2
    assert db.session.get(Application, application_id).status == "reviewed"
    completions = db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.entity_type == "application", AuditEvent.entity_id == application_id,
        AuditEvent.trigger == "complete_review"))
    assert completions == 2  # the first at finish_evaluation, the second now
    assert_linear_chains()
    assert audit.verify().ok
