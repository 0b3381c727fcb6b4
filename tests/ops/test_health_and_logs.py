"""GET /healthz (the database and the worker's heartbeat) and the log: one JSON line format, a request id per
request that the 500 page shows and the X-Request-ID header returns."""
from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.logging_setup import JsonFormatter
from app.models import WorkerHeartbeat
from app.services import health
from tests import factories

pytestmark = pytest.mark.postgres


def test_healthz_is_503_naming_the_worker_when_none_ever_reported(client, db_backend):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "failing", "checks": {
        "database": {"ok": True}, "worker": {"ok": False, "error": "no worker has ever reported"}}}


def test_healthz_is_200_after_a_heartbeat_and_503_once_it_is_old(client, clock, db_backend):
    health.beat("worker-host-1")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": {"ok": True},
                                                              "worker": {"ok": True, "age_seconds": 0}}}
    assert response.headers["Cache-Control"] == "no-store"
    clock.travel_to(clock.now() + timedelta(seconds=121))  # WORKER_HEARTBEAT_MAX_AGE is 120 s
    stale = client.get("/healthz")
    assert stale.status_code == 503
    assert stale.get_json()["checks"]["worker"] == {
        "ok": False, "age_seconds": 121, "error": "the last heartbeat is older than 120 s"}
    health.beat("worker-host-1")  # the same host beats again: its row is updated, not duplicated
    assert client.get("/healthz").status_code == 200
    assert db.session.scalars(select(WorkerHeartbeat.name)).all() == ["worker-host-1"]


def test_the_worker_loop_writes_its_heartbeat(app, db_backend):
    from app.worker import run_forever

    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(app,), kwargs={"interval": 0.05, "stop": stop})
    thread.start()
    try:
        deadline = time.monotonic() + 10
        beats = []
        while not beats and time.monotonic() < deadline:
            beats = db.session.scalars(select(WorkerHeartbeat)).all()
            db.session.rollback()  # outside a request a transaction begins IMMEDIATE: never hold it while waiting
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert len(beats) == 1 and beats[0].beat_at is not None


def test_healthz_is_503_naming_the_database_when_it_does_not_answer(tmp_path):
    secret_url = "postgresql+psycopg://grants:s3cret-password@127.0.0.1:1/grants"  # nothing listens on port 1
    own = create_app("testing", SQLALCHEMY_DATABASE_URI=secret_url, UPLOAD_DIR=str(tmp_path / "uploads"))
    response = own.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == {"ok": False, "error": "the database did not answer"}
    body = response.get_data(as_text=True)
    for secret in ("s3cret", "127.0.0.1", "psycopg", "grants", "Traceback"):
        assert secret not in body


# --- the request id and the log line -----------------------------------------------------------------------------

@pytest.fixture
def json_log():
    """The lines the app's loggers write, through the production formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("app")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_every_request_gets_an_id_in_its_header_and_access_line(client, json_log, db_backend):
    user = factories.make_user(role="admin")
    factories.login_as(client, user)
    response = client.get("/account", headers={"X-Request-ID": "nginx-0123456789abcdef"})
    assert response.headers["X-Request-ID"] == "nginx-0123456789abcdef"
    lines = [line for line in json_log() if line["logger"] == "app.access"]
    assert len(lines) == 1
    line = lines[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    assert {k: line[k] for k in ("level", "request_id", "method", "path", "status", "user_id")} == {
        "level": "INFO", "request_id": "nginx-0123456789abcdef", "method": "GET", "path": "/account",
        "status": response.status_code, "user_id": user.id}
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["remote_addr"] == "127.0.0.1"


@pytest.mark.parametrize("given", ["", "short", "has space in it ok", "x" * 65, "<script>alert(1)</script>"])
def test_an_insane_request_id_is_replaced_by_a_new_one(client, given, db_backend):
    response = client.get("/", headers={"X-Request-ID": given})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    assert response.headers["X-Request-ID"] != given
    assert client.get("/").headers["X-Request-ID"] != response.headers["X-Request-ID"]


def test_the_500_page_shows_the_request_id_that_the_header_and_the_log_line_carry(tmp_path, json_log):
    own = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'own.sqlite'}",
                     UPLOAD_DIR=str(tmp_path / "uploads"), PROPAGATE_EXCEPTIONS=False)

    @own.get("/boom")
    def boom():
        raise RuntimeError("internal detail")

    response = own.test_client().get("/boom")
    assert response.status_code == 500
    shown = re.search(r'class="error-reference">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert shown == response.headers["X-Request-ID"]
    errors = [line for line in json_log() if line["level"] == "ERROR"]
    # Flask's line with the traceback, and ours with the reference: both carry the request's id
    assert [line["request_id"] for line in errors] == [shown, shown]
    assert "RuntimeError: internal detail" in errors[0]["exception"]
    assert shown in errors[1]["message"] and errors[1]["path"] == "/boom"
    access = [line for line in json_log() if line["logger"] == "app.access"]
    assert access[0]["status"] == 500 and access[0]["request_id"] == shown
