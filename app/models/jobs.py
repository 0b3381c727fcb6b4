"""Background work: documents to render, messages to deliver."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class Job(db.Model):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # email, document
    target_id: Mapped[int] = mapped_column(Integer)  # message or document id
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # a failed try waits (app/services/jobs.py, backoff) until then; None: due at once
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # a running job belongs to its worker until then; a worker that died leaves it to be taken again afterwards
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("(status = 'running') = (leased_until is not null)", name="leased_while_running"),
    )


class Document(db.Model):
    """A PDF rendered once from a frozen context and never changed afterwards."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # regulations, receipt, letter, protocol, agreement, report
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(2))
    context: Mapped[dict] = mapped_column(JSON)
    filename: Mapped[str] = mapped_column(String(120))
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (db.Index("ix_documents_entity", "entity_type", "entity_id"),)


class Message(db.Model):
    """A notification: in the recipient's in-app list, and delivered by e-mail when mail is configured.

    `delivery` says what became of the e-mail: `pending` (a server is configured; not yet accepted), `sent` (an SMTP
    server accepted it, at `sent_at`), `in_app_only` (no MAIL_SERVER: nothing leaves the machine), `failed` (the
    server refused it or was down, every try)."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a message to an address that has no account yet (an invitation, app/services/invitations.py)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    entity_type: Mapped[str | None] = mapped_column(String(30))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivery: Mapped[str] = mapped_column(String(20), default="pending")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("delivery in ('pending', 'in_app_only', 'sent', 'failed')", name="delivery_state"),
        CheckConstraint("(delivery = 'sent') = (sent_at is not null)", name="sent_when_accepted"),
    )
