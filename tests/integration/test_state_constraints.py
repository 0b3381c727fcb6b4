"""State tied to data in the database (issue 5, points 10 and 15): a row whose status is not one of its workflow's
states, or whose state-bound columns disagree with its status, fails at flush on both backends; so does a second
current decision for one application.

Each test builds a valid row through the factories (real fires), breaks one thing by hand and flushes. The broken
value is written here, never computed from the definitions, so the test does not trust what it checks.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.extensions import db
from app.models import Appeal, Application, Decision
from app.services import decisions
from tests.factories import make_organiser_admin

pytestmark = pytest.mark.postgres


def refused_at_flush() -> None:
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- every status column lists its own workflow's states -----------------------------------------------------------

# (builder, the state it builds, a state of *another* workflow): the column refuses what is valid elsewhere, not
# just nonsense. Each built row passes the older constraints with the new value (an accepted assignment is declared),
# so only the status check can refuse it.
FOREIGN_STATE = [
    ("make_call", "open", "submitted"),               # an application's state
    ("make_application", "submitted", "announced"),   # a call's state
    ("make_assignment", "accepted", "draft"),         # a report's state
    ("make_report", "draft", "scheduled"),            # a payment's state
    ("make_payment", "scheduled", "repaid"),          # a recovery's state
    ("make_recovery", "demanded", "paid"),            # a payment's state
]


@pytest.mark.parametrize("builder, built, state", FOREIGN_STATE, ids=[b for b, _, _ in FOREIGN_STATE])
def test_a_status_outside_the_workflow_fails_at_flush(app, request, builder, built, state):
    entity = request.getfixturevalue(builder)(state=built)
    entity.status = state
    refused_at_flush()


@pytest.mark.parametrize("builder, built", [(b, s) for b, s, _ in FOREIGN_STATE], ids=[b for b, _, _ in FOREIGN_STATE])
def test_an_unknown_status_fails_at_flush(app, request, builder, built):
    entity = request.getfixturevalue(builder)(state=built)
    entity.status = "bogus"
    refused_at_flush()


# --- a recovery's settled_at goes with its state -------------------------------------------------------------------

def test_a_demanded_recovery_with_a_settlement_time_fails(app, make_recovery):
    recovery = make_recovery("demanded")
    recovery.settled_at = clock.now()
    refused_at_flush()


@pytest.mark.parametrize("state", ["repaid", "written_off"])
def test_a_settled_recovery_without_its_time_fails(app, make_recovery, state):
    recovery = make_recovery(state)
    assert recovery.settled_at is not None  # the effect set it
    recovery.settled_at = None
    refused_at_flush()


def test_a_write_off_without_its_reason_fails(app, make_recovery):
    recovery = make_recovery("written_off")
    recovery.write_off_reason = None
    refused_at_flush()


# --- an appeal's decided_by goes with its outcome ------------------------------------------------------------------

def _pending_appeal(make_applications) -> Appeal:
    (appealed,) = make_applications(None, ["appealed"], appeal_from="rejected")
    return db.session.scalars(select(Appeal).where(Appeal.application_id == appealed.id)).one()


def _another_admin(appeal: Appeal):
    return make_organiser_admin(db.session.get(Application, appeal.application_id).call.organiser)


def test_an_appeal_decided_by_nobody_fails(app, make_applications):
    appeal = _pending_appeal(make_applications)
    appeal.outcome, appeal.decision_reasons, appeal.decided_at = "dismissed", "Nepamatots.", clock.now()
    refused_at_flush()


def test_an_undecided_appeal_with_a_decider_fails(app, make_applications):
    appeal = _pending_appeal(make_applications)
    appeal.decided_by = _another_admin(appeal).id
    refused_at_flush()


def test_an_appeal_outcome_outside_upheld_and_dismissed_fails(app, make_applications):
    appeal = _pending_appeal(make_applications)
    admin = _another_admin(appeal)
    appeal.outcome, appeal.decision_reasons, appeal.decided_at, appeal.decided_by = (
        "postponed", "Vēlāk.", clock.now(), admin.id)
    refused_at_flush()


def test_an_appeal_from_a_state_the_workflow_does_not_appeal_from_fails(app, make_applications):
    appeal = _pending_appeal(make_applications)
    appeal.prior_status = "funded"
    refused_at_flush()


# --- the other columns stamped by a move ---------------------------------------------------------------------------

def test_a_draft_report_with_a_submission_time_fails(app, make_report):
    report = make_report("draft")
    report.submitted_at = clock.now()
    refused_at_flush()


def test_an_approval_without_its_approver_fails(app, make_report):
    report = make_report("approved")
    report.approved_by = None
    refused_at_flush()


def test_a_paid_payment_without_its_bank_reference_fails(app, make_payment):
    payment = make_payment("paid")
    assert payment.bank_reference == "REF-1"
    payment.bank_reference = None
    refused_at_flush()


def test_a_declaration_time_without_its_text_fails(app, make_assignment):
    assignment = make_assignment("accepted")
    assignment.declaration_text = None
    refused_at_flush()


def test_an_acceptance_without_its_acceptor_fails(app, make_application):
    application = make_application(state="accepted")
    application.accepted_by = None
    refused_at_flush()


def test_a_contract_without_an_accepted_offer_fails(app, make_application):
    application = make_application(state="contracted")
    application.accepted_by = application.accepted_at = None
    refused_at_flush()


def test_the_states_built_by_the_factories_pass_every_constraint(app, make_applications, make_recovery,
                                                                 make_payment, make_report, make_assignment):
    """The positive side: rows that real moves produced satisfy every new constraint (nothing above is refused
    for a reason other than the one it breaks)."""
    make_applications(None, ["funded", "accepted", "contracted", "declined", "reserve", "rejected"])
    for builder, state in [(make_recovery, "repaid"), (make_recovery, "written_off"), (make_payment, "cancelled"),
                           (make_report, "changes_requested"), (make_assignment, "submitted"),
                           (make_assignment, "recused")]:
        assert builder(state).status == state


# --- at most one current decision per application (point 10) ------------------------------------------------------

def _second_decision(application, *, current: bool) -> Decision:
    return Decision(application_id=application.id, outcome="reserve", rank=2, total="61/3", weighted_total="61/3",
                    amount_cents=0, decided_at=clock.now() + timedelta(seconds=1), current=current)


def test_two_current_decisions_for_one_application_fail_at_flush(app, make_application):
    application = make_application(state="funded")
    assert decisions.current_decision(application) is not None
    db.session.add(_second_decision(application, current=True))
    refused_at_flush()


def test_retired_decisions_may_sit_beside_the_current_one(app, make_application):
    application = make_application(state="funded")
    db.session.add_all([_second_decision(application, current=False), _second_decision(application, current=False)])
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(Decision)
                             .where(Decision.application_id == application.id)) == 3


def test_supersede_retires_the_current_decision_and_makes_the_new_one_current(app, make_application):
    application = make_application(state="funded")
    old = decisions.current_decision(application)
    new = decisions.supersede(application, _second_decision(application, current=False))
    db.session.commit()
    rows = db.session.execute(select(Decision.id, Decision.current).where(Decision.application_id == application.id)
                              .order_by(Decision.id)).all()
    assert rows == [(old.id, False), (new.id, True)]


def test_supersede_without_a_replacement_only_retires(app, make_application):
    application = make_application(state="funded")
    decisions.supersede(application)
    db.session.commit()
    assert decisions.current_decision(application) is None
    assert decisions.supersede(application) is None  # nothing current: nothing to retire, no error
