"""Many submissions at the deadline second (DESIGN 2.1, 4.2, 6.2): exactly the on-time ones are submitted, with
gapless numbers and one audit event each, whatever `tick` does meanwhile and however the racers interleave."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, AuditEvent, Call, NumberCounter, User
from app.services import audit
from app.services.applications import submit
from app.services.clockwork import tick
from tests.concurrency.conftest import assert_linear_chains
from tests.factories import login_as, member_of, riga

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]

N = 30


def _deadline_call(make_call, clock):
    """An open call whose deadline is "līdz … plkst. 23:59": closes_at is the next midnight in Riga, 25 days on."""
    day = clock.to_riga(clock.now()).date() + timedelta(days=25)
    return make_call(state="open", closes_at=riga(day.year, day.month, day.day))


def _moments(closes_at, racers: int = N):
    """Half of the racers just before the deadline (23:59:59 and a millisecond before midnight), half at or after
    it (00:00:00.000 exactly and a second later), alternating."""
    early = [closes_at - timedelta(seconds=1), closes_at - timedelta(milliseconds=1)]
    late = [closes_at, closes_at + timedelta(seconds=1)]
    return [early[(i // 2) % 2] if i % 2 == 0 else late[(i // 2) % 2] for i in range(racers)]


def test_thirty_ngos_submit_at_the_deadline_second_through_the_web(app, make_call, make_applications, clock,
                                                                    thread_clock, race):
    call = _deadline_call(make_call, clock)
    drafts = make_applications(call, ["draft"] * N)
    closes_at, prefix, call_id, code = call.closes_at, call.number_prefix, call.id, call.code
    moments = _moments(closes_at)
    on_time = {d.id for d, m in zip(drafts, moments) if m < closes_at}
    assert len(on_time) == N // 2
    clients = []
    for draft in drafts:
        client = app.test_client()
        login_as(client, member_of(draft))
        clients.append((client, draft.id))

    def submitter(client, application_id, moment):
        def run():
            thread_clock.set(moment)
            # the confirmation page's button (submitting is irreversible; the page itself: test_offers.py)
            response = client.post(f"/apply/applications/{application_id}/submit", data={"confirmed": "1"})
            return response.status_code, response.headers.get("Location", "")
        return run

    def ticker():  # the clock's close, persisted by `tick` at midnight while the surge is on
        thread_clock.set(closes_at)
        return [str(m) for m in tick().moves]

    result = race(*[submitter(c, i, m) for (c, i), m in zip(clients, moments)], ticker, transactional=False)

    *responses, tick_outcome = result.outcomes
    for (_client, application_id), moment, outcome in zip(clients, moments, responses):
        status, location = outcome.value
        assert status == 302, (moment, status)
        if application_id in on_time:  # to the receipt; a late one back to "check your answers", told why
            assert location.endswith(f"/applications/{application_id}/receipt"), (moment, location)
        else:
            assert location.endswith(f"/applications/{application_id}/check"), (moment, location)
    assert tick_outcome.value == [f"call {code}: close"]
    assert db.session.get(Call, call_id).status == "closed"

    submitted = db.session.scalars(select(Application).where(Application.call_id == call_id,
                                                             Application.status == "submitted")).all()
    assert {a.id for a in submitted} == on_time
    assert sorted(a.number for a in submitted) == [f"{prefix}-{n:03d}" for n in range(1, N // 2 + 1)]
    assert all(a.submitted_at < closes_at for a in submitted)
    assert db.session.get(NumberCounter, call_id).last_number == N // 2
    late = db.session.scalars(select(Application).where(Application.call_id == call_id,
                                                        Application.id.notin_(on_time))).all()
    assert {a.status for a in late} == {"draft"} and all(a.number is None for a in late)

    submit_events = dict(db.session.execute(
        select(AuditEvent.entity_id, func.count(AuditEvent.id))
        .where(AuditEvent.entity_type == "application", AuditEvent.trigger == "submit")
        .group_by(AuditEvent.entity_id)).all())
    assert submit_events == {i: 1 for i in on_time}
    closes = db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.entity_type == "call", AuditEvent.entity_id == call_id, AuditEvent.trigger == "close"))
    assert closes == 1
    assert_linear_chains()
    assert audit.verify().ok


def test_one_ngo_with_two_drafts_at_once_gets_one_submission_under_a_limit_of_one(app, make_call, make_applications,
                                                                                   make_organisation, race):
    """The per-organisation limit holds under a race: the organisation's row lock serialises its submissions."""
    call = make_call(state="open")
    organisation = make_organisation()
    first, second = make_applications(call, ["draft", "draft"], organisation=organisation)
    member_id = member_of(first).id
    ids = [first.id, second.id]

    def submitter(application_id):
        def run():
            return submit(db.session.get(Application, application_id), db.session.get(User, member_id)).id
        return run

    result = race(*[submitter(i) for i in ids])

    assert len(result.winners) == 1 and len(result.refused) == 1
    assert "(1)" in result.refused[0].refused.message  # "… the most allowed (1)", in Latvian by default
    statuses = sorted(db.session.scalars(select(Application.status).where(Application.id.in_(ids))))
    assert statuses == ["draft", "submitted"]
    assert audit.verify().ok
