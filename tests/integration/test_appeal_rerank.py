"""An appeal upheld on scoring grounds: reviews reopen, the application is reviewed again and an admin re-ranks it."""
from flask_babel import gettext
from sqlalchemy import select

from app.formatting import money

from app.extensions import db
from app.models import Assignment, AuditEvent, Decision
from app.services import decisions, evaluation
from app.services.workflow import fire
from tests.factories import admin_of, make_organiser_admin, member_of


def _admin_who_did_not_evaluate(call):
    return make_organiser_admin(call.organiser)


def test_upheld_scoring_appeal_is_rereviewed_and_funded_within_the_budget(app, make_call, make_applications):
    call = make_call(state="announced", when="past", projects=2)
    funded, appealed = make_applications(call, ["funded", "appealed"], appeal_from="rejected")
    assert appealed.status == "appealed"
    admin = _admin_who_did_not_evaluate(call)

    fire(appealed, "uphold_appeal", admin, "Vērtētāji nepamatoti novērtēja 2. kritēriju.")
    db.session.commit()
    assert appealed.status == "in_review"
    reviews = db.session.scalars(select(Assignment).where(Assignment.application_id == appealed.id)).all()
    assert {r.status for r in reviews} == {"accepted"}  # reopened for the evaluators
    assert decisions.current_decision(appealed) is None  # the old result no longer stands

    for review in reviews:
        scores = {c.id: (c.max_half_points, "Pārskatīts pēc apstrīdēšanas.") for c in call.criteria}
        evaluation.save_scores(review, review.evaluator, scores)
        fire(review, "submit_review", review.evaluator)
        db.session.commit()
    assert appealed.status == "reviewed"  # the last resubmitted review completed it (the call is past evaluation)

    refused_without_reason = None
    try:
        fire(appealed, "fund", admin)
    except Exception as error:  # noqa: BLE001 - the guard's message is what we check
        refused_without_reason = getattr(error, "message", str(error))
        db.session.rollback()
    assert refused_without_reason == gettext("Write the justification: it goes into the audit trail.")

    fire(appealed, "fund", admin, "Apmierināts apstrīdējums; budžetā ir brīvi līdzekļi.")
    db.session.commit()
    decision = decisions.current_decision(appealed)
    assert appealed.status == "funded" and decision.outcome == "funded"
    assert decision.amount_cents == call.amount_cents
    assert decision.override_justification.startswith("Apmierināts")
    assert appealed.offer_deadline is not None
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "application",
                                                        AuditEvent.entity_id == appealed.id)
                               .order_by(AuditEvent.id.desc())).first()
    assert (event.trigger, event.to_state, event.actor_id) == ("fund", "funded", admin.id)
    assert db.session.scalar(select(db.func.count(Decision.id)).where(
        Decision.application_id == appealed.id, Decision.current)) == 1
    assert member_of(appealed) is not None and admin_of(call) is not None


def test_admin_fund_is_refused_when_the_budget_is_spent(app, make_call, make_applications):
    call = make_call(state="announced", when="past", projects=1)
    funded, appealed = make_applications(call, ["funded", "appealed"], appeal_from="rejected")
    admin = _admin_who_did_not_evaluate(call)
    fire(appealed, "uphold_appeal", admin, "Pamatots.")
    for review in db.session.scalars(select(Assignment).where(Assignment.application_id == appealed.id)).all():
        fire(review, "submit_review", review.evaluator)
    db.session.commit()
    assert appealed.status == "reviewed"
    try:
        fire(appealed, "fund", admin, "Mēģinājums.")
    except Exception as error:  # noqa: BLE001
        message = getattr(error, "message", "")
        db.session.rollback()
    else:
        raise AssertionError("funding beyond the budget was allowed")
    assert message == gettext("Not enough money is free: %(free)s remains.", free=money(0))
    assert appealed.status == "reviewed"
    fire(appealed, "reserve", admin, "Nav brīvu līdzekļu; rezervē.")
    db.session.commit()
    assert appealed.status == "reserve" and decisions.current_decision(appealed).outcome == "reserve"
