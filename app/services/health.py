"""The worker's heartbeat and the health report that GET /healthz answers with.

The worker writes its host's row at every pass of its loop (app/worker.py); healthz calls the system healthy when
the database answers and some worker's beat is younger than WORKER_HEARTBEAT_MAX_AGE seconds. The report names
what failed and nothing else: no address, no version, no configuration."""
from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app import clock
from app.database import writing
from app.extensions import db
from app.models import WorkerHeartbeat

log = logging.getLogger(__name__)
DEFAULT_MAX_AGE = 120  # seconds: a pass renders at most a batch of documents, each well under a second


def beat(name: str | None = None) -> None:
    """Record that the worker on this host (or `name`) is alive now; commits."""
    name = (name or socket.gethostname())[:100]
    now = clock.now()
    with writing():
        done = db.session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.name == name)
                                  .values(beat_at=now)).rowcount
        if not done:
            db.session.add(WorkerHeartbeat(name=name, beat_at=now))
        try:
            db.session.commit()
        except IntegrityError:  # another worker of this host inserted the row first: its beat is as good as ours
            db.session.rollback()


@dataclass
class Health:
    checks: dict[str, dict] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks.values())

    def as_json(self) -> dict:
        return {"status": "ok" if self.ok else "failing", "checks": self.checks}


def health(max_age_seconds: int = DEFAULT_MAX_AGE) -> Health:
    report = Health()
    try:
        db.session.execute(text("SELECT 1"))
        latest = db.session.scalar(select(func.max(WorkerHeartbeat.beat_at)))
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("healthz: the database did not answer: %s", type(error).__name__)
        report.checks["database"] = {"ok": False, "error": "the database did not answer"}
        report.checks["worker"] = {"ok": False, "error": "unknown: the database did not answer"}
        return report
    report.checks["database"] = {"ok": True}
    if latest is None:
        report.checks["worker"] = {"ok": False, "error": "no worker has ever reported"}
        return report
    age = (clock.now() - latest).total_seconds()
    if age > max_age_seconds:
        report.checks["worker"] = {"ok": False, "age_seconds": round(age),
                                   "error": f"the last heartbeat is older than {max_age_seconds} s"}
    else:
        report.checks["worker"] = {"ok": True, "age_seconds": round(max(age, 0))}
    return report
