"""From the signed agreement to the closed grant: payments, recoveries, termination (DESIGN 2.2, 2.4)."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import clock, formatting
from app.extensions import db
from app.models import Application, Grant, Payment, Recovery, Report
from app.services import audit, jobs
from app.services.decisions import current_decision
from app.services.registry import effect, guard, system_note, targets


# The events a tranche may wait for, in words. "sign" is due at signing (`_create_grant`); the report events are
# released when that report is approved (`release_report_payments`, run by app/services/reporting.py's approve
# effect). A tranche may instead be due from a Riga calendar date (its row has "due_on" and no "on").
TRANCHE_EVENTS = {"sign": _l("on signing the agreement"),
                  "interim_report_approved": _l("after the interim report is approved"),
                  "final_report_approved": _l("after the final report is approved")}
REPORT_EVENTS = {"interim": "interim_report_approved", "final": "final_report_approved"}  # report kind → event
_WAITING = {"interim_report_approved": _l("This tranche is not due yet: it waits for the approved interim report."),
            "final_report_approved": _l("This tranche is not due yet: it waits for the approved final report.")}


def tranche_amounts(total_cents: int, percents: list[int]) -> list[int]:
    """Split to the cent; the last tranche takes the remainder so the parts always add up to the total."""
    parts = [total_cents * p // 100 for p in percents[:-1]]
    return parts + [total_cents - sum(parts)]


def tranche_when(item, lang: str | None = None) -> str:
    """When a tranche is paid, in words: a call's row ({"on": "sign"} / {"due_on": "2023-01-15"}) or a Payment."""
    from flask_babel import force_locale

    if isinstance(item, Payment):
        on, due_on = item.due_on_event, item.due_on
    else:
        on, due_on = item.get("on"), item.get("due_on")
    lang = lang or formatting.current_lang()
    with force_locale(lang):
        if due_on:
            day = due_on if isinstance(due_on, date) else date.fromisoformat(due_on)
            return _("from %(date)s", date=formatting.day(day, lang))
        return str(TRANCHE_EVENTS[on]) if on in TRANCHE_EVENTS else _("when the agreement says")


def _due_on(tranche: dict) -> date | None:
    return date.fromisoformat(tranche["due_on"]) if tranche.get("due_on") else None


@effect("create_grant")
def _create_grant(ctx):
    application, call = ctx.entity, ctx.entity.call
    amount = current_decision(application).amount_cents
    db.session.add(Grant(application_id=application.id, amount_cents=amount, starts_on=call.implementation_start,
                         ends_on=call.implementation_end, signed_by=ctx.actor.id, signed_at=ctx.now))
    tranches = call.payment_tranches or [{"percent": 100, "on": "sign"}]
    for number, (tranche, cents) in enumerate(zip(tranches, tranche_amounts(amount, [t["percent"] for t in tranches])),
                                              start=1):
        due_on = _due_on(tranche)  # a dated tranche is scheduled now and payable from its date (`_payment_due`)
        event = None if due_on else tranche["on"]
        payment = Payment(application_id=application.id, tranche=number, percent=tranche["percent"],
                          due_on_event=event, due_on=due_on, amount_cents=cents, status="scheduled",
                          scheduled_at=ctx.now if event == "sign" else None)
        db.session.add(payment)
        db.session.flush()
        audit.record("payment", payment.id, "schedule", None, "scheduled", ctx.actor.id, caused_by=ctx.cause(),
                     data={"amount_cents": cents, **({"due_on": due_on.isoformat()} if due_on else {"on": event})})
    for item in call.report_schedule:
        report = Report(application_id=application.id, kind=item["kind"], due_on=date.fromisoformat(item["due_on"]),
                        status="draft", content={})
        db.session.add(report)
        db.session.flush()
        audit.record("report", report.id, "create", None, "draft", ctx.actor.id, caused_by=ctx.cause())
    for member in application.organisation.members:
        jobs.notify(member, "signed", _l("Agreement signed: %(number)s"), entity_type="application",
                    entity_id=application.id, number=application.number,
                    amount=formatting.money(amount, member.language))


def release_report_payments(report: Report, now) -> None:
    """The tranches waiting for this report's approval become due now."""
    event = REPORT_EVENTS.get(report.kind)
    for payment in db.session.scalars(select(Payment).where(
            Payment.application_id == report.application_id, Payment.status == "scheduled",
            Payment.due_on_event == event, Payment.scheduled_at.is_(None))):
        payment.scheduled_at = now


def grant_of(application: Application) -> Grant | None:
    return db.session.scalar(select(Grant).where(Grant.application_id == application.id))


def paid_total(application: Application) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
        Payment.application_id == application.id, Payment.status == "paid")) or 0


system_note("agreement_terminated", _l("The agreement was terminated."))  # on each tranche the termination cancels


@effect("terminate_grant")
def _terminate(ctx):
    application = ctx.entity
    grant_of(application).termination_reason = ctx.note
    paid = paid_total(application)  # the scheduled tranches are cancelled next (the transition's cascade)
    demanded = min(ctx.data.get("recovery_cents", paid), paid) if ctx.trigger == "terminate" else paid
    if demanded > 0:
        recovery = Recovery(application_id=application.id, amount_cents=demanded,
                            status="demanded", reason=ctx.note, demanded_at=ctx.now)
        db.session.add(recovery)
        db.session.flush()
        audit.record("recovery", recovery.id, "demand", None, "demanded",
                     ctx.actor.id if ctx.actor else None, caused_by=ctx.cause(),
                     data={"amount_cents": recovery.amount_cents})


@targets("scheduled_payments")
def _scheduled_payments(ctx):
    return db.session.scalars(select(Payment).where(Payment.application_id == ctx.entity.id,
                                                    Payment.status == "scheduled").order_by(Payment.id)).all()


@guard("grant_settled")
def _settled(ctx):
    application = ctx.entity
    open_reports = db.session.scalar(select(func.count(Report.id)).where(
        Report.application_id == application.id, Report.status != "approved"))
    open_payments = db.session.scalar(select(func.count(Payment.id)).where(
        Payment.application_id == application.id, Payment.status == "scheduled"))
    open_recoveries = db.session.scalar(select(func.count(Recovery.id)).where(
        Recovery.application_id == application.id, Recovery.status == "demanded"))
    if open_reports:
        return _("%(n)s reports are not yet approved.", n=open_reports)
    if open_payments:
        return _("%(n)s payments are still scheduled: pay or cancel them first.", n=open_payments)
    if open_recoveries:
        return _("A recovery is not settled.")
    return None


# --- payments and recoveries --------------------------------------------------------------------------------

def not_due_reason(payment: Payment, now) -> str | None:
    """Why `payment` may not be paid yet at `now`, or None when it is due: the one home of "is due", read by the
    pay guard and by the list of payments due (app/services/payment_batches.py). A dated tranche is payable from
    its Riga calendar date; an event's once the event has happened."""
    if payment.due_on is not None:
        if clock.to_riga(now).date() < payment.due_on:
            return _("This tranche is not due yet: it is paid from %(date)s.",
                     date=formatting.day(payment.due_on, formatting.current_lang()))
        return None
    if payment.scheduled_at is None:
        return str(_WAITING.get(payment.due_on_event, _WAITING["final_report_approved"]))
    return None


@guard("payment_due")
def _payment_due(ctx):
    return not_due_reason(ctx.entity, ctx.now)


@guard("paid_within_grant")
def _within_grant(ctx):
    application = db.session.get(Application, ctx.entity.application_id)
    grant = grant_of(application)
    if paid_total(application) + ctx.entity.amount_cents > grant.amount_cents:
        return _("Paying this would exceed the grant.")
    return None


@guard("bank_reference_given", input=True)
def _bank_reference(ctx):
    return None if (ctx.data.get("bank_reference") or "").strip() else _("Enter the bank reference of the transfer.")


@effect("record_payment")
def _record_payment(ctx):
    ctx.entity.paid_on = ctx.data.get("paid_on") or clock.to_riga(ctx.now).date()  # the Riga day, as the guard
    ctx.entity.bank_reference = ctx.data["bank_reference"].strip()


@effect("settle_recovery")
def _settle(ctx):
    ctx.entity.settled_at = ctx.now
    if ctx.trigger == "write_off":
        ctx.entity.write_off_reason = ctx.note
