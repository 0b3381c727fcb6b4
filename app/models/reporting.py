"""Grantees' reports (atskaites)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.states import status_check
from app.models.types import UTCDateTime


class ReportReminder(db.Model):
    """A reminder `tick` sent about one report still owed: `before` its due date or `after` it. Each kind at most
    once per report (the unique pair), so a tick run twice, or two at once, reminds once."""

    __tablename__ = "report_reminders"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("report_id", "kind", name="uq_report_reminders_report_kind"),
        CheckConstraint("kind in ('before', 'after')", name="kind"),
    )


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
    version: Mapped[int] = mapped_column(Integer, default=1)
    # An admin's permission to submit before the reported period has begun (app/services/reporting.py), with why
    early_allowed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    early_allowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    early_allowed_reason: Mapped[str | None] = mapped_column(Text)

    application = relationship("Application")
    rounds = relationship("ReportRound", order_by="ReportRound.number", back_populates="report")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("application_id", "kind", name="uq_reports_application_kind"),
        status_check("report"),
        CheckConstraint("kind in ('interim', 'final')", name="kind"),
        CheckConstraint("(status = 'draft') = (submitted_at is null)", name="submitted_unless_draft"),
        CheckConstraint("(status = 'approved') = (approved_at is not null)", name="approved_time"),
        CheckConstraint("(approved_by is null) = (approved_at is null)", name="approved_by_with_time"),
        CheckConstraint("(early_allowed_at is null) = (early_allowed_reason is null)", name="early_with_reason"),
    )


class ReportRound(db.Model):
    """One submission of a report and what the admin answered to it: the content as submitted, kept for good."""

    __tablename__ = "report_rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … in the order submitted
    content: Mapped[dict] = mapped_column(JSON, default=dict)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))  # changes_requested, approved; None while in review
    comment: Mapped[str | None] = mapped_column(Text)  # the admin's
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    report = relationship("Report", back_populates="rounds")
    submitter = relationship("User", foreign_keys=[submitted_by])
    decider = relationship("User", foreign_keys=[decided_by])

    __table_args__ = (
        UniqueConstraint("report_id", "number", name="uq_report_rounds_report_number"),
        CheckConstraint("outcome is null or outcome in ('changes_requested', 'approved')", name="outcome"),
        CheckConstraint("(outcome is null) = (decided_at is null)", name="decided_with_outcome"),
    )


class AttachmentDownload(db.Model):
    """Who downloaded a report's attachment, and when: every download of a report file is logged."""

    __tablename__ = "attachment_downloads"
    id: Mapped[int] = mapped_column(primary_key=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    downloaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
