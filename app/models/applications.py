"""An application (projekta iesniegums) with its budget lines, attachments, checks, clarifications and appeals."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.states import sources_of, sql_list, status_check
from app.models.types import UTCDateTime, utcnow


# The admin list's search document (app/services/applications_list.py), written once for its query, this model's
# index and the migration: PostgreSQL uses the index only when the query's expression is this one. Written as
# PostgreSQL reports it back (casts and parentheses included), so that the migration test's comparison of the
# models with the migrated database sees the same expression on both sides.
SEARCH_DOCUMENT_SQL = ("to_tsvector('simple'::regconfig, (COALESCE(title, ''::character varying)::text || ' '::text) "
                       "|| COALESCE(content ->> 'summary'::text, ''::text))")


@dataclass(frozen=True)
class ProjectPeriod:
    """The project's planned start and end (the content stores ISO text); None where missing or unreadable."""

    start: date | None
    end: date | None

    @property
    def complete(self) -> bool:
        return self.start is not None and self.end is not None


class Application(db.Model):
    __tablename__ = "applications"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    number: Mapped[str | None] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    # Form fields: summary, objectives, activities, target_group, participants, participants_at_risk,
    # start_on, end_on (ISO dates), declared_conflicts.
    content: Mapped[dict] = mapped_column(JSON, default=dict)
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)
    declarations_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    receipt_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # e-mail time of the decision letter
    offer_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agreement_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    agreement_sha256: Mapped[str | None] = mapped_column(String(64))
    divergent: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    call = relationship("Call")
    organisation = relationship("Organisation")
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="application", order_by="BudgetLine.position", cascade="all, delete-orphan"
    )

    @property
    def project_period(self) -> ProjectPeriod:
        """The one reading of the planned implementation dates (forms, checks, pages)."""
        return ProjectPeriod(*(_iso_day((self.content or {}).get(key)) for key in ("start_on", "end_on")))

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        status_check("application"),
        CheckConstraint("(status = 'draft') = (submitted_at is null)", name="submitted_unless_draft"),
        CheckConstraint("(accepted_by is null) = (accepted_at is null)", name="accepted_by_with_time"),
        # only accept_offer leads to these states (declined may or may not follow an acceptance)
        CheckConstraint("status not in ('accepted', 'contracted', 'terminated', 'closed') or accepted_at is not null",
                        name="accepted_before_contract"),
        CheckConstraint("(submitted_at is null) = (number is null)", name="numbered_when_submitted"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        # The admin's list of a call's applications pages in this order; without it 10,000 rows are sorted per page.
        db.Index("ix_applications_call_submitted", "call_id", "submitted_at", "id"),
        # the same list filtered by one state (app/services/applications_list.py)
        db.Index("ix_applications_call_status_submitted", "call_id", "status", "submitted_at", "id"),
        # its search of titles and summaries: PostgreSQL only (SQLite has no GIN; its search scans one call's rows)
        db.Index("ix_applications_search", text(SEARCH_DOCUMENT_SQL), postgresql_using="gin").ddl_if(
            dialect="postgresql"),
    )


class BudgetLine(db.Model):
    __tablename__ = "budget_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    category: Mapped[str] = mapped_column(String(60))  # the code of one of the call's CostCategory rows
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer, default=1)  # whole units (app/services/budget.py says why)
    unit_cost_cents: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)  # quantity × unit cost, worked out on the server
    application: Mapped[Application] = relationship(back_populates="budget_lines")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_cost_cents >= 0", name="unit_cost_not_negative"),
        CheckConstraint("amount_cents = quantity * unit_cost_cents", name="amount_is_quantity_times_cost"),
    )


class Attachment(db.Model):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A report's file keeps its bytes here, read only for a download (app/services/reporting.py)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)


class CheckResult(db.Model):
    __tablename__ = "check_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("checks.id"))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    suggested: Mapped[bool | None] = mapped_column(Boolean)  # the system's pre-fill
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check = relationship("Check")

    __table_args__ = (
        UniqueConstraint("application_id", "check_id", name="uq_check_results_application_check"),
        CheckConstraint("passed is null or passed or reason != ''", name="reason_when_failed"),
    )


class Clarification(db.Model):
    __tablename__ = "clarifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answer_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_sha256: Mapped[str | None] = mapped_column(String(64))


class Appeal(db.Model):
    __tablename__ = "appeals"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    prior_status: Mapped[str] = mapped_column(String(20))
    grounds: Mapped[str] = mapped_column(String(20))  # procedural, eligibility, factual_error, scoring
    text: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str | None] = mapped_column(String(20))  # upheld, dismissed
    decision_reasons: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"prior_status in {sql_list(sources_of('application', 'appeal'))}", name="prior_status"),
        CheckConstraint("outcome in ('upheld', 'dismissed')", name="outcome"),
        CheckConstraint("(outcome is null) = (decided_at is null)", name="decided_when_outcome"),
        CheckConstraint("(outcome is null) = (decided_by is null)", name="decided_by_with_outcome"),
        CheckConstraint("(outcome is null) = (decision_reasons is null)", name="reasons_with_outcome"),
    )


class Decision(db.Model):
    """The published result of one application: funded, reserve or rejected, with its rank and scores."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    protocol_id: Mapped[int | None] = mapped_column(ForeignKey("ranking_protocols.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[str] = mapped_column(String(40))  # exact fraction of half points, "61/3"
    weighted_total: Mapped[str] = mapped_column(String(40))
    tie_broken_by: Mapped[str | None] = mapped_column(String(20))
    failures: Mapped[list] = mapped_column(JSON, default=list)
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)
    override_justification: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    letter_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    current: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        CheckConstraint("outcome in ('funded', 'reserve', 'rejected', 'ineligible')", name="outcome"),
        # at most one current decision per application; decisions.supersede is the one writer of `current`
        db.Index("uq_decisions_one_current", "application_id", unique=True,
                 sqlite_where=text("current"), postgresql_where=text("current")),
    )


def _iso_day(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
