"""Review assignments (vērtējumi) and their scores."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.states import status_check
from app.models.types import UTCDateTime, utcnow


class Assignment(db.Model):
    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="assigned")
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    review_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    declaration_text: Mapped[str | None] = mapped_column(Text)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)  # recusal, revocation or voiding reason

    application = relationship("Application")
    evaluator = relationship("User")
    scores: Mapped[list[Score]] = relationship(back_populates="assignment", cascade="all, delete-orphan")

    __table_args__ = (
        status_check("review"),
        CheckConstraint("(declared_at is null) = (declaration_text is null)", name="declaration_with_time"),
        CheckConstraint(
            "status = 'assigned' or status in ('recused', 'revoked') or declared_at is not null",
            name="declared_before_opening",
        ),
        CheckConstraint("(status in ('submitted', 'voided')) = (submitted_at is not null)", name="submitted_time"),
    )


class Score(db.Model):
    __tablename__ = "scores"
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"))
    half_points: Mapped[int | None] = mapped_column(Integer)  # None = not applicable
    comment: Mapped[str] = mapped_column(Text, default="")
    assignment: Mapped[Assignment] = relationship(back_populates="scores")

    __table_args__ = (
        UniqueConstraint("assignment_id", "criterion_id", name="uq_scores_assignment_criterion"),
        CheckConstraint("half_points is null or half_points >= 0", name="not_negative"),
    )


class ConsensusNote(db.Model):
    """What the evaluators of an application agreed or disagreed on, written after their own reviews are in
    (a call's `show_scores_after_review`); the admin reads it beside the ranking. Recorded in the audit trail."""

    __tablename__ = "consensus_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author = relationship("User")

    __table_args__ = (CheckConstraint("length(text) > 0", name="text_not_empty"),)


class ReviewReminder(db.Model):
    """A reminder `tick` sent about one review still to do: `before` its `review_due_at` or `after` it. Each kind
    at most once per assignment (the unique pair), so a tick run twice, or two at once, reminds once."""

    __tablename__ = "review_reminders"
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))

    __table_args__ = (
        UniqueConstraint("assignment_id", "kind", name="uq_review_reminders_assignment_kind"),
        CheckConstraint("kind in ('before', 'after')", name="kind"),
    )
