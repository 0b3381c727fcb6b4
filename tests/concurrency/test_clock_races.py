"""`tick` against writers (DESIGN 2.1, 4.2): a due clock move is recorded exactly once whoever persists it, and a
checkpoint sealed while other transactions are still writing never seals a picture that their commit then
contradicts."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, AuditCheckpoint, AuditEvent, Call, User
from app.services import applications as application_service
from app.services import audit
from app.services.clockwork import tick
from app.services.workflow import fire
from tests.concurrency.conftest import assert_linear_chains
from tests.factories import admin_of, make_organiser_admin

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def _clock_events(call_id: int, trigger: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "call", AuditEvent.entity_id == call_id, AuditEvent.trigger == trigger)).all()


def test_ticks_and_writes_racing_on_a_due_opening_record_it_once(app, make_call, clock, race):
    """Announced, and its opening time has just passed: two `tick`s and two admins extending the deadline (a
    write that touches the call, so it catches the call up first) all at once → exactly one `open` event, by the
    system, and the chain and the checkpoints verify."""
    call = make_call(state="announced")
    clock.travel_to(call.opens_at + timedelta(seconds=1))
    call_id, closes_at = call.id, call.closes_at
    admins = [admin_of(call).id, make_organiser_admin(call.organiser).id]

    def ticker():
        return tick().moves

    def extender(admin_id, days):
        def run():
            return fire(db.session.get(Call, call_id), "extend_deadline", db.session.get(User, admin_id),
                        "Papildu laiks.", closes_at=closes_at + timedelta(days=days)).id
        return run

    result = race(ticker, extender(admins[0], 1), ticker, extender(admins[1], 2))

    opens = _clock_events(call_id, "open")
    assert len(opens) == 1 and opens[0].actor_id is None and opens[0].from_state == "announced"
    assert db.session.get(Call, call_id).status == "open"
    ticks_that_opened = [o for o in (result.outcomes[0], result.outcomes[2]) if o.value]
    assert len(ticks_that_opened) <= 1
    assert len(_clock_events(call_id, "extend_deadline")) == len([o for o in result.outcomes[1::2] if o.ok]) >= 1
    assert_linear_chains()
    verdict = audit.verify()
    assert verdict.ok, verdict.problem


def test_two_ticks_at_once_seal_one_line_of_checkpoints(app, make_call, make_application, race):
    make_application(make_call(state="open"), state="submitted")

    result = race(lambda: tick().checkpoint, lambda: tick().checkpoint)

    sealed = [o.value for o in result.outcomes if o.value]
    assert len(sealed) == 1  # the second saw nothing new since the first seal
    assert db.session.scalar(select(func.count(AuditCheckpoint.id))) == 1
    verdict = audit.verify()
    assert verdict.ok, verdict.problem


def test_a_checkpoint_sealed_while_an_older_event_is_uncommitted_still_verifies(app, make_call, make_applications,
                                                                                race):
    """Event ids are handed out at insert, not at commit: writer A inserts event n and is still busy when writer B
    inserts n+1 and commits. A `tick` sealing now must not seal heads without n — A's commit would then make the
    sealed checkpoint look tampered with. (On SQLite BEGIN IMMEDIATE serialises A, B and tick anyway.)"""
    call = make_call(state="announced", when="past")
    first, second = make_applications(call, ["submitted", "submitted"])
    admin_id, first_id, second_id = admin_of(call).id, first.id, second.id
    due = call.closes_at + timedelta(days=60)
    a_inserted, b_done, tick_started = threading.Event(), threading.Event(), threading.Event()

    def clarification(application_id):
        return application_service.request_clarification(
            db.session.get(Application, application_id), db.session.get(User, admin_id), "Precizējiet.", due)

    def writer_a():
        clarification(first_id)
        a_inserted.set()
        tick_started.wait(1)  # on SQLite B and tick wait for A's write lock: the timeout lets A go on
        threading.Event().wait(0.5)  # still busy after the tick began
        db.session.commit()

    def writer_b():
        a_inserted.wait(5)
        clarification(second_id)
        db.session.commit()
        b_done.set()

    def ticker():
        b_done.wait(5)
        tick_started.set()
        return tick().checkpoint

    result = race(writer_a, writer_b, ticker, transactional=False)

    assert result.outcomes[2].value is not None
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.trigger == "request_clarification")).all()
    assert len(events) == 2
    verdict = audit.verify()
    assert verdict.ok, verdict.problem
