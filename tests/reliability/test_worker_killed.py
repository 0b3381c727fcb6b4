"""A gunicorn worker killed with `kill -9` in a burst of 300 submits (issue 9, reliability suite).

300 NGOs, each logged in by its session cookie, POST the submit of a complete draft through gunicorn (3 sync
workers, production configuration, PostgreSQL) from 12 client threads; after the 100th and the 200th answer a
busy worker is killed with SIGKILL (the master starts another). What a kill interrupts is whatever that worker was
doing: before, inside or after its commit. The claims: every submit the client saw acknowledged (302 to its
receipt) is stored, submitted, with a receipt whose number and hash the public check confirms; nothing is half
written (a submitted application without its number, hash, audit event or receipt; a number gap); the failed ones
submitted again by their NGO end up submitted once each; `flask --app wsgi audit verify` exits 0.
"""
from __future__ import annotations

import os
import re
import signal
import threading
import time
from urllib.parse import urlencode

import pytest

from app.extensions import db
from tests import factories
from tests.reliability import servers
from tests.reliability.conftest import assert_nothing_half_written

pytestmark = pytest.mark.postgres

SUBMITS = 300
WORKERS = 3
CONCURRENCY = 12
KILL_AFTER = (100, 200)  # answers seen


def _kill_a_busy_worker(server: servers.Gunicorn, killed: list[int]) -> None:
    pids = [p for p in server.workers_pids() if p not in killed]
    victim = pids[len(killed) % len(pids)]
    os.kill(victim, signal.SIGKILL)
    killed.append(victim)


def _receipt_confirmed(port: int, secret: str, application_id: int, user_id: int) -> tuple[str, str, bool]:
    """What the NGO does with its receipt: open it, read the number and the SHA-256, and confirm both on the public
    check page. Returns (number, hash, confirmed)."""
    page = servers.request(port, "GET", f"/apply/applications/{application_id}/receipt",
                           headers={"Cookie": servers.session_cookie(secret, user_id)})
    assert page.status == 200, (application_id, page.status)
    number = re.search(r'class="application-number">([^<]+)<', page.text).group(1)
    sha256 = re.search(r'class="receipt-hash">([0-9a-f]{64})<', page.text).group(1)
    check = servers.request(port, "GET", "/receipts/check?" + urlencode({"number": number, "sha256": sha256}))
    return number, sha256, "alert-success receipt-check-result" in check.text


def test_a_worker_killed_mid_burst_loses_no_acknowledged_submit(scenario_database, shared_uploads, app_on,
                                                                tmp_path):
    app = app_on(scenario_database, shared_uploads)
    with app.app_context():
        from bench import seed

        call = factories.make_call(state="open", projects=SUBMITS)
        call_id, prefix = call.id, call.number_prefix
        drafts = seed.applications(call, SUBMITS, submitted=False, tag=seed.unique_tag())
        db.session.remove()
    members = dict(drafts)
    ids = [a for a, _u in drafts]

    secret = os.urandom(32).hex()
    killed: list[int] = []
    with servers.Gunicorn(scenario_database, secret=secret, upload_dir=shared_uploads, log_dir=str(tmp_path),
                          workers=WORKERS, csrf=False) as server:
        lock = threading.Lock()

        def on_progress(seen):
            if seen in KILL_AFTER:
                with lock:
                    _kill_a_busy_worker(server, killed)

        burst = servers.submit_burst(server.port, drafts, secret, CONCURRENCY, on_progress=on_progress)
        # the master replaced each killed worker
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (len(server.workers_pids()) < WORKERS
                                               or set(killed) & set(server.workers_pids())):
            time.sleep(0.1)
        assert len(killed) == 2 and not set(killed) & set(server.workers_pids())
        assert len(server.workers_pids()) == WORKERS, server.log()
        assert len(burst.acknowledged) + len(burst.failed) == SUBMITS, "every client got an answer or an error"
        # a failure is a broken connection (the killed worker's), never an error page or a refusal
        assert not burst.answered, {i: (a.status, a.text[:200]) for i, a in list(burst.answered.items())[:3]}

        with app.app_context():
            numbers = assert_nothing_half_written(call_id, prefix, ids)
            db.session.remove()
        submitted = set(numbers)
        assert burst.acknowledged <= submitted, "an acknowledged submit was lost"
        stored_not_acknowledged = submitted - burst.acknowledged  # committed, then the worker died before answering
        assert stored_not_acknowledged <= set(burst.broken)

        # every acknowledged receipt verifies on the public check page (12 clients, as in the burst)
        receipts = {}
        receipt_lock = threading.Lock()
        pending = sorted(burst.acknowledged)

        def check_receipts():
            while True:
                with receipt_lock:
                    if not pending:
                        return
                    application_id = pending.pop()
                result = _receipt_confirmed(server.port, secret, application_id, members[application_id])
                with receipt_lock:
                    receipts[application_id] = result

        checkers = [threading.Thread(target=check_receipts, daemon=True) for _ in range(CONCURRENCY)]
        for thread in checkers:
            thread.start()
        for thread in checkers:
            thread.join(120)
        assert set(receipts) == burst.acknowledged
        assert all(confirmed for _n, _h, confirmed in receipts.values()), [
            (i, r) for i, r in receipts.items() if not r[2]][:3]
        assert all(receipts[i][0] == numbers[i] for i in receipts)  # the receipt shows the stored number

        # the NGOs whose click failed press Submit again: the stored ones are not submitted twice
        again = servers.submit_burst(server.port, [(i, members[i]) for i in sorted(burst.failed)], secret, 4)
        assert not again.broken, again.broken
        assert again.acknowledged == burst.failed - submitted
        # an already stored one is refused (back to its "check" page, told why), not submitted twice
        assert set(again.answered) == stored_not_acknowledged, {i: a.status for i, a in again.answered.items()}
        assert all(a.status == 302 and a.location.endswith(f"/applications/{i}/check")
                   for i, a in again.answered.items())

    with app.app_context():
        numbers = assert_nothing_half_written(call_id, prefix, ids)
        db.session.remove()
        db.engine.dispose()
    assert len(numbers) == SUBMITS  # each of the 300 submitted exactly once (one event each), numbered 1..300

    verified = servers.audit_verify(scenario_database, shared_uploads)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "audit trail intact" in verified.stdout
    print(f"\nworker killed: {len(burst.acknowledged)} acknowledged, {len(submitted)} stored, "
          f"{len(burst.broken)} broken connections ({len(stored_not_acknowledged)} of them stored), "
          f"{burst.seconds:.1f} s for {SUBMITS} submits; killed pids {killed}")
