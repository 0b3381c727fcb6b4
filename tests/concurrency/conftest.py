"""Helpers for the concurrency suite: run callables at once from threads, each in an application context and
database session of its own (as separate requests on a threaded server would), and a per-thread clock.

Every test here is marked `postgres` by its module, so it runs on SQLite and, with TEST_DATABASE_URL set, on
PostgreSQL too (see the root conftest's `db_backend`).

Rules that keep SQLite honest: the test's own session must hold no transaction while the threads run (its
BEGIN IMMEDIATE would hold the write lock and starve them), so `race()` commits it first and the threads touch the
database only after the barrier; read ids and values into plain variables before racing.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from app import clock as app_clock
from app.errors import NotAllowed, Refused
from app.extensions import db
from app.models import AuditEvent
from workflows.engine import NotAvailable

REFUSALS = (Refused, NotAvailable, NotAllowed)
RACE_TIMEOUT = 15  # seconds: a thread still running then is a hang (a deadlock), and the test fails


@dataclass
class Outcome:
    """What one racer ended with: its return value, or the refusal (409/403/guard) it got."""

    value: object = None
    refused: Exception | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.refused is None and self.error is None


@dataclass
class Race:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def winners(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.refused is not None]


def _commit_or_rollback(function):
    """Run one racer's transaction: commit on success, roll back and report a refusal."""
    try:
        value = function()
        db.session.commit()
        return Outcome(value=value)
    except REFUSALS as refusal:
        db.session.rollback()
        return Outcome(refused=refusal)


@pytest.fixture
def race(app):
    """`race(f, g, ...)`: call every function at the same moment, each in a thread with its own application
    context and session, as one transaction (committed; rolled back on a refusal). Any other exception, or a
    thread still running after RACE_TIMEOUT seconds, fails the test. Returns a Race of Outcomes in order."""

    def run(*functions, transactional: bool = True) -> Race:
        if db.session().in_transaction():
            db.session.commit()
        db.session.close()
        barrier = threading.Barrier(len(functions))
        outcomes: list[Outcome | None] = [None] * len(functions)

        def worker(index, function):
            try:
                with app.app_context():
                    barrier.wait(RACE_TIMEOUT)
                    try:
                        outcomes[index] = _commit_or_rollback(function) if transactional else Outcome(function())
                    finally:
                        db.session.remove()
            except BaseException as error:  # noqa: BLE001  reported below, never left to the thread hook
                outcomes[index] = Outcome(error=error)

        threads = [threading.Thread(target=worker, args=(i, f), daemon=True) for i, f in enumerate(functions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(RACE_TIMEOUT + 5)
        hung = [i for i, t in enumerate(threads) if t.is_alive()]
        assert not hung, f"racers {hung} still running after {RACE_TIMEOUT + 5} s: a deadlock or a lost wake-up"
        errors = [(i, o.error) for i, o in enumerate(outcomes) if o.error is not None]
        assert not errors, f"racers failed with unexpected errors: {errors!r}"
        db.session.expire_all()
        return Race(list(outcomes))

    return run


class ThreadClock:
    """The app clock, but each thread may set its own `now` (app.clock is process-global: this lets racers at the
    deadline second read different times at once). Threads that set nothing read the global clock."""

    def __init__(self, original):
        self._local = threading.local()
        self._original = original

    def now(self):
        moment = getattr(self._local, "moment", None)
        return moment if moment is not None else self._original()

    def set(self, moment) -> None:
        self._local.moment = moment


@pytest.fixture
def thread_clock(monkeypatch):
    clock = ThreadClock(app_clock.now)
    monkeypatch.setattr(app_clock, "now", clock.now)
    return clock


def chains() -> dict[tuple[str, int], list[AuditEvent]]:
    """Every entity's audit events in id order."""
    found: dict[tuple[str, int], list[AuditEvent]] = defaultdict(list)
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        found[(event.entity_type, event.entity_id)].append(event)
    return found


def assert_linear_chains() -> None:
    """No entity's chain forked and no move was lost: every event links to the one before it (so the prev_hash
    values of one entity are all distinct) and starts from the state the one before it ended in."""
    for key, events in chains().items():
        prev_hashes = [e.prev_hash for e in events]
        assert len(set(prev_hashes)) == len(prev_hashes), f"{key}: the audit chain forked: {prev_hashes}"
        for before, after in zip(events, events[1:]):
            assert after.prev_hash == before.hash, f"{key}: event {after.id} does not link to event {before.id}"
            assert after.from_state == before.to_state, (
                f"{key}: event {after.id} ({after.trigger}) starts from {after.from_state!r}, but event "
                f"{before.id} ({before.trigger}) ended in {before.to_state!r}: a lost update")
