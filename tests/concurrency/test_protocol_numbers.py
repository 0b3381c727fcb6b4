"""Two admins confirm the ranking of one call at once (issue 7): both protocols are stored, numbered 1 and 2 within
the call, never the same number twice; another call's protocols do not move its numbering."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Call, RankingProtocol, User
from app.services.workflow import fire
from tests.factories import _fire, admin_of, make_organiser_admin

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def _confirming(call_id: int, actor_id: int):
    def run():
        return fire(db.session.get(Call, call_id), "confirm_ranking", db.session.get(User, actor_id)).id
    return run


def test_two_confirmations_at_once_take_numbers_one_after_the_other(app, make_call, make_applications, race):
    other = make_call(state="announced", when="past", projects=1)
    make_applications(other, ["reviewed"])
    _fire(other, "confirm_ranking", admin_of(other))  # another call's protocol exists first
    call = make_call(state="announced", when="past", projects=1)
    make_applications(call, ["reviewed", "reviewed"])
    first, second = admin_of(call), make_organiser_admin(call.organiser)
    call_id, first_id, second_id = call.id, first.id, second.id

    result = race(_confirming(call_id, first_id), _confirming(call_id, second_id))

    assert len(result.winners) == 2  # confirming twice is allowed: each is a protocol of its own
    numbers = db.session.scalars(select(RankingProtocol.number).where(RankingProtocol.call_id == call_id)
                                 .order_by(RankingProtocol.number)).all()
    assert numbers == [1, 2]
    confirmed_by = set(db.session.scalars(select(RankingProtocol.confirmed_by)
                                          .where(RankingProtocol.call_id == call_id)))
    assert confirmed_by == {first_id, second_id}
