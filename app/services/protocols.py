"""The ranking as the commission protocol stores it, its rows as pages and the protocol show them, and the
protocol's content: the ranking, each score, each override and the decision."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import formatting
from app.extensions import db
from app.models import Application, Assignment, Call, RankingProtocol, User
from app.ranking import Ranked


def stored_rows(ranked: list[Ranked]) -> list[dict]:
    """The ranking as `RankingProtocol.ranking` stores it (JSON; totals as exact fractions written as text)."""
    return [{"application_id": r.application_id, "rank": r.rank, "decision": r.decision, "passed": r.passed,
             "failures": list(r.failures), "total": str(r.aggregate.total),
             "weighted_total": str(r.aggregate.weighted_total), "tie_broken_by": r.tie_broken_by,
             "amount_cents": r.amount_cents} for r in ranked]


@dataclass(frozen=True)
class RankingRow:
    """One application's line of a ranking, read back from its stored form."""

    application: Application  # with its organisation loaded
    rank: int | None
    decision: str
    passed: bool
    failures: tuple[str, ...]  # "total_below_pass_mark", "minimum:<criterion code>"
    total: Fraction
    weighted_total: Fraction
    tie_broken_by: str | None  # the key that broke a tie with the row above
    amount_cents: int
    failure_words: tuple[str, ...]  # the failures and the tie-break key in the reader's language
    tie_words: str


def ranking_rows(call: Call, stored: list[dict]) -> list[RankingRow]:
    """The rows of a stored (or just computed, see `stored_rows`) ranking, in its order, with their applications
    loaded in one query: the one reading of a ranking, for the ranking page and the protocol alike."""
    found = {a.id: a for a in db.session.scalars(
        select(Application).where(Application.id.in_([r["application_id"] for r in stored] or [-1]))
        .options(joinedload(Application.organisation)))}
    return [RankingRow(application=found[r["application_id"]], rank=r["rank"], decision=r["decision"],
                       passed=r["passed"], failures=tuple(r["failures"]), total=Fraction(r["total"]),
                       weighted_total=Fraction(r["weighted_total"]), tie_broken_by=r["tie_broken_by"],
                       amount_cents=r["amount_cents"],
                       failure_words=tuple(failure_words(f, call) for f in r["failures"]),
                       tie_words=tie_words(r["tie_broken_by"])) for r in stored]


def failure_words(failure: str, call: Call) -> str:
    """Why an aggregate does not pass (a code of `ranking.pass_failures`), in the reader's language."""
    if failure == "total_below_pass_mark":
        return _("total below the pass mark of %(mark)s points",
                 mark=formatting.points(call.pass_mark_half_points, formatting.current_lang()))
    if failure.startswith("minimum:"):
        return _("below the minimum on criterion %(code)s", code=failure.split(":", 1)[1])
    return failure


def tie_words(key: str | None) -> str:
    if not key:
        return ""
    if key == "submitted_at":
        return _("earlier submission")
    if key == "application_id":
        return _("application order")
    return _("criterion %(code)s", code=key)


def protocol_context(call: Call, protocol: RankingProtocol) -> dict:
    ranking = ranking_rows(call, protocol.ranking)
    confirmed_by = db.session.get(User, protocol.confirmed_by)
    reviews = db.session.execute(
        select(Assignment.application_id, Assignment.id, User.name).join(User, User.id == Assignment.evaluator_id)
        .where(Assignment.application_id.in_([r.application.id for r in ranking] or [-1]),
               Assignment.status == "submitted")
        .order_by(Assignment.application_id, Assignment.id)).all()
    evaluators: dict[int, list[str]] = {}
    for application_id, _id, name in reviews:
        evaluators.setdefault(application_id, []).append(name)
    rows = [{"rank": r.rank, "number": r.application.number, "title": r.application.title,
             "organisation": r.application.organisation.name, "total": formatting.points(r.total),
             "weighted_total": formatting.points(r.weighted_total), "tie_broken_by": r.tie_broken_by or "",
             "decision": r.decision, "failures": list(r.failures), "amount": formatting.money(r.amount_cents),
             "evaluators": evaluators.get(r.application.id, [])} for r in ranking]
    funded = sum(r.amount_cents for r in ranking if r.decision == "funded")
    return {"call": {"code": call.code, "title": call.title_lv, "organiser": call.organiser.name,
                     "budget": formatting.money(call.budget_cents),
                     "pass_mark": formatting.points(call.pass_mark_half_points),
                     "allocation_policy": call.allocation_policy, "tie_break_keys": call.tie_break_keys},
            "rows": rows, "funded_total": formatting.money(funded),
            "confirmed_by": confirmed_by.name if confirmed_by else "",
            "confirmed_at": formatting.moment(protocol.confirmed_at), "inputs_sha256": protocol.inputs_sha256}
