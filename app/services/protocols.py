"""The commission protocol's content: the ranking, each score, each override and the decision."""
from __future__ import annotations

from fractions import Fraction

from sqlalchemy import select

from app import formatting
from app.extensions import db
from app.models import Application, Assignment, Call, RankingProtocol, User


def protocol_context(call: Call, protocol: RankingProtocol) -> dict:
    applications = {a.id: a for a in db.session.scalars(
        select(Application).where(Application.id.in_([r["application_id"] for r in protocol.ranking] or [-1])))}
    confirmed_by = db.session.get(User, protocol.confirmed_by)
    reviews = db.session.execute(
        select(Assignment.application_id, Assignment.id, User.name).join(User, User.id == Assignment.evaluator_id)
        .where(Assignment.application_id.in_(list(applications) or [-1]), Assignment.status == "submitted")
        .order_by(Assignment.application_id, Assignment.id)).all()
    evaluators: dict[int, list[str]] = {}
    for application_id, _id, name in reviews:
        evaluators.setdefault(application_id, []).append(name)
    rows = []
    for row in protocol.ranking:
        application = applications[row["application_id"]]
        rows.append({"rank": row["rank"], "number": application.number, "title": application.title,
                     "organisation": application.organisation.name,
                     "total": formatting.points(Fraction(row["total"])),
                     "weighted_total": formatting.points(Fraction(row["weighted_total"])),
                     "tie_broken_by": row["tie_broken_by"] or "", "decision": row["decision"],
                     "failures": row["failures"], "amount": formatting.money(row["amount_cents"]),
                     "evaluators": evaluators.get(application.id, [])})
    funded = sum(r["amount_cents"] for r in protocol.ranking if r["decision"] == "funded")
    return {"call": {"code": call.code, "title": call.title_lv, "organiser": call.organiser.name,
                     "budget": formatting.money(call.budget_cents),
                     "pass_mark": formatting.points(call.pass_mark_half_points),
                     "allocation_policy": call.allocation_policy, "tie_break_keys": call.tie_break_keys},
            "rows": rows, "funded_total": formatting.money(funded),
            "confirmed_by": confirmed_by.name if confirmed_by else "",
            "confirmed_at": formatting.moment(protocol.confirmed_at), "inputs_sha256": protocol.inputs_sha256}
