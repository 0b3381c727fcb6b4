"""Grantees' reports (atskaites)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.states import status_check
from app.models.types import UTCDateTime


class Report(db.Model):
    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # interim, final
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    # activities, participants, participants_at_risk, results
    content: Mapped[dict] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewer_note: Mapped[str | None] = mapped_column(Text)
    reminders_sent: Mapped[list] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)

    application = relationship("Application")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("application_id", "kind", name="uq_reports_application_kind"),
        status_check("report"),
        CheckConstraint("kind in ('interim', 'final')", name="kind"),
        CheckConstraint("(status = 'draft') = (submitted_at is null)", name="submitted_unless_draft"),
        CheckConstraint("(status = 'approved') = (approved_at is not null)", name="approved_time"),
        CheckConstraint("(approved_by is null) = (approved_at is null)", name="approved_by_with_time"),
    )
