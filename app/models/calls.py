"""A call (konkurss) with its criteria, checks and settings."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint, and_, false
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.states import status_check
from app.models.types import UTCDateTime, utcnow
from workflows.call import CALL

FUNDING_MODES = ("lump_sum", "budgeted")


class Call(db.Model):
    __tablename__ = "calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    number_prefix: Mapped[str] = mapped_column(String(20))
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    title_lv: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    description_lv: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    funder: Mapped[str] = mapped_column(String(200), default="")
    programme: Mapped[str] = mapped_column(String(60), default="")

    funding_mode: Mapped[str] = mapped_column(String(20), default="lump_sum")
    amount_cents: Mapped[int | None] = mapped_column(Integer)  # the lump sum
    min_amount_cents: Mapped[int | None] = mapped_column(Integer)
    max_amount_cents: Mapped[int | None] = mapped_column(Integer)
    budget_cents: Mapped[int] = mapped_column(Integer, default=0)
    max_applications_per_organisation: Mapped[int] = mapped_column(Integer, default=1)

    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # exclusive
    decision_on: Mapped[date | None] = mapped_column(Date)
    implementation_start: Mapped[date | None] = mapped_column(Date)
    implementation_end: Mapped[date | None] = mapped_column(Date)
    reserve_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retention_until: Mapped[date | None] = mapped_column(Date)

    pass_mark_half_points: Mapped[int] = mapped_column(Integer, default=60)
    evaluators_per_application: Mapped[int] = mapped_column(Integer, default=2)
    divergence_threshold_percent: Mapped[int] = mapped_column(Integer, default=30)
    divergence_policy: Mapped[str] = mapped_column(String(20), default="mean_all")
    allocation_policy: Mapped[str] = mapped_column(String(20), default="strict")
    tie_break_keys: Mapped[list] = mapped_column(JSON, default=lambda: ["submitted_at"])
    review_days: Mapped[int] = mapped_column(Integer, default=14)
    # the most applications of the call one evaluator may hold at once (live assignments); None: no maximum
    max_assignments_per_evaluator: Mapped[int | None] = mapped_column(Integer)
    # after submitting their own review, an evaluator sees the others' submitted scores and writes consensus notes
    show_scores_after_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    acceptance_days: Mapped[int] = mapped_column(Integer, default=10)
    appeal_days: Mapped[int] = mapped_column(Integer, default=30)
    delivery_allowance_working_days: Mapped[int] = mapped_column(Integer, default=2)
    # [{"kind": "interim", "due_on": "2022-08-15"}, {"kind": "final", "due_on": "2022-12-14"}]
    report_schedule: Mapped[list] = mapped_column(JSON, default=list)
    # [{"percent": 80, "on": "sign"}, {"percent": 20, "on": "final_report_approved"}]
    payment_tranches: Mapped[list] = mapped_column(JSON, default=list)

    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    definition_sha256: Mapped[str | None] = mapped_column(String(64))
    regulations_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", use_alter=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="call", order_by="Criterion.position", cascade="all, delete-orphan"
    )
    checks: Mapped[list[Check]] = relationship(
        back_populates="call", order_by="Check.position", cascade="all, delete-orphan"
    )
    cost_categories: Mapped[list[CostCategory]] = relationship(
        back_populates="call", order_by="CostCategory.position", cascade="all, delete-orphan"
    )
    organiser = relationship("Organiser")

    @hybrid_method
    def accepting(self, now: datetime) -> bool:
        """Whether the call takes applications at `now` (DESIGN 2.1): opens_at <= now < closes_at (`closes_at`
        exclusive: 23:59:59 passes, 00:00:00 is refused) in a state of the call's "accepting" group, whatever the
        clock has written meanwhile (a GET never writes the moves to open and closed). `Call.accepting(now)` is the
        same rule as an SQL condition."""
        return (self.status in CALL.groups["accepting"] and self.opens_at is not None and self.closes_at is not None
                and self.opens_at <= now < self.closes_at)

    @accepting.expression
    def accepting(cls, now: datetime):
        return and_(cls.status.in_(CALL.groups["accepting"]), cls.opens_at <= now, cls.closes_at > now)

    __table_args__ = (
        status_check("call"),
        CheckConstraint(f"funding_mode in {FUNDING_MODES}", name="funding_mode"),
        CheckConstraint("divergence_policy in ('mean_all', 'closest_two')", name="divergence_policy"),
        CheckConstraint("allocation_policy in ('strict', 'skip')", name="allocation_policy"),
        CheckConstraint("budget_cents >= 0", name="budget_not_negative"),
        CheckConstraint("max_assignments_per_evaluator is null or max_assignments_per_evaluator > 0",
                        name="max_assignments_positive"),
        CheckConstraint("status in ('draft', 'cancelled') or frozen_at is not null", name="frozen_after_draft"),
        CheckConstraint("status != 'draft' or frozen_at is null", name="draft_not_frozen"),
    )

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" and self.title_en else self.title_lv

    def description(self, lang: str) -> str:
        return self.description_en if lang == "en" and self.description_en else self.description_lv


class Criterion(db.Model):
    __tablename__ = "criteria"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(20))
    title_lv: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    description_lv: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    max_half_points: Mapped[int] = mapped_column(Integer)
    step_half_points: Mapped[int] = mapped_column(Integer, default=1)  # 1 = half points, 2 = whole points
    min_half_points: Mapped[int | None] = mapped_column(Integer)
    weight_percent: Mapped[int] = mapped_column(Integer, default=100)
    comment_required: Mapped[bool] = mapped_column(Boolean, default=True)
    anchors: Mapped[dict] = mapped_column(JSON, default=dict)  # in Latvian: {"0": "neatbilst", "10": "izcili"}
    anchors_en: Mapped[dict | None] = mapped_column(JSON, default=dict)  # the same points in English
    call: Mapped[Call] = relationship(back_populates="criteria")

    __table_args__ = (
        UniqueConstraint("call_id", "code", name="uq_criteria_call_code"),
        CheckConstraint("max_half_points > 0", name="max_positive"),
        CheckConstraint("step_half_points in (1, 2)", name="step"),
    )

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" and self.title_en else self.title_lv

    def scale_anchors(self, lang: str) -> list[tuple[int, str]]:
        """(half points, meaning) in points order, in `lang` where written, else in Latvian."""
        anchors = (self.anchors_en if lang == "en" and self.anchors_en else self.anchors) or {}
        return sorted((int(k), v) for k, v in anchors.items() if str(k).isdigit() and v)


class Check(db.Model):
    """One yes/no administrative or eligibility check of a call (e.g. A1 submitted on time)."""

    __tablename__ = "checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(10))
    title_lv: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    automatic: Mapped[str | None] = mapped_column(String(40))  # name of a system pre-fill, e.g. "on_time"
    call: Mapped[Call] = relationship(back_populates="checks")

    __table_args__ = (UniqueConstraint("call_id", "code", name="uq_checks_call_code"),)

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" and self.title_en else self.title_lv


class CostCategory(db.Model):
    """An eligible cost category of a budgeted call (e.g. "Administrācija" / "Administration"), optionally capped at
    a share of the budget's total. Budget lines name it by `code`, a stable key made from its label at creation."""

    __tablename__ = "cost_categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(60))
    label_lv: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    cap_percent: Mapped[int | None] = mapped_column(Integer)  # at most this share of the total; None: no cap
    call: Mapped[Call] = relationship(back_populates="cost_categories")

    __table_args__ = (
        UniqueConstraint("call_id", "code", name="uq_cost_categories_call_code"),
        CheckConstraint("cap_percent is null or (cap_percent > 0 and cap_percent <= 100)", name="cap_percent"),
    )

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" and self.label_en else self.label_lv


class RankingProtocol(db.Model):
    """A confirmed ranking: the commission protocol, with the hash of the inputs it was computed from."""

    __tablename__ = "ranking_protocols"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    confirmed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    ranking: Mapped[list] = mapped_column(JSON)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    # 1, 2, … within the call (protocols.next_number, under the call's row lock); the unique pair is the backstop
    number: Mapped[int] = mapped_column(Integer)
    # the same protocol in the other language, rendered when an admin asks for it (protocols.request_translation)
    translation_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))

    __table_args__ = (UniqueConstraint("call_id", "number", name="uq_ranking_protocols_call_number"),
                      CheckConstraint("number > 0", name="number_positive"))


class NumberCounter(db.Model):
    """The call's gapless application counter, in a row of its own so that submit never locks the call."""

    __tablename__ = "number_counters"
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
