"""The evaluator pool: who an evaluator is affiliated with, and which calls they serve (DESIGN 2.3, issue 7)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

AFFILIATION_KINDS = ("organisation", "domain", "text")


class EvaluatorAffiliation(db.Model):
    """One tie of an evaluator: a registered organisation, an e-mail domain (a university, an employer), or free
    text that the conflict rules cannot read (a board seat elsewhere) but the admin and the register can. The first
    two are known conflicts (app/services/conflicts.py)."""

    __tablename__ = "evaluator_affiliations"
    id: Mapped[int] = mapped_column(primary_key=True)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    domain: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(String(500))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation = relationship("Organisation")

    __table_args__ = (
        CheckConstraint(f"kind in {AFFILIATION_KINDS}", name="kind"),
        # exactly the one value its kind names
        CheckConstraint("(kind = 'organisation') = (organisation_id is not null)", name="organisation_kind"),
        CheckConstraint("(kind = 'domain') = (domain is not null)", name="domain_kind"),
        CheckConstraint("(kind = 'text') = (text is not null)", name="text_kind"),
    )


class CallEvaluator(db.Model):
    """An evaluator serving a call. A call that names none is served by every active evaluator
    (app/services/evaluators.py `pool`)."""

    __tablename__ = "call_evaluators"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("call_id", "evaluator_id", name="uq_call_evaluators_call_evaluator"),)
