"""The background worker: documents and e-mails, after commit."""
from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


def run_forever(app, interval: float = 2.0, stop: threading.Event | None = None) -> None:
    from app.services.jobs import run_pending

    # no requeue at start: another worker may be doing the jobs marked running; a dead worker's jobs are taken
    # again when their lease runs out (app/services/jobs.py)
    stop = stop or threading.Event()
    while not stop.is_set():
        with app.app_context():
            try:
                from app.services.health import beat

                beat()  # GET /healthz reads it: this loop came round
                done = run_pending()
            except Exception:  # the loop survives a bad moment; the job keeps its error
                log.exception("worker pass failed")
                done = 0
        if not done:
            stop.wait(interval)


def start_thread(app) -> threading.Thread:
    thread = threading.Thread(target=run_forever, args=(app,), name="jobs-worker", daemon=True)
    thread.start()
    return thread


