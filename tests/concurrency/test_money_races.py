"""Two admins at once on the money (DESIGN 4.2 locks, 6.2): publishing the results, promoting from the reserve.
The call is locked first, then its applications in id order, so one wins, the other is refused, nothing deadlocks,
and the budget is never exceeded."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, AuditEvent, Call, Decision, Document, User
from app.services import audit
from app.services.calls import awarded_total
from app.services.decisions import reserve_in_rank_order
from app.services.workflow import fire
from tests.concurrency.conftest import assert_linear_chains
from tests.factories import _fire, admin_of, make_organiser_admin, member_of
from workflows.engine import NotAvailable

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def _events(trigger: str, entity_type: str | None = None) -> int:
    query = select(func.count(AuditEvent.id)).where(AuditEvent.trigger == trigger)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    return db.session.scalar(query)


def _firing(model, entity_id: int, trigger: str, actor_id: int, note: str | None = None):
    def run():
        return fire(db.session.get(model, entity_id), trigger, db.session.get(User, actor_id), note).id
    return run


def test_two_admins_publish_at_once_one_publication_decisions_once_within_budget(app, make_call, make_applications,
                                                                                  race):
    call = make_call(state="announced", when="past", projects=3)
    applications = make_applications(call, ["reviewed"] * 5, scores=[9, 8, 7, 7, 3])
    first, second = admin_of(call), make_organiser_admin(call.organiser)
    _fire(call, "confirm_ranking", first)
    call_id, budget, ids = call.id, call.budget_cents, [a.id for a in applications]
    first_id, second_id = first.id, second.id

    result = race(_firing(Call, call_id, "publish_results", first_id),
                  _firing(Call, call_id, "publish_results", second_id))

    assert len(result.winners) == 1
    assert len(result.refused) == 1 and isinstance(result.refused[0].refused, NotAvailable)
    assert db.session.get(Call, call_id).status == "awarded"
    assert _events("publish_results", "call") == 1
    decisions = db.session.scalars(select(Decision).where(Decision.application_id.in_(ids))).all()
    assert sorted(d.application_id for d in decisions) == sorted(ids)  # one decision each, not two
    funded = [d for d in decisions if d.outcome == "funded"]
    assert len(funded) == 3 and sum(d.amount_cents for d in funded) <= budget
    assert awarded_total(db.session.get(Call, call_id)) <= budget
    statuses = sorted(db.session.scalars(select(Application.status).where(Application.id.in_(ids))))
    assert statuses == ["funded", "funded", "funded", "rejected", "reserve"]
    for trigger in ("fund", "reserve", "reject"):  # one move per application, caused by the one publication
        assert _events(trigger, "application") == statuses.count({"fund": "funded", "reserve": "reserve",
                                                                   "reject": "rejected"}[trigger])
    letters = db.session.scalar(select(func.count(Document.id)).where(
        Document.kind == "letter", Document.entity_type == "application", Document.entity_id.in_(ids)))
    assert letters == 5
    assert_linear_chains()
    assert audit.verify().ok


@pytest.mark.parametrize("targets", ["same", "next"])
def test_two_admins_promote_at_once_with_money_for_one_promotes_one(app, make_call, make_applications, race,
                                                                    targets):
    """Two funded, two on the reserve list; one funded NGO declines, which frees exactly one lump sum. Both admins
    press "promote" at once: on the same (first) reserve, or each on a different one. Exactly the first in rank
    order is promoted; the other press is refused (already moved, not next in line, or no money left)."""
    call = make_call(state="announced", when="past", projects=2)
    funded_a, _funded_b, reserve_1, reserve_2 = make_applications(call, ["funded", "funded", "reserve", "reserve"],
                                                                  scores=[9, 9, 8, 7])
    _fire(funded_a, "decline", member_of(funded_a))
    assert [a.id for a in reserve_in_rank_order(call)] == [reserve_1.id, reserve_2.id]
    first, second = admin_of(call), make_organiser_admin(call.organiser)
    call_id, budget = call.id, call.budget_cents
    assert awarded_total(call) == budget - call.amount_cents
    other = reserve_1.id if targets == "same" else reserve_2.id
    ids = (reserve_1.id, reserve_2.id)
    first_id, second_id = first.id, second.id

    result = race(_firing(Application, reserve_1.id, "promote", first_id, "Atbrīvojās finansējums."),
                  _firing(Application, other, "promote", second_id, "Atbrīvojās finansējums."))

    assert len(result.winners) == 1 and len(result.refused) == 1, result.outcomes
    if targets == "same":  # the loser waited for the lock and then saw the row as the winner left it
        assert isinstance(result.refused[0].refused, NotAvailable), result.outcomes
    assert _events("promote", "application") == 1
    assert db.session.get(Application, ids[0]).status == "funded"
    assert db.session.get(Application, ids[1]).status == "reserve"
    assert awarded_total(db.session.get(Call, call_id)) == budget
    current_funded = db.session.scalar(select(func.count(Decision.id)).where(
        Decision.application_id == ids[0], Decision.current, Decision.outcome == "funded"))
    assert current_funded == 1
    assert_linear_chains()
    assert audit.verify().ok


def test_a_decline_and_a_promotion_at_once_never_spend_money_twice(app, make_call, make_applications, race):
    """The budget is full; a funded NGO declines while an admin promotes the first reserve: the promotion passes
    only if it sees the money freed, so the awarded total never exceeds the budget, whichever order they take."""
    call = make_call(state="announced", when="past", projects=1)
    funded, reserve = make_applications(call, ["funded", "reserve"], scores=[9, 8])
    admin_id, member_id, call_id, budget = admin_of(call).id, member_of(funded).id, call.id, call.budget_cents
    funded_id, reserve_id = funded.id, reserve.id

    result = race(_firing(Application, funded_id, "decline", member_id),
                  _firing(Application, reserve_id, "promote", admin_id, "Atbrīvojās finansējums."))

    assert result.outcomes[0].ok  # the decline always passes
    promoted = result.outcomes[1].ok
    assert db.session.get(Application, reserve_id).status == ("funded" if promoted else "reserve")
    assert awarded_total(db.session.get(Call, call_id)) == (budget if promoted else 0)
    assert awarded_total(db.session.get(Call, call_id)) <= budget
    assert_linear_chains()
    assert audit.verify().ok
