"""What the operators' tools read: the worker's heartbeat (GET /healthz)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime


class WorkerHeartbeat(db.Model):
    """One row per worker host: `beat_at` is when its loop last came round (app/worker.py)."""

    __tablename__ = "worker_heartbeats"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # the host's name
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
