"""The SMTP server down while letters are due (issue 9): nothing is lost, every letter is tried again after a
backoff (1, 2, 4 … minutes, at most an hour, eight tries), a letter that ran out of tries is marked failed and the
admin sends it again from the outbox, and when the server is back each letter arrives exactly once (counted at a
real aiosmtpd server, by Message-ID). Time moves through app.clock; nothing sleeps."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Job, Message
from app.services import jobs
from tests.conftest import Mailbox, _free_port
from tests.factories import admin_of, login_as, make_user, member_of

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]

# the waits after the 1st … 7th failed try, written out (not computed by jobs.backoff)
WAITS = [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60)]


class LaterServer:
    """A port where nothing listens (the server is down) until `start()` brings a real aiosmtpd server up on it."""

    def __init__(self, port: int):
        self.port, self.mailbox, self._controller, self._loop = port, Mailbox(), None, None

    def start(self) -> Mailbox:
        from aiosmtpd.controller import Controller

        self._loop = asyncio.new_event_loop()
        self._controller = Controller(self.mailbox, loop=self._loop, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self.mailbox

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._loop.close()

    def message_ids(self) -> Counter:
        return Counter(r.message["Message-ID"] for r in self.mailbox.received)


@pytest.fixture
def server_down(app):
    server = LaterServer(_free_port())
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    try:
        yield server
    finally:
        server.stop()
        app.config.update(MAIL_SERVER="", MAIL_PORT=25)


def _drain(passes: int = 12) -> int:
    """The worker's loop coming round `passes` times at this moment (a pass ends at its first failed try, and the
    next pass goes on with the other due jobs). Returns how many jobs were done."""
    return sum(jobs.run_pending() for _pass in range(passes))


def _email_jobs(message_ids) -> dict[int, Job]:
    """Each message's latest e-mail job."""
    found = {}
    for job in db.session.scalars(select(Job).where(Job.kind == "email", Job.target_id.in_(message_ids))
                                  .order_by(Job.id)):
        found[job.target_id] = job
    return found


def _outbox(client, lang: str) -> str:
    with client.session_transaction() as session:
        session["lang"] = lang
    response = client.get("/admin/messages")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_letters_wait_out_the_outage_fail_after_eight_tries_and_arrive_once_when_sent_again(
        app, make_call, make_applications, clock, server_down, client):
    start = clock.now().replace(microsecond=0)
    clock.travel_to(start)
    call = make_call(state="open")
    applications = make_applications(call, ["submitted"] * 3)
    members = {member_of(a).email for a in applications}
    letters = db.session.scalars(select(Message).where(Message.delivery == "pending").order_by(Message.id)).all()
    letter_ids = [m.id for m in letters]
    assert {m.recipient for m in letters} == members and len(letters) == 3  # the three receipts

    _drain()  # the first try of each fails: the server is down

    tries = _email_jobs(letter_ids)
    assert {(j.status, j.attempts, j.next_attempt_at) for j in tries.values()} == {
        ("pending", 1, start + timedelta(minutes=1))}
    assert all("refused" in j.error.lower() or "connect" in j.error.lower() for j in tries.values())
    assert {m.delivery for m in db.session.scalars(select(Message).where(Message.id.in_(letter_ids)))} == {"pending"}
    admin = admin_of(call)
    login_as(client, admin)
    page = _outbox(client, "lv")
    assert page.count("Sūtīšanu atkārto: 1. mēģinājums no 8 neizdevās") == 3
    assert "Sūtīšanu atkārto: 3" in page
    assert _outbox(client, "en").count("Retrying: try 1 of 8 failed") == 3

    clock.travel_to(start + timedelta(seconds=59))  # before the backoff is over nothing is tried
    assert _drain() == 0
    assert {j.attempts for j in _email_jobs(letter_ids).values()} == {1}

    moment = start
    for number, wait in enumerate(WAITS, start=2):
        moment += wait
        clock.travel_to(moment)
        _drain()
        tries = _email_jobs(letter_ids)
        assert {j.attempts for j in tries.values()} == {number}, (number, wait)
        if number < jobs.MAX_ATTEMPTS:
            assert {j.next_attempt_at - moment for j in tries.values()} == {WAITS[number - 1]}
    assert {j.status for j in tries.values()} == {"failed"}
    assert {m.delivery for m in db.session.scalars(select(Message).where(Message.id.in_(letter_ids)))} == {"failed"}
    clock.travel_to(moment + timedelta(days=1))
    assert _drain() == 0  # a failed letter is not tried again by itself
    page = _outbox(client, "lv")
    assert page.count("Neizdevās nosūtīt pēc 8 mēģinājumiem.") == 3 and "Neizdevās nosūtīt: 3" in page
    assert page.count("Sūtīt vēlreiz") == 3
    assert _outbox(client, "en").count("Could not be sent after 8 tries.") == 3

    other_admin = make_user("admin")  # another municipality's admin sees none of it and cannot send it
    other = app.test_client()
    login_as(other, other_admin)
    assert "Neizdevās nosūtīt: 0" in _outbox(other, "lv")
    assert other.post(f"/admin/messages/{letter_ids[0]}/send-again").status_code == 404

    mailbox = server_down.start()  # the server is back
    for letter_id in letter_ids:
        response = client.post(f"/admin/messages/{letter_id}/send-again")
        assert response.status_code == 302
    assert client.post(f"/admin/messages/{letter_ids[0]}/send-again").status_code == 302  # twice: refused
    assert len(db.session.scalars(select(Job).where(Job.kind == "email", Job.target_id == letter_ids[0])).all()) == 2
    _drain()
    clock.travel_to(moment + timedelta(days=2))
    _drain()

    expected_ids = {f"<message-{m.id}.{m.created_at:%Y%m%d%H%M%S}@localhost>" for m in letters}
    assert server_down.message_ids() == Counter({i: 1 for i in expected_ids})
    assert sorted(r.rcpt_tos[0] for r in mailbox.received) == sorted(members)
    assert {m.delivery for m in db.session.scalars(select(Message).where(Message.id.in_(letter_ids)))} == {"sent"}
    assert _outbox(client, "lv").count("Nosūtīts ") >= 3


def test_letters_arrive_once_when_the_server_returns_during_the_backoff(app, make_call, make_applications, clock,
                                                                        server_down):
    start = clock.now().replace(microsecond=0)
    clock.travel_to(start)
    call = make_call(state="open")
    make_applications(call, ["submitted"] * 4)
    letters = db.session.scalars(select(Message).where(Message.delivery == "pending")).all()
    letter_ids = [m.id for m in letters]
    _drain()
    clock.travel_to(start + timedelta(minutes=1))
    _drain()  # two tries each, both failed
    assert {j.attempts for j in _email_jobs(letter_ids).values()} == {2}

    server_down.start()
    clock.travel_to(start + timedelta(minutes=2))  # the 3rd try is not due yet (1 + 2 minutes)
    assert _drain() == 0 and server_down.mailbox.received == []
    clock.travel_to(start + timedelta(minutes=3))
    assert _drain() == len(letter_ids)
    for hours in (1, 5, 24):  # later passes send nothing again
        clock.travel_to(start + timedelta(hours=hours))
        assert _drain() == 0

    expected_ids = {f"<message-{m.id}.{m.created_at:%Y%m%d%H%M%S}@localhost>" for m in letters}
    assert server_down.message_ids() == Counter({i: 1 for i in expected_ids})
    assert {(j.status, j.attempts) for j in _email_jobs(letter_ids).values()} == {("done", 3)}


class WorkerKilled(BaseException):
    """The worker process dies here (a BaseException: nothing in the worker catches it)."""


def test_a_letter_whose_worker_died_after_sending_is_not_sent_again(app, make_call, make_applications, clock,
                                                                     server_down, monkeypatch):
    start = clock.now().replace(microsecond=0)
    clock.travel_to(start)
    make_applications(make_call(state="open"), ["submitted"])
    (letter,) = db.session.scalars(select(Message).where(Message.delivery == "pending")).all()
    letter_id = letter.id
    server_down.start()
    settle = jobs._settle

    def die_before_stamping_the_email_done(job_id, token, error=None):
        if db.session.get(Job, job_id).kind == "email":
            db.session.rollback()
            raise WorkerKilled()
        return settle(job_id, token, error)

    monkeypatch.setattr(jobs, "_settle", die_before_stamping_the_email_done)
    with pytest.raises(WorkerKilled):
        _drain()
    monkeypatch.setattr(jobs, "_settle", settle)
    db.session.rollback()
    (job,) = _email_jobs([letter_id]).values()
    assert (job.status, job.leased_until) == ("running", start + jobs.LEASE)

    clock.travel_to(start + jobs.LEASE - timedelta(seconds=1))  # still its worker's
    assert _drain() == 0
    clock.travel_to(start + jobs.LEASE + timedelta(seconds=1))  # the lease ran out: another worker takes it
    assert _drain() == 1

    assert len(server_down.mailbox.received) == 1
    (job,) = _email_jobs([letter_id]).values()
    assert (job.status, job.attempts) == ("done", 2)
