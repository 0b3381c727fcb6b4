"""What follows a decision: the grant's dates, payments and recoveries."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, false, text
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
    # A tranche is due either on an event (app/services/grants.py TRANCHE_EVENTS: sign, interim_report_approved,
    # final_report_approved) or from a Riga calendar date, never both: the check below holds it.
    due_on_event: Mapped[str | None] = mapped_column(String(40))
    due_on: Mapped[date | None] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    # When the event it waits on happened (None until then, and always None for a dated tranche)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_on: Mapped[date | None] = mapped_column(Date)
    bank_reference: Mapped[str | None] = mapped_column(String(60))
    # How much a shortfall in results took off this tranche (app/services/reporting.py): amount_cents is what is
    # still paid, amount_cents + reduced_cents what the schedule gave it
    reduced_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        status_check("payment"),
        CheckConstraint("reduced_cents >= 0", name="reduced_not_negative"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("(due_on is null) <> (due_on_event is null)", name="due_on_date_or_event"),
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


class PaymentBatch(db.Model):
    """One SEPA credit-transfer file (pain.001.001.09) as downloaded for the bank: who made it, when, the message
    id the bank sees, and the file itself with its SHA-256, so the same bytes can be downloaded again
    (app/services/payment_batches.py)."""

    __tablename__ = "payment_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id"), index=True)  # the debtor
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    execution_date: Mapped[date] = mapped_column(Date)
    total_cents: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # read only for a download
    # The bank rejected the file: discarded, with why; its payments may go into a new file
    discarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discarded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    discard_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (CheckConstraint("total_cents > 0", name="total_positive"),
                      CheckConstraint("(discarded_at is null) = (discard_reason is null)", name="discarded_with_reason"))


class PaymentBatchItem(db.Model):
    """A payment in a batch, with the end-to-end id it has in the file. A payment is in one live batch at most: a
    second file for it could have the bank pay it twice. A discarded batch releases its items (kept, for the record)."""

    __tablename__ = "payment_batch_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    end_to_end_id: Mapped[str] = mapped_column(String(35))
    released: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (Index("uq_payment_batch_items_live_payment", "payment_id", unique=True,
                            sqlite_where=text("not released"), postgresql_where=text("not released")),)
