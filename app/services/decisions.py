"""Results, letters, offers, the reserve list and appeals (DESIGN 2.2, second half)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import exists, select

from app import formatting, working_days
from app.extensions import db
from app.models import Appeal, Application, Assignment, Decision, User
from app.services import jobs
from app.services.calls import awarded_total
from app.services.registry import effect, guard, selector, system_note, targets
from workflows.application import APPLICATION

LETTER_SUBJECTS = {
    "ineligible": _l("Decision on application %(number)s: not eligible"),
    "funded": _l("Decision on application %(number)s: funded"),
    "reserve": _l("Decision on application %(number)s: reserve list"),
    "rejected": _l("Decision on application %(number)s: not funded"),
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
    language = letter_language(application)  # the NGO's, never the language of the admin whose move sent it
    context = {
        "outcome": outcome, "number": application.number, "title": application.title,
        "organisation": application.organisation.name, "call_title": application.call.title(language),
        "organiser": application.call.organiser.name,
        "call_code": application.call.code, "date": formatting.day(ctx.now, language),
        "amount": formatting.money(decision.amount_cents if decision else 0, language),
        "rank": decision.rank if decision else None,
        "total": formatting.points(_fraction(decision.total), language) if decision else "",
        "appeal_days": application.call.appeal_days,
        "summary": evaluation_summary_rows(application, language) if outcome in SUMMARISED else [],
        **(extra or {}),
    }
    members = application.organisation.members
    application.notified_at = ctx.now
    last_day = appeal_last_day(application) if outcome in APPEALABLE else None
    if last_day is not None:
        context["appeal_until"] = formatting.until_day(last_day, language)
    document = jobs.queue_document("letter", "application", application.id, language, context,
                                   f"{application.number}-lemums.pdf")
    if decision is not None:
        decision.letter_document_id = document.id
    for member in members:
        jobs.notify(member, "decision", LETTER_SUBJECTS[outcome], entity_type="application", entity_id=application.id,
                    document=document, number=application.number, outcome=outcome, title=application.title,
                    appeal_until=formatting.until_day(last_day, member.language))


SUMMARISED = ("funded", "reserve", "rejected")  # the letters that carry the evaluation summary


def letter_language(application: Application) -> str:
    """The language of an application's letters: that of the member who created it, while still a member; else
    of the organisation's first member; Latvian when it has none."""
    members = sorted(application.organisation.members, key=lambda m: m.id)
    author = next((m for m in members if m.id == application.created_by), None)
    chosen = author or (members[0] if members else None)
    return chosen.language if chosen is not None and chosen.language in ("lv", "en") else "lv"


def evaluation_summary_rows(application: Application, language: str) -> list[dict]:
    """The evaluation summary in `language`: each criterion's mean of the counted reviews, its maximum, and the
    evaluators' comments numbered, never named (DESIGN 3)."""
    from app.services.pages import evaluation_summary  # pages reads this module

    try:
        summary = evaluation_summary(application)
    except (ValueError, IndexError):  # no counted review (an ineligible application has none)
        return []
    return [{"code": c.code, "title": c.title(language),
             "mean": formatting.points(summary.aggregate.per_criterion.get(c.code), language),
             "max": formatting.points(c.max_half_points, language),
             "comments": [[number, text] for number, text in summary.comments.get(c.id, [])]}
            for c in application.call.criteria]


def _fraction(text):
    from fractions import Fraction

    return Fraction(text) if text else None


@effect("letter_decision")
def _letter(ctx):
    send_letter(ctx.entity, ctx, ctx.dest)


@effect("open_offer")
def _open_offer(ctx):
    application = ctx.entity
    """The offer: its deadline, and the agreement queued (rendered by the worker before the offer's message leaves,
    app/services/jobs.py `deliver`), so that the NGO accepts a fixed document."""
    from app.services import agreements

    application = ctx.entity
    application.offer_deadline = ctx.now + timedelta(days=application.call.acceptance_days)
    agreements.issue_with_offer(application)


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


system_note("offer_deadline_passed", _l("The offer's acceptance deadline has passed."))  # the clock's decline


@guard("before_offer_deadline")
def _before_offer_deadline(ctx):
    if ctx.entity.offer_deadline is None or ctx.now >= ctx.entity.offer_deadline:
        return _("The offer's acceptance deadline has passed.")
    return None


@effect("record_acceptance")
def _accept(ctx):
    """Who, when, and the SHA-256 of the agreement PDF accepted; never rendered here (the `agreement_issued` guard
    refuses an acceptance before the worker rendered it)."""
    from app.services import agreements

    agreements.record_acceptance(ctx.entity, ctx.actor, ctx.now, ctx.data.get("via") or "online")


@effect("release_award")
def _release(ctx):
    decision = current_decision(ctx.entity)
    if decision is not None and decision.outcome == "funded":
        supersede(ctx.entity)
    admins = db.session.scalars(select(User).where(User.role == "admin", User.active).order_by(User.id)).all()
    for admin in admins:
        if admin.programme_level or ctx.entity.call.organiser_id in admin.organiser_ids:
            jobs.notify(admin, "declined", _l("Offer declined: %(number)s"), entity_type="application",
                        entity_id=ctx.entity.id, number=ctx.entity.number)


APPEALABLE = frozenset(s for tr in APPLICATION.transitions if tr.trigger == "appeal" for s in tr.source)


def appeal_last_day(application: Application) -> date | None:
    """The last day (Riga calendar, inclusive) on which the NGO may appeal: the letter's day plus the call's
    delivery allowance in Latvian working days, plus the appeal window in calendar days (app/working_days.py)."""
    if application.notified_at is None:
        return None
    call = application.call
    return working_days.last_day_of_window(application.notified_at, call.delivery_allowance_working_days,
                                           call.appeal_days)


def appeal_deadline(application: Application) -> datetime | None:
    """The first moment the appeal window is closed (00:00 Riga after its last day, exclusive), in UTC."""
    last = appeal_last_day(application)
    return working_days.end_of_day(last) if last else None


@guard("within_appeal_window")
def _within_window(ctx):
    deadline = appeal_deadline(ctx.entity)
    if deadline is None or ctx.now >= deadline:
        return _("The appeal window has closed.")
    return None


def open_appeal_windows(call, now: datetime) -> list[tuple[Application, date]]:
    """The call's applications whose decision may still be appealed at `now`, with each window's last day."""
    candidates = db.session.scalars(select(Application).where(
        Application.call_id == call.id, Application.status.in_(APPEALABLE), Application.notified_at.is_not(None))
        .order_by(Application.id)).all()
    return [(a, appeal_last_day(a)) for a in candidates if now < appeal_deadline(a)]


def undecided_appeals(call) -> list[Application]:
    # EXISTS, not DISTINCT: PostgreSQL's json (applications.content) has no equality to tell rows apart
    undecided = exists().where(Appeal.application_id == Application.id, Appeal.outcome.is_(None))
    return db.session.scalars(select(Application).where(Application.call_id == call.id, undecided)
                              .order_by(Application.id)).all()


@guard("appeals_settled")
def _appeals_settled(ctx):
    """A call is completed only once no decision of it can still be appealed and every appeal is decided."""
    lang = formatting.current_lang()
    problems = []
    windows = open_appeal_windows(ctx.entity, ctx.now)
    if windows:
        problems.append(ngettext("%(num)s decision can still be appealed, %(until)s.",
                                 "%(num)s decisions can still be appealed, the last %(until)s.", len(windows),
                                 until=formatting.until_day(max(day for _a, day in windows), lang)))
    undecided = undecided_appeals(ctx.entity)
    if undecided:
        problems.append(ngettext("%(num)s appeal is not yet decided: %(numbers)s.",
                                 "%(num)s appeals are not yet decided: %(numbers)s.", len(undecided),
                                 numbers=", ".join(a.number for a in undecided)))
    return " ".join(problems) or None


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
        jobs.notify(member, "appeal_decided", _l("Appeal decided: %(number)s"), entity_type="application",
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
