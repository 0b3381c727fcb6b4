"""PostgreSQL restarted in the middle of a burst of submits (issue 9, reliability suite).

A PostgreSQL cluster of the test's own (never the shared one on 5432: see servers.PrivatePostgres), gunicorn with
3 sync workers on it, 150 NGOs submitting from 12 client threads; after the 40th answer `pg_ctl restart -m fast`
ends every session. The claims: a request the restart caught answers 503 with the page in Latvian and English and
Retry-After, never a traceback or a 500; nothing is half written; acknowledged submits are stored; the same
gunicorn workers (no restart of the app) serve again at once, and after a second restart while idle their very
first requests succeed (the pool tests each connection before use: pool_pre_ping); `audit verify` exits 0.
"""
from __future__ import annotations

import os
import threading

import pytest

from app.extensions import db
from tests import factories
from tests.conftest import migrate_to_head
from tests.reliability import servers
from tests.reliability.conftest import assert_nothing_half_written

pytestmark = pytest.mark.postgres

SUBMITS = 150
WORKERS = 3
CONCURRENCY = 12
RESTART_AFTER = 40  # answers seen
LV = "Pakalpojums uz brīdi nav pieejams"
EN = "The service is briefly unavailable"


@pytest.fixture
def private_postgres():
    if not os.environ.get("TEST_DATABASE_URL"):  # the same condition as the rest of the suite, for CI's sake
        pytest.skip("TEST_DATABASE_URL is not set: the reliability suite runs on PostgreSQL")
    with servers.PrivatePostgres() as cluster:
        yield cluster


def _assert_clean_503(answer: servers.Answer, server: servers.Gunicorn) -> None:
    assert answer.status == 503, (answer.status, answer.text[:300], server.log())
    assert answer.headers.get("retry-after", "").isdigit()
    assert LV in answer.text and EN in answer.text and "try again" in answer.text
    assert "Traceback" not in answer.text and "psycopg" not in answer.text and "sqlalchemy" not in answer.text


def test_a_database_restart_mid_burst_fails_cleanly_and_the_app_serves_again(private_postgres, shared_uploads,
                                                                              app_on, tmp_path):
    url = private_postgres.create_database("grants")
    migrate_to_head(url, shared_uploads)
    app = app_on(url, shared_uploads)
    with app.app_context():
        from bench import seed

        call = factories.make_call(state="open", projects=SUBMITS)
        call_id, prefix = call.id, call.number_prefix
        drafts = seed.applications(call, SUBMITS, submitted=False, tag=seed.unique_tag())
        db.session.remove()
        db.engine.dispose()  # the test's own connections must not outlive the restarts either
    members = dict(drafts)
    ids = [a for a, _u in drafts]
    secret = os.urandom(32).hex()

    with servers.Gunicorn(url, secret=secret, upload_dir=shared_uploads, log_dir=str(tmp_path), workers=WORKERS,
                          csrf=False) as server:
        workers_before = server.workers_pids()
        restarted = threading.Event()
        restart_error: list[BaseException] = []

        def restart():
            try:
                private_postgres.restart()
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                restart_error.append(error)
            finally:
                restarted.set()

        def on_progress(seen):
            if seen == RESTART_AFTER:
                threading.Thread(target=restart, daemon=True).start()

        burst = servers.submit_burst(server.port, drafts, secret, CONCURRENCY, on_progress=on_progress)
        assert restarted.wait(60) and not restart_error, restart_error

        # requests in flight failed cleanly: a 503 page, no broken connection, no 500, no traceback
        assert not burst.broken, list(burst.broken.items())[:3]
        for answer in burst.answered.values():
            _assert_clean_503(answer, server)
        assert burst.answered, "the restart caught no request: the scenario did not happen"
        assert server.workers_pids() == workers_before, "a worker died or was restarted"

        with app.app_context():
            numbers = assert_nothing_half_written(call_id, prefix, ids)
            db.session.remove()
            db.engine.dispose()
        submitted = set(numbers)
        assert burst.acknowledged <= submitted, "an acknowledged submit was lost"
        stored_after_503 = submitted - burst.acknowledged
        assert stored_after_503 <= set(burst.answered)

        # the same workers serve again: the NGOs that got the 503 page press Submit again
        again = servers.submit_burst(server.port, [(i, members[i]) for i in sorted(burst.answered)], secret, 4)
        assert not again.broken
        assert again.acknowledged == set(burst.answered) - stored_after_503
        assert all(a.status == 302 and a.location.endswith(f"/applications/{i}/check")
                   for i, a in again.answered.items()) and set(again.answered) == stored_after_503

        # a restart while idle: each worker's pooled connections are dead, yet its first request succeeds
        private_postgres.restart()
        someone = drafts[0][1]
        firsts = [servers.request(server.port, "GET", "/apply/",
                                  headers={"Cookie": servers.session_cookie(secret, someone)})
                  for _ in range(3 * WORKERS)]
        assert [a.status for a in firsts] == [200] * len(firsts), [a.text[:200] for a in firsts if a.status != 200]
        assert server.workers_pids() == workers_before

    with app.app_context():
        numbers = assert_nothing_half_written(call_id, prefix, ids)
        db.session.remove()
        db.engine.dispose()
    assert len(numbers) == SUBMITS
    verified = servers.audit_verify(url, shared_uploads)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    print(f"\ndatabase restart: {len(burst.acknowledged)} acknowledged, {len(burst.answered)} answered 503 "
          f"({len(stored_after_503)} of them stored nonetheless), {burst.seconds:.1f} s")
