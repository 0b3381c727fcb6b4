"""The bridge from stored reviews to the pure `app.ranking` functions, and the hash of the ranking's inputs."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import ranking
from app.extensions import db
from app.models import Application, Assignment, Call
from app.services.audit import canonical_json

RANKED_STATES = ("reviewed", "funded", "reserve", "rejected", "in_review")


def criteria_of(call: Call) -> tuple[ranking.Criterion, ...]:
    return tuple(ranking.Criterion(code=c.code, max_half_points=c.max_half_points, min_half_points=c.min_half_points,
                                   weight=Fraction(c.weight_percent, 100)) for c in call.criteria)


def rules_of(call: Call, budget_cents: int | None = None) -> ranking.Rules:
    return ranking.Rules(
        pass_mark_half_points=call.pass_mark_half_points,
        divergence_threshold_percent=call.divergence_threshold_percent,
        divergence_policy=call.divergence_policy,
        tie_break_keys=tuple(call.tie_break_keys or ("submitted_at",)),
        allocation_policy=call.allocation_policy,
        budget_cents=call.budget_cents if budget_cents is None else budget_cents,
    )


def _entries(call: Call, states=("reviewed",), application_ids: Iterable[int] | None = None) -> list[ranking.Entry]:
    """The entries of the call's applications in `states`, or, given `application_ids`, of exactly those
    applications whatever their state now (the ones a protocol ranked, long after publishing moved them on)."""
    chosen = (Application.status.in_(states) if application_ids is None
              else Application.id.in_(list(application_ids) or [-1]))
    applications = db.session.scalars(
        select(Application).where(Application.call_id == call.id, chosen).order_by(Application.id)
    ).all()
    return _entries_of(call, applications)


def _entries_of(call: Call, applications) -> list[ranking.Entry]:
    """The ranking's view of these applications of `call`: amounts, submission times, the submitted reviews."""
    code_of = {c.id: c.code for c in call.criteria}
    assignments = db.session.scalars(
        select(Assignment).where(Assignment.application_id.in_([a.id for a in applications] or [-1]),
                                 Assignment.status == "submitted")
        .options(selectinload(Assignment.scores)).order_by(Assignment.id)
    ).all()
    by_application: dict[int, list] = {}
    for assignment in assignments:
        by_application.setdefault(assignment.application_id, []).append(ranking.Review(
            review_id=assignment.id,
            scores={code_of[s.criterion_id]: s.half_points for s in assignment.scores}))
    return [ranking.Entry(application_id=a.id, amount_cents=a.amount_cents, submitted_at=a.submitted_at,
                          reviews=tuple(by_application.get(a.id, ()))) for a in applications]


def compute(call: Call, states=("reviewed",), application_ids: Iterable[int] | None = None) -> list[ranking.Ranked]:
    return ranking.rank_and_allocate(_entries(call, states, application_ids), criteria_of(call), rules_of(call))


def _reviews_of(application: Application) -> tuple[ranking.Review, ...]:
    """One application's submitted reviews, loading nothing else of its call."""
    return _entries_of(application.call, [application])[0].reviews


def aggregate_for(application: Application) -> ranking.Aggregate:
    return ranking.aggregate(_reviews_of(application), criteria_of(application.call), rules_of(application.call))


def inputs_hash(call: Call, application_ids: Iterable[int] | None = None) -> str:
    """SHA-256 of everything the ranking depends on: scores, amounts, rules, budget.

    Of the reviewed applications (what `confirm_ranking` ranks and `publish_results` checks), or, given
    `application_ids`, of those applications whatever their state now: the ones a protocol ranked, so that a
    published call (its applications funded, declined, closed…) is re-checked against the same inputs."""
    entries = _entries(call, application_ids=application_ids)
    payload = {
        "rules": rules_of(call).__dict__,
        "criteria": [c.__dict__ | {"weight": str(c.weight)} for c in criteria_of(call)],
        "entries": [{"id": e.application_id, "amount": e.amount_cents, "at": e.submitted_at.isoformat(),
                     "reviews": [[r.review_id, sorted(r.scores.items())] for r in e.reviews]} for e in entries],
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def is_divergent(application: Application) -> bool:
    reviews = _reviews_of(application)
    return len(reviews) >= 2 and ranking.is_divergent(reviews, criteria_of(application.call),
                                                      rules_of(application.call))
