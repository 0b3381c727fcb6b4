"""The audit trail: one structured, hash-chained event per move."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(Integer)  # None = system; an id, not a key, so purge never breaks it
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON text
    caused_by_id: Mapped[int | None] = mapped_column(ForeignKey("audit_events.id"))
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (db.Index("ix_audit_events_entity", "entity_type", "entity_id", "id"),)


class AuditCheckpoint(db.Model):
    """A seal over every entity's latest event, written by `tick`."""

    __tablename__ = "audit_checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_event_id: Mapped[int] = mapped_column(Integer)
    heads: Mapped[str] = mapped_column(Text)  # canonical JSON: [[type, id, event id, hash], ...]
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64))
