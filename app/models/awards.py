"""What follows a decision: the grant's dates, payments and recoveries."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.states import status_check
from app.models.types import UTCDateTime, utcnow


class Grant(db.Model):
    """The signed agreement's terms, copied from the call at `sign`."""

    __tablename__ = "grants"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    signed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    termination_reason: Mapped[str | None] = mapped_column(Text)


class Payment(db.Model):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    tranche: Mapped[int] = mapped_column(Integer)
    percent: Mapped[int] = mapped_column(Integer)
    due_on_event: Mapped[str] = mapped_column(String(40))  # sign, final_report_approved
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None until the event it waits on
    paid_on: Mapped[date | None] = mapped_column(Date)
    bank_reference: Mapped[str | None] = mapped_column(String(60))

    __table_args__ = (
        status_check("payment"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("(status = 'paid') = (paid_on is not null)", name="paid_has_date"),
        CheckConstraint("(status = 'paid') = (bank_reference is not null)", name="bank_reference_when_paid"),
    )


class Recovery(db.Model):
    __tablename__ = "recoveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="demanded")
    reason: Mapped[str] = mapped_column(Text)
    demanded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    write_off_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        status_check("recovery"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("(status in ('repaid', 'written_off')) = (settled_at is not null)", name="settled_with_state"),
        CheckConstraint("(status = 'written_off') = (write_off_reason is not null)", name="written_off_with_reason"),
    )
