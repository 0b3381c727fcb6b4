"""Grantees' reports (DESIGN 2.4, issue 8): the schedule's due dates and the one rule of "overdue", when a report may
be submitted, the form's parts (counts, indicators against the plan, spending against the budget, files, the
declaration), each submission round kept, reminders before and after the due date, a shortfall's recovery."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import NotFound

from app import clock, formatting
from app.errors import Refused
from app.extensions import db
from app.models import Application, Attachment, AttachmentDownload, Payment, Recovery, Report, ReportReminder, ReportRound, User
from app.services import audit, jobs
from app.services.registry import effect, guard
from app.services.workflow import fire

EDITABLE = ("draft", "changes_requested")
OUTSTANDING = EDITABLE  # the grantee still owes it: the home of "overdue" with `is_overdue` and `overdue_clause`
REMIND_BEFORE = timedelta(days=7)
MAX_COUNT = 100_000  # participants: more is a typing mistake, not a youth project
MAX_ACHIEVED = 10_000_000  # an indicator's achieved value, as its target (app/forms/applications.py)
MAX_COMMENT = 2000
MAX_SPENT_CENTS = 100_000_000_00
STAFF = ("admin", "auditor")
# kind → (label msgid, formats recognised from the content, restricted: only admins and auditors may open it)
FILE_KINDS = {
    "participant_list": (_l("Participant list"), ("pdf", "docx", "xlsx", "odt"), True),
    "photo": (_l("Photo"), ("jpg", "png"), False),
    "publicity": (_l("Proof of publicity"), ("pdf", "jpg", "png", "docx"), False),
}


# --- due dates: the one rule of "overdue" ----------------------------------------------------------------------

def riga_today(now: datetime | None = None) -> date:
    return clock.to_riga(now or clock.now()).date()


def is_overdue(report: Report, today: date | None = None) -> bool:
    """Owed (a draft, or sent back for changes) and its due date (a Riga day) has passed. Derived, never stored."""
    return report.status in OUTSTANDING and report.due_on < (today or riga_today())


def overdue_clause(today: date):
    """`is_overdue` as a where-clause, for counting (app/services/dashboards.py)."""
    return and_(Report.status.in_(OUTSTANDING), Report.due_on < today)


def upcoming_clause(today: date):
    return and_(Report.status.in_(OUTSTANDING), Report.due_on >= today)


def reports_of(application: Application) -> list[Report]:
    return db.session.scalars(select(Report).where(Report.application_id == application.id)
                              .order_by(Report.due_on, Report.id)).all()


# --- when a report may be submitted ------------------------------------------------------------------------------

def period_opens(report: Report) -> date:
    """The first Riga day the report may be submitted: the interim one once implementation began, the final one
    on the day implementation ends."""
    from app.services.grants import grant_of

    grant, call = grant_of(report.application), report.application.call
    if report.kind == "final":
        return grant.ends_on if grant else call.implementation_end
    return grant.starts_on if grant else call.implementation_start


def too_early(report: Report, today: date | None = None, *, permission: bool = True) -> str | None:
    """Why the report cannot be submitted yet, or None. An admin's permission (`allow_early`) lifts it."""
    if permission and report.early_allowed_at is not None:
        return None
    opens = period_opens(report)
    if (today or riga_today()) >= opens:
        return None
    day = formatting.day(opens, formatting.current_lang())
    if report.kind == "final":
        return _("The final report can be submitted from %(day)s, when the implementation ends. An administrator "
                 "may allow it earlier.", day=day)
    return _("The interim report can be submitted from %(day)s, when the implementation begins. An administrator "
             "may allow it earlier.", day=day)


@guard("report_period_begun")
def _period_begun(ctx):
    return too_early(ctx.entity, riga_today(ctx.now))


@guard("report_still_early")
def _still_early(ctx):
    if ctx.entity.early_allowed_at is not None:
        return _("Early submission is already allowed.")
    if too_early(ctx.entity, riga_today(ctx.now), permission=False) is None:
        return _("The reported period has begun: the report may be submitted without a permission.")
    return None


@effect("allow_early_submission")
def _allow_early(ctx):
    report = ctx.entity
    report.early_allowed_by, report.early_allowed_at, report.early_allowed_reason = ctx.actor.id, ctx.now, ctx.note


# --- the form's parts ----------------------------------------------------------------------------------------------

def planned_indicators(application: Application) -> list[dict]:
    """The indicators of the application's results step: {name, target}."""
    found = []
    for item in (application.content or {}).get("indicators") or []:
        if isinstance(item, dict) and str(item.get("name") or "").strip():
            found.append({"name": str(item["name"]).strip(), "target": item.get("target")})
    return found


def planned_lines(application: Application) -> list:
    """The budget lines of a budgeted call's application (app/services/budget.py), else none."""
    if application.call.funding_mode != "budgeted":
        return []
    return sorted(application.budget_lines, key=lambda line: line.id)


def _whole(text, maximum: int) -> tuple[int | None, str | None]:
    text = ("" if text is None else str(text)).strip()
    if not text:
        return None, None
    if not text.isdigit() or int(text) > maximum:
        return None, _("Enter a whole number from 0 to %(max)s.", max=f"{maximum:,}".replace(",", " "))
    return int(text), None


def _euros(text) -> tuple[int | None, str | None]:
    from app.services.budget import parse_unit_cost

    text = ("" if text is None else str(text)).strip()
    if not text:
        return None, None
    try:
        cents = parse_unit_cost(text)
    except ValueError:
        return None, _("Enter the amount spent in euros with at most two decimals, e.g. 120,50.")
    if cents > MAX_SPENT_CENTS:
        return None, _("The amount is too large.")
    return cents, None


def read_parts(report: Report, form) -> tuple[list[dict], dict[str, int | None], dict[str, str]]:
    """The indicator and spending inputs of the posted form (`indicator-<n>-achieved`, `indicator-<n>-comment`,
    `spent-<line id>`): the achieved values, the spending by line id, and the errors by input name."""
    errors, indicators, spending = {}, [], {}
    for n, _planned in enumerate(planned_indicators(report.application)):
        achieved, problem = _whole(form.get(f"indicator-{n}-achieved"), MAX_ACHIEVED)
        if problem:
            errors[f"indicator-{n}-achieved"] = problem
        comment = (form.get(f"indicator-{n}-comment") or "").strip()
        if len(comment) > MAX_COMMENT:
            errors[f"indicator-{n}-comment"] = _("At most %(n)s characters.", n=MAX_COMMENT)
        indicators.append({"achieved": achieved, "comment": comment[:MAX_COMMENT]})
    for line in planned_lines(report.application):
        cents, problem = _euros(form.get(f"spent-{line.id}"))
        if problem:
            errors[f"spent-{line.id}"] = problem
        spending[str(line.id)] = cents
    return indicators, spending, errors


def _count_problems(participants, at_risk) -> dict[str, str]:
    found = {}
    for name, value in (("participants", participants), ("participants_at_risk", at_risk)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not 0 <= value <= MAX_COUNT):
            found[name] = _("Enter a whole number from 0 to %(max)s.", max=f"{MAX_COUNT:,}".replace(",", " "))
    if "participants" not in found and "participants_at_risk" not in found and None not in (participants, at_risk) \
            and at_risk > participants:
        found["participants_at_risk"] = _("This cannot be more than the participants reached.")
    return found


def save(report: Report, actor: User, content: dict, version: int) -> None:
    """Store the draft. `content`: activities, participants, participants_at_risk, results (text), indicators (the
    achieved value and a comment per planned indicator, in order), spending ({line id: cents}), declaration. Every
    count is judged here too, whatever the browser sent."""
    if report.status not in EDITABLE:
        raise Refused(_("A submitted report can no longer be changed."))
    if report.version != version:
        raise Refused(_("Someone else saved this report meanwhile. Reload the page and enter your changes again."))
    wrong = _count_problems(content.get("participants"), content.get("participants_at_risk"))
    if wrong:
        raise Refused(" ".join(dict.fromkeys(wrong.values())))
    given = list(content.get("indicators") or [])
    indicators = []
    for n, planned in enumerate(planned_indicators(report.application)):
        item = given[n] if n < len(given) and isinstance(given[n], dict) else {}
        achieved = item.get("achieved")
        if achieved is not None and (not isinstance(achieved, int) or not 0 <= achieved <= MAX_ACHIEVED):
            raise Refused(_("Enter a whole number from 0 to %(max)s.", max=MAX_ACHIEVED))
        indicators.append({**planned, "achieved": achieved, "comment": str(item.get("comment") or "")[:MAX_COMMENT]})
    spent = {str(k): v for k, v in (content.get("spending") or {}).items()}
    spending = []
    for line in planned_lines(report.application):
        cents = spent.get(str(line.id))
        if cents is not None and (not isinstance(cents, int) or not 0 <= cents <= MAX_SPENT_CENTS):
            raise Refused(_("The amount is too large."))
        spending.append({"line_id": line.id, "description": line.description, "planned_cents": line.amount_cents,
                         "spent_cents": cents})
    report.content = {
        "activities": (content.get("activities") or "").strip(), "participants": content.get("participants"),
        "participants_at_risk": content.get("participants_at_risk"), "results": (content.get("results") or "").strip(),
        "indicators": indicators, "spending": spending, "declaration": bool(content.get("declaration")),
    }


def problems(report: Report) -> list[str]:
    """What still stands in the way of submitting, as last saved."""
    c = report.content or {}
    found = []
    if not (c.get("activities") or "").strip():
        found.append(_("Describe the activities held."))
    if not (c.get("results") or "").strip():
        found.append(_("Describe the results against the plan."))
    participants, at_risk = c.get("participants"), c.get("participants_at_risk")
    if not isinstance(participants, int) or participants < 0:
        found.append(_("Enter the number of participants reached."))
    elif not isinstance(at_risk, int) or not 0 <= at_risk <= participants:
        found.append(_("Participants at risk must be between 0 and the number of participants."))
    saved = {i.get("name"): i for i in c.get("indicators") or [] if isinstance(i, dict)}
    for planned in planned_indicators(report.application):
        if saved.get(planned["name"], {}).get("achieved") is None:
            found.append(_("Enter the achieved value of the indicator “%(name)s”.", name=planned["name"]))
    spent = {s.get("line_id"): s for s in c.get("spending") or [] if isinstance(s, dict)}
    for line in planned_lines(report.application):
        if spent.get(line.id, {}).get("spent_cents") is None:
            found.append(_("Enter the amount spent on “%(line)s”.", line=line.description))
    if not c.get("declaration"):
        found.append(_("Confirm the declaration."))
    return found


@dataclass
class SpendingRow:
    line_id: int
    description: str
    planned_cents: int
    spent_cents: int | None

    @property
    def over(self) -> bool:
        return self.spent_cents is not None and self.spent_cents > self.planned_cents


@dataclass
class Spending:
    rows: list[SpendingRow] = field(default_factory=list)

    @property
    def planned_cents(self) -> int:
        return sum(r.planned_cents for r in self.rows)

    @property
    def spent_cents(self) -> int:
        return sum(r.spent_cents or 0 for r in self.rows)

    @property
    def over(self) -> bool:
        return self.spent_cents > self.planned_cents


def spending_of(report: Report, content: dict | None = None) -> Spending:
    """Spending per budget line against the plan, as saved (or as in `content`: a round's), overspend flagged per
    line and in total. For a call without a budget, no rows."""
    content = report.content if content is None else content
    saved = {s.get("line_id"): s for s in (content or {}).get("spending") or [] if isinstance(s, dict)}
    if saved and report.status not in EDITABLE:  # as submitted
        return Spending([SpendingRow(s["line_id"], s["description"], s["planned_cents"], s.get("spent_cents"))
                         for s in saved.values()])
    return Spending([SpendingRow(line.id, line.description, line.amount_cents,
                                 saved.get(line.id, {}).get("spent_cents"))
                     for line in planned_lines(report.application)])


def indicators_of(report: Report) -> list[dict]:
    """Each planned indicator with what the report says was achieved (for the form and the pages)."""
    saved = {i.get("name"): i for i in (report.content or {}).get("indicators") or [] if isinstance(i, dict)}
    return [{**planned, "achieved": saved.get(planned["name"], {}).get("achieved"),
             "comment": saved.get(planned["name"], {}).get("comment") or ""}
            for planned in planned_indicators(report.application)]


# --- the workflow's guards and effects -----------------------------------------------------------------------

@guard("grant_active")
def _grant_active(ctx):
    return None if ctx.entity.application.status == "contracted" else _("The grant is not active.")


@guard("report_complete")
def _report_complete(ctx):
    found = problems(ctx.entity)
    return " ".join(found) if found else None


@effect("stamp_report")
def _stamp(ctx):
    ctx.entity.submitted_at = ctx.now


@effect("keep_report_round")
def _keep_round(ctx):
    report = ctx.entity
    number = (db.session.scalar(select(db.func.max(ReportRound.number)).where(ReportRound.report_id == report.id))
              or 0) + 1
    db.session.add(ReportRound(report_id=report.id, number=number, content=dict(report.content or {}),
                               submitted_by=ctx.actor.id, submitted_at=ctx.now))
    db.session.flush()


@effect("close_report_round")
def _close_round(ctx):
    current = db.session.scalar(select(ReportRound).where(ReportRound.report_id == ctx.entity.id,
                                                          ReportRound.outcome.is_(None))
                                .order_by(ReportRound.number.desc()).limit(1))
    if current is None:  # a report submitted before rounds were kept
        return
    current.outcome = "approved" if ctx.trigger == "approve" else "changes_requested"
    current.comment, current.decided_by, current.decided_at = ctx.note or None, ctx.actor.id, ctx.now


@effect("notify_report_changes")
def _changes(ctx):
    ctx.entity.reviewer_note = ctx.note
    for member in ctx.entity.application.organisation.members:
        jobs.notify(member, "report_changes", _l("Report needs changes: %(number)s"), entity_type="report",
                    entity_id=ctx.entity.id, number=ctx.entity.application.number, note=ctx.note)


@effect("stamp_approval")
def _approve(ctx):
    ctx.entity.approved_by, ctx.entity.approved_at = ctx.actor.id, ctx.now


@effect("release_final_payment")
def _release(ctx):
    """The tranches waiting for this report's approval (interim or final) become due."""
    from app.services.grants import release_report_payments

    release_report_payments(ctx.entity, ctx.now)


def submit(report: Report, actor: User):
    return fire(report, "submit" if report.status == "draft" else "resubmit", actor)


def rounds_of(report: Report) -> list[ReportRound]:
    return db.session.scalars(select(ReportRound).where(ReportRound.report_id == report.id)
                              .order_by(ReportRound.number)).all()


# --- files -----------------------------------------------------------------------------------------------------------

def files_of(report: Report) -> list[Attachment]:
    return db.session.scalars(select(Attachment).where(Attachment.report_id == report.id)
                              .order_by(Attachment.id)).all()


def may_open(user: User, attachment: Attachment) -> bool:
    """A participant list only for admins and auditors (who reach the report at all); the rest also for the NGO."""
    return not attachment.restricted or user.role in STAFF


def upload(report: Report, actor: User, kind: str, original_name: str, data: bytes) -> Attachment:
    from app.services.attachments import FORMATS, prepare

    if report.status not in EDITABLE:
        raise Refused(_("A submitted report can no longer be changed."))
    if kind not in FILE_KINDS:
        raise Refused(_("Choose what the file is."))
    _label, allowed, restricted = FILE_KINDS[kind]
    prepared = prepare(original_name, data, allowed)
    row = Attachment(application_id=report.application_id, report_id=report.id, kind=kind, filename=prepared.name,
                     stored_name=f"r{report.id}-{uuid.uuid4().hex}{FORMATS[prepared.format].extension}",
                     content_type=FORMATS[prepared.format].content_type, size=len(data), sha256=prepared.sha256,
                     restricted=restricted, uploaded_by=actor.id, uploaded_at=clock.now(), content=data)
    db.session.add(row)
    db.session.flush()
    return row


def remove(report: Report, actor: User, attachment_id: int) -> Attachment:
    if report.status not in EDITABLE:
        raise Refused(_("A submitted report can no longer be changed."))
    row = db.session.get(Attachment, attachment_id)
    if row is None or row.report_id != report.id:
        raise NotFound()
    db.session.delete(row)
    return row


def download(report: Report, viewer: User, attachment_id: int) -> Attachment:
    """The file, for a viewer who may open it (else 404: they may not know it exists); every download logged."""
    row = db.session.get(Attachment, attachment_id)
    if row is None or row.report_id != report.id or not may_open(viewer, row):
        raise NotFound()
    db.session.add(AttachmentDownload(attachment_id=row.id, user_id=viewer.id, downloaded_at=clock.now()))
    return row


# --- reminders (`tick`) -------------------------------------------------------------------------------------

def remind_due(now: datetime) -> list[str]:
    """Remind the NGO of each owed report REMIND_BEFORE its due date and once it has passed, each kind once (a
    ReportReminder row per report and kind, unique, so two ticks at once remind once). Returns what was sent, as
    "report <id>: before|after"."""
    today = riga_today(now)
    due = db.session.scalars(select(Report).join(Application, Application.id == Report.application_id).where(
        Report.status.in_(OUTSTANDING), Application.status == "contracted",
        Report.due_on <= today + REMIND_BEFORE).order_by(Report.id)).all()
    sent_already = {(report_id, kind) for report_id, kind in db.session.execute(
        select(ReportReminder.report_id, ReportReminder.kind).where(
            ReportReminder.report_id.in_([r.id for r in due] or [-1])))}
    sent = []
    for report in due:
        kind = "after" if is_overdue(report, today) else "before"
        if (report.id, kind) in sent_already:
            continue
        try:
            with db.session.begin_nested():  # another tick may have sent it meanwhile: the unique pair says so
                db.session.add(ReportReminder(report_id=report.id, kind=kind, sent_at=now))
                db.session.flush()
        except IntegrityError:
            continue
        application = report.application
        for member in application.organisation.members:
            context = dict(entity_type="report", entity_id=report.id, number=application.number, kind=kind,
                           report_kind=report.kind, due=formatting.day(report.due_on, member.language))
            if kind == "before":
                jobs.notify(member, "report_reminder", _l("Report due soon: %(number)s"), **context)
            else:
                jobs.notify(member, "report_reminder", _l("Report overdue: %(number)s"), **context)
        sent.append(f"report {report.id}: {kind}")
    db.session.flush()
    return sent


# --- a shortfall in results -------------------------------------------------------------------------------------

def recoverable(application: Application) -> int:
    """What was paid and not yet demanded back (a demand still open or repaid counts; a written-off one not)."""
    from app.services.grants import paid_total

    demanded = db.session.scalar(select(db.func.coalesce(db.func.sum(Recovery.amount_cents), 0)).where(
        Recovery.application_id == application.id, Recovery.status.in_(("demanded", "repaid")))) or 0
    return max(paid_total(application) - demanded, 0)


def reducible(application: Application) -> int:
    """What a shortfall can still take off the tranches not yet paid: the scheduled ones not in a bank file (the
    file the bank has holds their amounts)."""
    return sum(p.amount_cents for p in _reducible_payments(application))


def _reducible_payments(application: Application) -> list[Payment]:
    from app.models import PaymentBatchItem
    from app.services.payment_batches import LIVE  # the one rule of which items are in a live bank file

    batched = select(PaymentBatchItem.payment_id).where(LIVE)
    return list(db.session.scalars(select(Payment).where(
        Payment.application_id == application.id, Payment.status == "scheduled",
        Payment.id.not_in(batched)).order_by(Payment.tranche.desc())))


SHORTFALL_WAYS = ("reduction", "recovery")


def record_shortfall(report: Report, actor: User, amount_cents: int, reason: str,
                     how: str = "recovery") -> list:
    """A shortfall in the report's results, recorded either as a reduction of the tranches still to pay (from the
    last one back; a tranche taken whole is cancelled), or as a demand to repay `amount_cents` of what was paid,
    tracked until repaid or written off (workflows/money.py RECOVERY). Returns the rows it changed or made."""
    db.session.execute(select(Application.id).where(Application.id == report.application_id).with_for_update())
    reason = (reason or "").strip()
    if how not in SHORTFALL_WAYS:
        raise Refused(_("Choose how the shortfall is recorded: a reduction or a recovery."))
    if report.status not in ("submitted", "approved"):
        raise Refused(_("A shortfall is recorded on a submitted report."))
    if not reason:
        raise Refused(_("Give the reason for the shortfall."))
    if how == "reduction":
        return _reduce_tranches(report, actor, amount_cents, reason)
    left = recoverable(report.application)
    if not 0 < amount_cents <= left:
        raise Refused(_("The amount must be above zero and at most what was paid and not yet demanded back "
                        "(%(left)s).", left=formatting.money(left, formatting.current_lang())))
    recovery = Recovery(application_id=report.application_id, amount_cents=amount_cents, status="demanded",
                        reason=reason, demanded_at=clock.now())
    db.session.add(recovery)
    db.session.flush()
    audit.record("recovery", recovery.id, "demand", None, "demanded", actor.id, note=reason,
                 data={"amount_cents": amount_cents, "report_id": report.id})
    _tell_shortfall(report, "recovery", amount_cents, reason)
    return [recovery]


def _reduce_tranches(report: Report, actor: User, amount_cents: int, reason: str) -> list[Payment]:
    payments = _reducible_payments(report.application)
    left = sum(p.amount_cents for p in payments)
    if not 0 < amount_cents <= left:
        raise Refused(_("The amount must be above zero and at most what is still to pay outside bank files "
                        "(%(left)s).", left=formatting.money(left, formatting.current_lang())))
    changed, rest = [], amount_cents
    for payment in payments:  # the last tranche first
        if rest == 0:
            break
        take = min(rest, payment.amount_cents)
        if take == payment.amount_cents:
            payment.reduced_cents += take
            fire(payment, "cancel", actor, _("Reduced for a shortfall in results: %(reason)s", reason=reason),
                 reduced_cents=take, report_id=report.id)
        else:
            fire(payment, "reduce", actor, reason, amount_cents=take, report_id=report.id)
        changed.append(payment)
        rest -= take
    _tell_shortfall(report, "reduction", amount_cents, reason)
    return changed


def _tell_shortfall(report: Report, how: str, amount_cents: int, reason: str) -> None:
    from app.services.notifications import tell_members

    tell_members(report.application, "shortfall",
                 _l("Grant reduced: %(number)s") if how == "reduction" else _l("Repayment demanded: %(number)s"),
                 how=how, reason=reason, amount=lambda lang: formatting.money(amount_cents, lang))


@guard("reduction_fits")
def _reduction_fits(ctx):
    take = ctx.data.get("amount_cents")
    if not isinstance(take, int) or not 0 < take < ctx.entity.amount_cents:
        return _("A reduction takes part of the tranche: above zero and below its amount.")
    return None


@effect("reduce_payment")
def _reduce_payment(ctx):
    take = ctx.data["amount_cents"]
    ctx.entity.amount_cents -= take
    ctx.entity.reduced_cents += take