"""The call: setting it up, announcing it, and the moves of its lifecycle (DESIGN 2.1)."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import formatting
from app.errors import Refused
from app.extensions import db
from app.models import Application, Assignment, Call, Check, Criterion, Decision, NumberCounter, RankingProtocol, User
from app.services import attachments, audit, call_drafts, jobs, questions, scoring
from app.services.audit import canonical_json
from app.services.registry import effect, guard, targets
from app.services.workflow import fire, lock
from workflows.application import APPLICATION

PENDING_CHECK_STATES = ("submitted", "clarification", "appealed")


def create(organiser_id: int, actor: User, **fields) -> Call:
    call = Call(organiser_id=organiser_id, status="draft", **fields)
    db.session.add(call)
    db.session.flush()
    db.session.add(NumberCounter(call_id=call.id, last_number=0))
    audit.record("call", call.id, "create", None, "draft", actor.id, data={"code": call.code})
    return call


def add_criterion(call: Call, **fields) -> Criterion:
    _require_draft(call)
    criterion = Criterion(call=call, position=len(call.criteria), **fields)
    db.session.add(criterion)
    return criterion


def add_check(call: Call, **fields) -> Check:
    _require_draft(call)
    check = Check(call=call, position=len(call.checks), **fields)
    db.session.add(check)
    return check


def update_draft(call: Call, actor: User, fields: dict) -> list[str]:
    """Change a draft's settings; records which fields changed. Announced calls are frozen."""
    lock(call)
    _require_draft(call)
    changed = sorted(name for name, value in fields.items() if getattr(call, name) != value)
    for name in changed:
        setattr(call, name, fields[name])
    if changed:
        audit.record("call", call.id, "edit", "draft", "draft", actor.id, data={"changed": changed})
    return changed


def remove_from_draft(call: Call, item: Criterion | Check) -> None:
    lock(call)
    _require_draft(call)
    db.session.delete(item)


def _require_draft(call: Call) -> None:
    if call.status != "draft":
        raise Refused(_("The call is announced; its definition is frozen."))


def definition(call: Call, *, evaluation_settings: bool = True) -> dict:
    """Everything the regulations promise, as data: what announce freezes and hashes.

    Every setting that can change a result is in it: the pass mark, the criteria with their minimums and weights,
    the tie-break keys, the allocation policy, the budget, and (`evaluation_settings`) the evaluators per
    application and the divergence threshold and policy. Calls frozen before those three were hashed are re-checked
    with `evaluation_settings=False` (`frozen_definition_matches`)."""
    found = {
        "code": call.code, "title_lv": call.title_lv, "title_en": call.title_en,
        "funding_mode": call.funding_mode, "amount_cents": call.amount_cents,
        "min_amount_cents": call.min_amount_cents, "max_amount_cents": call.max_amount_cents,
        "budget_cents": call.budget_cents, "opens_at": call.opens_at, "closes_at": call.closes_at,
        "decision_on": call.decision_on, "implementation": [call.implementation_start, call.implementation_end],
        "pass_mark_half_points": call.pass_mark_half_points, "tie_break_keys": call.tie_break_keys,
        "allocation_policy": call.allocation_policy, "report_schedule": call.report_schedule,
        "payment_tranches": call.payment_tranches,
        "criteria": [[c.code, c.title_lv, c.title_en, c.max_half_points, c.step_half_points, c.min_half_points,
                      c.weight_percent] for c in call.criteria],
        "checks": [[c.code, c.title_lv, c.title_en, c.automatic] for c in call.checks],
        **({"cost_categories": [[c.code, c.label_lv, c.label_en, c.cap_percent] for c in call.cost_categories]}
           if call.funding_mode == "budgeted" else {}),  # a lump-sum call's hash stays what it was
    }
    if evaluation_settings:
        found["evaluation"] = {"evaluators_per_application": call.evaluators_per_application,
                               "divergence_threshold_percent": call.divergence_threshold_percent,
                               "divergence_policy": call.divergence_policy}
    if call.max_assignments_per_evaluator is not None:  # only when set: a call without keeps the hash it had
        found["max_assignments_per_evaluator"] = call.max_assignments_per_evaluator
    if call.questions:  # only when there are some, so a call without questions keeps the hash it always had
        found["questions"] = questions.definition(call)
    types = attachments.definition(call)
    if types:  # likewise: the attachment types, frozen with the call
        found["attachment_types"] = types
    return found


def definition_sha256(call: Call, *, evaluation_settings: bool = True) -> str:
    return hashlib.sha256(canonical_json(definition(call, evaluation_settings=evaluation_settings)).encode()
                          ).hexdigest()


def frozen_definition_matches(call: Call) -> str | None:
    """Whether the call's settings are still those announce froze: "current" (hashed as today), "legacy" (frozen
    before the evaluation settings were hashed: those are then not covered), or None (something changed)."""
    if call.definition_sha256 is None:
        return None
    if call.definition_sha256 == definition_sha256(call):
        return "current"
    if call.definition_sha256 == definition_sha256(call, evaluation_settings=False):
        return "legacy"
    return None


# --- guards -----------------------------------------------------------------------------------------------

@guard("call_definition_valid")
def _definition_valid(ctx):
    found = call_drafts.definition_problems(ctx.entity)  # the announce summary lists them all
    return found[0].message if found else None


@guard("call_dates_ordered")
def _dates_ordered(ctx):
    found = call_drafts.date_problems(ctx.entity)
    return found[0].message if found else None


@guard("call_period_long_enough", input=True)
def _period_long_enough(ctx):
    c = ctx.entity
    if c.closes_at - c.opens_at < timedelta(days=30) and not ctx.data.get("confirm_short_period"):
        return _("Fewer than 30 days between opening and deadline. Tick the confirmation to announce anyway.")
    return None


@guard("new_deadline_later", input=True)
def _new_deadline_later(ctx):
    new = ctx.data.get("closes_at")
    if new is None or new <= ctx.entity.closes_at:
        return _("The new deadline must be later than the current one.")
    return None


@guard("new_deadline_in_future", input=True)
def _new_deadline_in_future(ctx):
    new = ctx.data.get("closes_at")
    if new is None or new <= ctx.now:
        return _("The new deadline must be in the future.")
    return None


@guard("no_application_pending_checks")
def _no_pending(ctx):
    pending = db.session.scalar(select(func.count(Application.id)).where(
        Application.call_id == ctx.entity.id, Application.status.in_(PENDING_CHECK_STATES)))
    if pending:
        return _("%(n)s applications still wait for their checks, a clarification or an appeal.", n=pending)
    return None


def missing_reviews(call: Call) -> list[Application]:
    """Applications in review short of their required reviews, or flagged as divergent."""
    in_review = db.session.scalars(select(Application).where(
        Application.call_id == call.id, Application.status == "in_review").order_by(Application.id)).all()
    counts = dict(db.session.execute(
        select(Assignment.application_id, func.count(Assignment.id))
        .where(Assignment.application_id.in_([a.id for a in in_review] or [-1]), Assignment.status == "submitted")
        .group_by(Assignment.application_id)).all())
    return [a for a in in_review
            if counts.get(a.id, 0) < call.evaluators_per_application + (1 if a.divergent else 0)]


@guard("reviews_complete")
def _reviews_complete(ctx):
    missing = missing_reviews(ctx.entity)
    if missing:
        return _("Reviews are missing for: %(numbers)s.", numbers=", ".join(a.number for a in missing))
    return None


def latest_protocol(call: Call) -> RankingProtocol | None:
    return db.session.scalars(select(RankingProtocol).where(RankingProtocol.call_id == call.id)
                              .order_by(RankingProtocol.id.desc()).limit(1)).first()


@guard("ranking_confirmed")
def _ranking_confirmed(ctx):
    if latest_protocol(ctx.entity) is None:
        return _("Confirm the ranking first: the commission protocol is not yet stored.")
    return None


@guard("protocol_current", costly=True)  # hashes every score, amount and the budget
def _protocol_current(ctx):
    protocol = latest_protocol(ctx.entity)
    if protocol.inputs_sha256 != scoring.inputs_hash(ctx.entity):
        return _("Scores, amounts or the budget changed since the ranking was confirmed. Confirm it again.")
    return None


@guard("awards_within_budget")
def _within_budget(ctx):
    protocol = latest_protocol(ctx.entity)
    funded = sum(row["amount_cents"] for row in protocol.ranking if row["decision"] == "funded")
    if funded > ctx.entity.budget_cents:
        return _("The awards exceed the budget.")
    return None


@guard("grants_all_ended")
def _grants_ended(ctx):
    open_grants = db.session.scalar(select(func.count(Application.id)).where(
        Application.call_id == ctx.entity.id, Application.status.in_(APPLICATION.groups["award_open"])))
    if open_grants:
        return _("%(n)s grants are not yet closed or terminated.", n=open_grants)
    from app.models import Recovery

    unsettled = db.session.scalar(select(func.count(Recovery.id)).join(
        Application, Application.id == Recovery.application_id).where(
        Application.call_id == ctx.entity.id, Recovery.status == "demanded"))
    if unsettled:
        return _("%(n)s recoveries are not settled.", n=unsettled)
    return None


# --- effects ----------------------------------------------------------------------------------------------

@effect("freeze_call")
def _freeze(ctx):
    call = ctx.entity
    call.frozen_at = ctx.now
    call.definition_sha256 = definition_sha256(call)


@effect("render_regulations")
def _regulations(ctx):
    call = ctx.entity
    document = jobs.queue_document("regulations", "call", call.id, "lv", regulations_context(call),
                                   f"{call.code}-nolikums.pdf")
    call.regulations_document_id = document.id


def regulations_context(call: Call) -> dict:
    return {
        "call": {"code": call.code, "title_lv": call.title_lv, "title_en": call.title_en,
                 "description_lv": call.description_lv, "description_en": call.description_en,
                 "funder": call.funder, "programme": call.programme, "organiser": call.organiser.name,
                 "funding_mode": call.funding_mode, "amount": formatting.money(call.amount_cents),
                 "budget": formatting.money(call.budget_cents), "opens": formatting.day(call.opens_at),
                 "deadline": formatting.deadline(call.closes_at), "decision": formatting.day(call.decision_on),
                 "implementation": f"{formatting.day(call.implementation_start)}–"
                                   f"{formatting.day(call.implementation_end)}",
                 "pass_mark": formatting.points(call.pass_mark_half_points),
                 "definition_sha256": call.definition_sha256},
        "criteria": [{"code": c.code, "title": c.title_lv, "max": formatting.points(c.max_half_points),
                      "min": formatting.points(c.min_half_points) if c.min_half_points is not None else ""}
                     for c in call.criteria],
        "checks": [{"code": c.code, "title": c.title_lv} for c in call.checks],
        **application_contents(call),
        "reports": [{"kind": r["kind"], "due": formatting.day(_iso_day(r["due_on"]))} for r in call.report_schedule],
        "tranches": call.payment_tranches,
    }


def application_contents(call: Call) -> dict:
    """What an application to the call holds besides the fixed form, as the regulations and the public page list
    it: the call's own questions, the attachment types, and the cost categories of a budgeted call."""
    return {  # a question's kind and step as keys: the document names them in its own language (question_labels)
        "questions": [{"label": q.label_lv, "kind": q.kind, "step": q.step,
                       "required": q.required} for q in call.questions],
        "attachment_types": [{"label": t.label_lv, "formats": attachments.formats_text(t.formats),
                              "required": t.required} for t in attachments.types_of(call)],
        "cost_categories": [{"label": c.label_lv, "cap": c.cap_percent} for c in call.cost_categories]
        if call.funding_mode == "budgeted" else [],
    }


def _iso_day(text):
    from datetime import date

    return date.fromisoformat(text)


def announcement_recipients() -> list[User]:
    """Members of registered organisations who may hear of a new call: confirmed, active, not opted out."""
    return db.session.scalars(select(User).where(
        User.role == "applicant", User.organisation_id.is_not(None), User.active, User.unconfirmed_since.is_(None),
        User.pseudonymised_at.is_(None), User.announcements_opt_out.is_(False)).order_by(User.id)).all()


def set_announcements_opt_out(user: User, opt_out: bool) -> None:
    """The member's own "Do not e-mail me new calls" (a preference, not part of any record: no audit event)."""
    user.announcements_opt_out = opt_out


@effect("notify_call_announced")
def _notify_announced(ctx):
    call = ctx.entity
    for user in announcement_recipients():
        jobs.notify(user, "call_announced", _l("New call: %(title)s"), entity_type="call", entity_id=call.id,
                    code=call.code, title=call.title(user.language), organiser=call.organiser.name,
                    opens=formatting.moment(call.opens_at, user.language),
                    deadline=formatting.deadline(call.closes_at, user.language))


@effect("set_deadline")
def _set_deadline(ctx):
    ctx.entity.closes_at = ctx.data["closes_at"]


def _members_with_drafts(call: Call) -> list[User]:
    return db.session.scalars(select(User).join(Application, Application.organisation_id == User.organisation_id)
                              .where(Application.call_id == call.id, Application.status == "draft")
                              .distinct().order_by(User.id)).all()


@effect("notify_draft_owners")
def _notify_drafts(ctx):
    for user in _members_with_drafts(ctx.entity):
        jobs.notify(user, "deadline_extended", _l("Deadline extended: %(code)s"), entity_type="call",
                    entity_id=ctx.entity.id, code=ctx.entity.code,
                    deadline=formatting.deadline(ctx.entity.closes_at, user.language), reason=ctx.note)


@effect("notify_organisations")
def _notify_all(ctx):
    for user in db.session.scalars(select(User).where(User.role == "applicant", User.active).order_by(User.id)):
        jobs.notify(user, "call_reopened", _l("Call reopened: %(code)s"), entity_type="call",
                    entity_id=ctx.entity.id, code=ctx.entity.code,
                    deadline=formatting.deadline(ctx.entity.closes_at, user.language), reason=ctx.note)


@effect("notify_applicants_cancelled")
def _notify_cancelled(ctx):
    users = db.session.scalars(select(User).join(Application, Application.organisation_id == User.organisation_id)
                               .where(Application.call_id == ctx.entity.id).distinct().order_by(User.id)).all()
    for user in users:
        jobs.notify(user, "call_cancelled", _l("Call cancelled: %(code)s"), entity_type="call",
                    entity_id=ctx.entity.id, code=ctx.entity.code, reason=ctx.note)


def _applications(call: Call, status: str) -> list[Application]:
    return db.session.scalars(select(Application).where(Application.call_id == call.id, Application.status == status)
                              .order_by(Application.id).with_for_update()).all()


@targets("eligible_applications")
def _eligible(ctx):
    return _applications(ctx.entity, "eligible")


@targets("applications_in_review")
def _in_review(ctx):
    return _applications(ctx.entity, "in_review")


@targets("applications_on_reserve")
def _on_reserve(ctx):
    return _applications(ctx.entity, "reserve")


@effect("store_protocol")
def _store_protocol(ctx):
    from app.services import protocols  # it reads the ranking through scoring, as this module does

    protocols.store(ctx.entity, ctx.actor, ctx.now)  # numbered within the call, under the call's lock (fire)


@effect("apply_decisions")
def _apply_decisions(ctx):
    """Each reviewed application's Decision from the confirmed protocol; the cascades then move them."""
    from app.services.decisions import supersede  # decisions imports this module

    protocol = latest_protocol(ctx.entity)
    by_id = {row["application_id"]: row for row in protocol.ranking}
    for application in _applications(ctx.entity, "reviewed"):
        row = by_id[application.id]
        supersede(application, Decision(protocol_id=protocol.id, outcome=row["decision"], rank=row["rank"],
                                        total=row["total"], weighted_total=row["weighted_total"],
                                        tie_broken_by=row["tie_broken_by"], failures=row["failures"],
                                        amount_cents=row["amount_cents"] if row["decision"] == "funded" else 0,
                                        decided_at=ctx.now))


def _ranked(ctx, outcome: str) -> list[Application]:
    """The reviewed applications the confirmed protocol gives `outcome`, in id order."""
    chosen = {row["application_id"] for row in latest_protocol(ctx.entity).ranking if row["decision"] == outcome}
    return [a for a in _applications(ctx.entity, "reviewed") if a.id in chosen]


targets("ranked_funded")(lambda ctx: _ranked(ctx, "funded"))
targets("ranked_reserve")(lambda ctx: _ranked(ctx, "reserve"))
targets("ranked_rejected")(lambda ctx: _ranked(ctx, "rejected"))


# --- operations -------------------------------------------------------------------------------------------

def announce(call: Call, actor: User, confirm_short_period: bool = False):
    return fire(call, "announce", actor, confirm_short_period=confirm_short_period)


def extend_deadline(call: Call, actor: User, closes_at, reason: str):
    return fire(call, "extend_deadline", actor, reason, closes_at=closes_at)


def reopen(call: Call, actor: User, closes_at, reason: str):
    return fire(call, "reopen", actor, reason, closes_at=closes_at)


def awarded_conditions() -> tuple:
    """What counts as awarded: the current decision to fund, while the application holds the award (declined,
    terminated and withdrawn ones do not). Used with a join of Decision to Application."""
    return (Decision.current, Decision.outcome == "funded", Application.status.in_(APPLICATION.groups["holds_award"]))


def awarded_total(call: Call) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(Decision.amount_cents), 0)).join(Application)
        .where(Application.call_id == call.id, *awarded_conditions())) or 0
