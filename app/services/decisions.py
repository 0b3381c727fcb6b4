"""Results, letters, offers, the reserve list and appeals (DESIGN 2.2, second half)."""
from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app import formatting
from app.extensions import db
from app.i18n import N_
from app.models import Appeal, Application, Assignment, Decision, User
from app.services import jobs
from app.services.calls import awarded_total
from app.services.registry import effect, guard, selector, targets

LETTER_SUBJECTS = {
    "ineligible": N_("Decision on application %(number)s: not eligible"),
    "funded": N_("Decision on application %(number)s: funded"),
    "reserve": N_("Decision on application %(number)s: reserve list"),
    "rejected": N_("Decision on application %(number)s: not funded"),
}


def current_decision(application: Application) -> Decision | None:
    return db.session.scalars(select(Decision).where(Decision.application_id == application.id, Decision.current)
                              ).one_or_none()


def supersede(application: Application, replacement: Decision | None = None) -> Decision | None:
    """Retire the application's current decision, if any, and make `replacement` (if given) the current one.

    The one writer of `Decision.current`: the database allows one current decision per application (a partial
    unique index), so the old one is retired and flushed before the new one is inserted. Returns the decision that
    is now current."""
    old = current_decision(application)
    if old is not None:
        old.current = False
        db.session.flush()
    if replacement is None:
        return None
    replacement.application_id, replacement.current = application.id, True
    db.session.add(replacement)
    db.session.flush()
    return replacement


def send_letter(application: Application, ctx, outcome: str, extra: dict | None = None) -> None:
    """Queue the decision letter (a PDF rendered later) and e-mail it to every member of the NGO."""
    decision = current_decision(application)
    context = {
        "outcome": outcome, "number": application.number, "title": application.title,
        "organisation": application.organisation.name, "call_title": application.call.title_lv,
        "organiser": application.call.organiser.name,
        "call_code": application.call.code, "date": formatting.day(ctx.now),
        "amount": formatting.money(decision.amount_cents if decision else 0),
        "rank": decision.rank if decision else None,
        "total": formatting.points(_fraction(decision.total)) if decision else "",
        "appeal_days": application.call.appeal_days, **(extra or {}),
    }
    members = application.organisation.members
    language = members[0].language if members else "lv"
    document = jobs.queue_document("letter", "application", application.id, language, context,
                                   f"{application.number}-lemums.pdf")
    if decision is not None:
        decision.letter_document_id = document.id
    application.notified_at = ctx.now
    for member in members:
        jobs.notify(member, "decision", LETTER_SUBJECTS[outcome], entity_type="application", entity_id=application.id,
                    document=document, number=application.number, outcome=outcome, title=application.title)


def _fraction(text):
    from fractions import Fraction

    return Fraction(text) if text else None


@effect("letter_decision")
def _letter(ctx):
    send_letter(ctx.entity, ctx, ctx.dest)


@effect("open_offer")
def _open_offer(ctx):
    application = ctx.entity
    application.offer_deadline = ctx.now + timedelta(days=application.call.acceptance_days)
    context = {"number": application.number, "title": application.title, "organisation": application.organisation.name,
               "registration_number": application.organisation.registration_number,
               "iban": application.organisation.iban, "organiser": application.call.organiser.name,
               "amount": formatting.money(current_decision(application).amount_cents),
               "implementation": f"{formatting.day(application.call.implementation_start)}–"
                                 f"{formatting.day(application.call.implementation_end)}",
               "tranches": application.call.payment_tranches,
               "reports": application.call.report_schedule, "call_title": application.call.title_lv}
    document = jobs.queue_document("agreement", "application", application.id, "lv", context,
                                   f"{application.number}-ligums.pdf")
    application.agreement_document_id = document.id


def reserve_in_rank_order(call) -> list[Application]:
    rows = db.session.execute(select(Application, Decision).join(Decision, Decision.application_id == Application.id)
                              .where(Application.call_id == call.id, Application.status == "reserve", Decision.current)
                              ).all()
    return [a for a, d in sorted(rows, key=lambda r: (r[1].rank or 10**9, r[0].id))]


@guard("next_in_reserve")
def _next_in_reserve(ctx):
    queue = reserve_in_rank_order(ctx.entity.call)
    if not queue or queue[0].id != ctx.entity.id:
        return _("Only the next application in rank order (%(number)s) may be promoted.",
                 number=queue[0].number if queue else "—")
    return None


@guard("budget_covers")
def _budget_covers(ctx):
    call = ctx.entity.call
    if awarded_total(call) + ctx.entity.amount_cents > call.budget_cents:
        return _("Not enough money is free: %(free)s remains.",
                 free=formatting.money(call.budget_cents - awarded_total(call), formatting.current_lang()))
    return None


@effect("record_promotion")
def _promote(ctx):
    application = ctx.entity
    old = current_decision(application)
    supersede(application, Decision(protocol_id=old.protocol_id if old else None, outcome="funded",
                                    rank=old.rank if old else None, total=old.total if old else "0",
                                    weighted_total=old.weighted_total if old else "0",
                                    amount_cents=application.amount_cents, override_justification=ctx.note,
                                    decided_at=ctx.now))


@guard("before_offer_deadline")
def _before_offer_deadline(ctx):
    if ctx.entity.offer_deadline is None or ctx.now >= ctx.entity.offer_deadline:
        return _("The offer's acceptance deadline has passed.")
    return None


@effect("record_acceptance")
def _accept(ctx):
    application = ctx.entity
    from app.models import Document

    agreement = jobs.ensure_rendered(db.session.get(Document, application.agreement_document_id))
    application.accepted_by, application.accepted_at = ctx.actor.id, ctx.now
    application.agreement_sha256 = agreement.sha256


@effect("release_award")
def _release(ctx):
    decision = current_decision(ctx.entity)
    if decision is not None and decision.outcome == "funded":
        supersede(ctx.entity)
    admins = db.session.scalars(select(User).where(User.role == "admin", User.active).order_by(User.id)).all()
    for admin in admins:
        if admin.programme_level or ctx.entity.call.organiser_id in admin.organiser_ids:
            jobs.notify(admin, "declined", N_("Offer declined: %(number)s"), entity_type="application",
                        entity_id=ctx.entity.id, number=ctx.entity.number)


def appeal_deadline(application: Application):
    """Notification time plus the delivery allowance in working days, plus the appeal window."""
    if application.notified_at is None:
        return None
    moment, added = application.notified_at, 0
    while added < application.call.delivery_allowance_working_days:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            added += 1
    return moment + timedelta(days=application.call.appeal_days)


@guard("within_appeal_window")
def _within_window(ctx):
    deadline = appeal_deadline(ctx.entity)
    if deadline is None or ctx.now >= deadline:
        return _("The appeal window has closed.")
    return None


def pending_appeal(application: Application) -> Appeal | None:
    return db.session.scalars(select(Appeal).where(Appeal.application_id == application.id,
                                                   Appeal.outcome.is_(None)).order_by(Appeal.id.desc())).first()


@effect("store_appeal")
def _store_appeal(ctx):
    db.session.add(Appeal(application_id=ctx.entity.id, prior_status=ctx.source,
                          grounds=ctx.data.get("grounds") or "procedural", text=ctx.note, filed_by=ctx.actor.id,
                          filed_at=ctx.now))
    db.session.flush()


@guard("not_own_evaluation")
def _not_own(ctx):
    evaluated = db.session.scalar(select(Assignment.id).where(Assignment.application_id == ctx.entity.id,
                                                              Assignment.evaluator_id == ctx.actor.id))
    return _("You evaluated this application; another admin must decide the appeal.") if evaluated else None


@effect("decide_appeal")
def _decide(ctx):
    appeal = pending_appeal(ctx.entity)
    appeal.outcome = "upheld" if ctx.trigger == "uphold_appeal" else "dismissed"
    appeal.decision_reasons, appeal.decided_by, appeal.decided_at = ctx.note, ctx.actor.id, ctx.now
    for member in ctx.entity.organisation.members:
        jobs.notify(member, "appeal_decided", N_("Appeal decided: %(number)s"), entity_type="application",
                    entity_id=ctx.entity.id, number=ctx.entity.number, outcome=appeal.outcome, reasons=ctx.note)


@effect("retire_decision")
def _retire_decision(ctx):
    """Scoring grounds upheld: the old result no longer stands (the cascade then reopens the submitted reviews;
    when the last one is resubmitted the application is reviewed and an admin re-ranks it)."""
    supersede(ctx.entity)


@targets("submitted_reviews")
def _submitted_reviews(ctx):
    return db.session.scalars(select(Assignment).where(
        Assignment.application_id == ctx.entity.id, Assignment.status == "submitted").order_by(Assignment.id)).all()


OUTCOME_OF = {"fund": "funded", "reserve": "reserve", "reject": "rejected"}


@guard("rerank_justified", input=True)
def _rerank_justified(ctx):
    if ctx.actor is None:
        return None  # publish_results: the confirmed protocol is the justification
    return None if ctx.note else _("Write the justification: it goes into the audit trail.")


@guard("rerank_budget")
def _rerank_budget(ctx):
    if ctx.actor is None:
        return None  # publish_results checks the whole allocation against the budget
    return _budget_covers(ctx)


@effect("record_rerank")
def _record_rerank(ctx):
    """An admin's decision on a re-ranked application, with the exact scores it now has."""
    if ctx.actor is None:
        return  # publish_results wrote the Decision from the protocol before firing
    from app import ranking
    from app.services import scoring

    application = ctx.entity
    aggregate = scoring.aggregate_for(application)
    call = application.call
    failures = ranking.pass_failures(aggregate, scoring.criteria_of(call), scoring.rules_of(call))
    supersede(application, Decision(outcome=OUTCOME_OF[ctx.trigger], rank=None, total=str(aggregate.total),
                                    weighted_total=str(aggregate.weighted_total), failures=failures,
                                    amount_cents=application.amount_cents if ctx.trigger == "fund" else 0,
                                    override_justification=ctx.note, decided_at=ctx.now))


def _prior(application) -> str | None:
    appeal = pending_appeal(application)
    return appeal.prior_status if appeal else None


selector("prior_ineligible")(lambda a: _prior(a) == "ineligible")
selector("prior_rejected")(lambda a: _prior(a) == "rejected")
selector("prior_reserve")(lambda a: _prior(a) == "reserve")
selector("eligibility_grounds")(lambda a: _prior(a) == "ineligible")
selector("scoring_grounds")(lambda a: _prior(a) in ("rejected", "reserve"))
