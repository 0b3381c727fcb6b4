"""The deadline second (issue 9): 200 NGOs press "submit" at once around midnight, through the web (the test
client, one per NGO, each request in a thread with its own application context and session), on PostgreSQL.
Half submit just before the deadline, half at it or after. Those before are accepted with a receipt whose
number and SHA-256 check out; those after are refused with the reason; none is lost or doubled, the numbers are
gapless and each submission has exactly one audit event. (30 racers on both backends: tests/concurrency.)"""
from __future__ import annotations

import hashlib
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, AuditEvent, Document, Message, NumberCounter
from app.services import audit
from app.services.applications import frozen_content
from app.services.audit import canonical_json
from app.services.public import receipt_received_at
from tests.concurrency.conftest import ThreadClock, assert_linear_chains
from tests.concurrency.test_deadline_surge import _deadline_call, _moments
from tests.factories import login_as, member_of

N = 200
TIMEOUT = 90  # seconds for the whole surge: a thread still running then is a hang


@pytest.mark.parametrize("db_backend", ["postgres"])
def test_two_hundred_ngos_at_the_deadline_second(app, make_call, make_applications, clock, stub_pdfs, monkeypatch):
    from app import clock as app_clock

    call = _deadline_call(make_call, clock)
    drafts = make_applications(call, ["draft"] * N)
    closes_at, prefix, call_id = call.closes_at, call.number_prefix, call.id
    moments = _moments(closes_at, N)
    on_time = {d.id for d, m in zip(drafts, moments) if m < closes_at}
    assert len(on_time) == N // 2
    clients = []
    for draft in drafts:
        client = app.test_client()
        login_as(client, member_of(draft))
        clients.append((client, draft.id))
    db.session.commit()
    db.session.close()
    thread_clock = ThreadClock(app_clock.now)  # each racer reads its own moment
    monkeypatch.setattr(app_clock, "now", thread_clock.now)

    barrier = threading.Barrier(N)
    answers: list[tuple[int, str] | BaseException | None] = [None] * N

    def racer(index, client, application_id, moment):
        try:
            thread_clock.set(moment)
            barrier.wait(TIMEOUT)
            response = client.post(f"/apply/applications/{application_id}/submit", data={"confirmed": "1"})
            answers[index] = (response.status_code, response.headers.get("Location", ""))
        except BaseException as error:  # noqa: BLE001  reported below
            answers[index] = error

    threads = [threading.Thread(target=racer, args=(i, c, a, m), daemon=True)
               for i, ((c, a), m) in enumerate(zip(clients, moments))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not [i for i, t in enumerate(threads) if t.is_alive()], "racers still running: a deadlock?"
    assert not [a for a in answers if not isinstance(a, tuple)], [a for a in answers if not isinstance(a, tuple)]

    for (client, application_id), moment, (status, location) in zip(clients, moments, answers):
        assert status == 302, (moment, status)
        if application_id in on_time:
            assert location.endswith(f"/applications/{application_id}/receipt"), (moment, location)
        else:  # back to "check your answers", told why in Latvian, with the time and the deadline
            assert location.endswith(f"/applications/{application_id}/check"), (moment, location)
            with client.session_transaction() as session:
                flashed = [text for _category, text in session.get("_flashes", [])]
            assert any("konkursā projektu iesniegumi netiek pieņemti" in text and "Iesniegšanas termiņš bija" in text
                       for text in flashed), flashed

    monkeypatch.setattr(app_clock, "now", thread_clock._original)
    submitted = db.session.scalars(select(Application).where(Application.call_id == call_id,
                                                             Application.status == "submitted")).all()
    assert {a.id for a in submitted} == on_time  # none lost, none let in late
    numbers = Counter(a.number for a in submitted)
    assert numbers == Counter({f"{prefix}-{n:03d}": 1 for n in range(1, N // 2 + 1)})  # gapless, none twice
    assert all(a.submitted_at < closes_at for a in submitted)
    assert db.session.get(NumberCounter, call_id).last_number == N // 2
    late = db.session.scalars(select(Application).where(Application.call_id == call_id,
                                                        Application.id.notin_(on_time))).all()
    assert {(a.status, a.number, a.content_sha256) for a in late} == {("draft", None, None)}

    for application in submitted:  # the receipt's frozen context is what its PDF shows (rendered by the worker)
        recomputed = hashlib.sha256(canonical_json(frozen_content(application)).encode()).hexdigest()
        assert application.content_sha256 == recomputed
        receipt = db.session.get(Document, application.receipt_document_id)
        assert receipt.filename == f"{application.number}.pdf"
        assert (receipt.context["application"]["number"], receipt.context["application"]["sha256"]) == (
            application.number, application.content_sha256)
        assert receipt_received_at(application.number, application.content_sha256) == application.submitted_at
    receipts = db.session.scalar(select(func.count(Message.id)).where(
        Message.entity_type == "application", Message.entity_id.in_(on_time),
        Message.document_id.is_not(None)))
    assert receipts == N // 2  # one receipt message each

    submit_events = dict(db.session.execute(
        select(AuditEvent.entity_id, func.count(AuditEvent.id))
        .where(AuditEvent.entity_type == "application", AuditEvent.trigger == "submit")
        .group_by(AuditEvent.entity_id)).all())
    assert submit_events == {i: 1 for i in on_time}
    assert_linear_chains()
    assert audit.verify().ok
