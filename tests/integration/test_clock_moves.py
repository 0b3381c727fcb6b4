"""The clock moves a call: reads derive the state and never write; `tick` and writes persist it exactly once; the
deadline is exclusive to the second, in Riga time."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from app import formatting
from app.errors import Refused
from app.extensions import db
from app.models import AuditEvent, Call
from app.services import applications
from app.services.workflow import catch_up, effective_status, fire
from tests.factories import admin_of, member_of, riga

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def clock_events(call) -> list[tuple[str, str, str, int | None]]:
    return [(e.trigger, e.from_state, e.to_state, e.actor_id) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "call", AuditEvent.entity_id == call.id,
                                 AuditEvent.trigger.in_(("open", "close"))).order_by(AuditEvent.id))]


def snapshot() -> dict:
    """Every table's row count and the stored state of every call: what a read must leave alone."""
    counts = {table.name: db.session.scalar(select(func.count()).select_from(table))
              for table in db.metadata.sorted_tables}
    return {"counts": counts, "calls": db.session.execute(select(Call.id, Call.status).order_by(Call.id)).all()}


def test_a_get_shows_the_call_open_and_writes_nothing(app, client, clock, make_call):
    call = make_call(state="announced")
    clock.travel_to(call.opens_at + timedelta(hours=1))
    before = snapshot()

    page = client.get(f"/calls/{call.code}")
    listing = client.get("/")

    assert page.status_code == 200 and listing.status_code == 200
    assert "Atvērts pieteikšanās" in page.get_data(as_text=True)  # the open state's Latvian label
    assert call.code in listing.get_data(as_text=True)
    db.session.expire_all()
    assert snapshot() == before
    assert call.status == "announced" and effective_status(call) == "open"


def test_a_get_after_the_deadline_shows_it_closed_and_writes_nothing(app, client, make_call):
    call = make_call(state="announced", when="past")
    before = snapshot()

    page = client.get(f"/calls/{call.code}")

    assert page.status_code == 200
    assert "Pieteikšanās slēgta" in page.get_data(as_text=True)
    db.session.expire_all()
    assert snapshot() == before


def test_tick_persists_open_and_close_exactly_once(app, runner, clock, make_call):
    call = make_call(state="announced")

    clock.travel_to(call.opens_at)
    first = runner.invoke(args=["tick"])
    assert f"call {call.code}: open" in first.output
    db.session.expire_all()
    assert call.status == "open"

    clock.travel_to(call.closes_at)
    second = runner.invoke(args=["tick"])
    third = runner.invoke(args=["tick"])
    assert f"call {call.code}: close" in second.output
    assert call.code not in third.output
    db.session.expire_all()
    assert call.status == "closed"
    assert clock_events(call) == [("open", "announced", "open", None), ("close", "open", "closed", None)]


def test_one_tick_makes_both_moves_when_both_are_due(app, runner, make_call):
    call = make_call(state="announced", when="past")
    runner.invoke(args=["tick"])
    runner.invoke(args=["tick"])
    db.session.expire_all()
    assert call.status == "closed"
    assert [e[0] for e in clock_events(call)] == ["open", "close"]


def test_a_write_to_the_call_persists_the_due_move_first(app, clock, make_call):
    call = make_call(state="announced")
    clock.travel_to(call.opens_at + timedelta(days=1))

    fire(call, "extend_deadline", admin_of(call), "Serveris nestrādāja.", closes_at=call.closes_at + timedelta(days=3))
    db.session.commit()

    triggers = db.session.scalars(select(AuditEvent.trigger).where(
        AuditEvent.entity_type == "call", AuditEvent.entity_id == call.id).order_by(AuditEvent.id)).all()
    assert triggers[-2:] == ["open", "extend_deadline"]
    assert call.status == "open"


def test_a_writer_holding_a_stale_state_records_nothing(app, runner, make_call):
    """The conditional update (… WHERE status = 'announced'): whoever comes second finds the move made."""
    call = make_call(state="announced", when="past")
    runner.invoke(args=["tick"])  # another process moved it
    set_committed_value(call, "status", "announced")  # what this session still believes

    assert catch_up(call) == []
    db.session.commit()
    assert call.status == "closed"
    assert [e[0] for e in clock_events(call)] == ["open", "close"]


# --- the deadline rule -------------------------------------------------------------------------------------------

@pytest.fixture
def pumpurs_2022(app, clock, make_call, make_application):
    """The 2022 call: open from 01.03.2022, "līdz 04.04.2022. plkst. 23:59" stored as 05.04.2022 00:00 Riga;
    two drafts ready to submit."""
    clock.travel_to(riga(2022, 2, 20, 9))
    call = make_call(state="announced", opens_at=riga(2022, 3, 1), closes_at=riga(2022, 4, 5))
    assert call.closes_at.isoformat() == "2022-04-04T21:00:00+00:00"
    return call, make_application(call, "draft"), make_application(call, "draft")


def test_submit_one_second_before_the_deadline_passes(pumpurs_2022, clock):
    _call, draft, _other = pumpurs_2022
    clock.travel_to(riga(2022, 4, 4, 23, 59, 59))

    applications.submit(draft, member_of(draft))
    db.session.commit()

    assert draft.status == "submitted"
    assert draft.submitted_at == riga(2022, 4, 4, 23, 59, 59)


def test_submit_at_the_deadline_is_refused_whatever_has_ticked(pumpurs_2022, clock):
    call, _draft, late = pumpurs_2022
    clock.travel_to(riga(2022, 4, 5))
    assert call.status == "announced", "nothing has ticked: the stored state still says announced"

    with force_locale("en"), pytest.raises(Refused) as refused:
        applications.submit(late, member_of(late))
    db.session.rollback()

    now, deadline = formatting.moment(riga(2022, 4, 5), "en"), formatting.deadline(call.closes_at, "en")
    assert "05.04.2022" in now and "00:00:00" in now
    assert "04.04.2022" in deadline and "23:59" in deadline  # the minute people were told, not the stored 00:00
    assert refused.value.message == (f"The call is not accepting applications at {now} (Riga time). "
                                     f"The deadline was {deadline}.")
    db.session.expire_all()
    assert (late.status, late.number, late.submitted_at) == ("draft", None, None)


def test_submit_before_the_call_opens_is_refused(pumpurs_2022, clock):
    _call, draft, _other = pumpurs_2022
    clock.travel_to(riga(2022, 2, 28, 23, 59, 59))
    with pytest.raises(Refused):
        applications.submit(draft, member_of(draft))
    db.session.rollback()
