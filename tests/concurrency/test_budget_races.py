"""Two members of one NGO save the same draft's budget table at the same moment (issue 6): one save wins whole,
the other is refused as stale (it is told), and the stored lines are exactly the winner's, never a mix."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Application, User
from app.services import budget
from app.services.budget import LineInput
from tests.factories import make_user, member_of
from tests.security.test_bad_input import _lv

pytestmark = pytest.mark.postgres

PLANS = {
    "first": [LineInput("staff", "Vadītājs", "10", "100,00"), LineInput("materials", "Krāsas", "4", "25")],
    "second": [LineInput("materials", "Cits plāns", "1", "1 500,00")],
}


def _saving(application_id: int, member_id: int, plan: str, version: int):
    def run():
        application = db.session.get(Application, application_id)
        budget.save(application, db.session.get(User, member_id), PLANS[plan], version)
        return plan
    return run


def test_two_members_save_the_budget_at_once_one_wins_whole(app, make_call, make_application, race):
    application = make_application(make_call("open", "budgeted"), "draft")
    colleague = make_user("applicant", organisation=application.organisation)
    ids = (application.id, member_of(application).id, colleague.id, application.version)
    app_id, first_id, second_id, version = ids

    result = race(_saving(app_id, first_id, "first", version), _saving(app_id, second_id, "second", version))

    assert len(result.winners) == 1 and len(result.refused) == 1
    assert result.refused[0].refused.message == _lv(
        "Someone else saved this application meanwhile. Reload the page and enter your changes again.")
    winner = result.winners[0].value
    stored = db.session.get(Application, app_id)
    expected = {"first": [("staff", 10, 10_000), ("materials", 4, 2_500)], "second": [("materials", 1, 150_000)]}
    assert [(b.category, b.quantity, b.unit_cost_cents) for b in stored.budget_lines] == expected[winner]
    assert stored.amount_cents == {"first": 110_000, "second": 150_000}[winner]
    assert stored.version == version + 1
