"""A call while it is a draft: everything that still blocks its announcement, and a copy of an earlier call.

`definition_problems` and `date_problems` list every problem at once, each naming the place to fix it (a field of
the settings form, or a section of the call page); the announce guards in app/services/calls.py refuse with the
first of them, and `announce_summary` shows them all, with whatever the other announce guards say.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from flask_babel import gettext as _
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from app import clock
from app.errors import Refused
from app.extensions import db
from app.models import Call, NumberCounter, User
from app.services import audit
from app.services.registry import GUARDS, Context
from workflows.call import CALL

SUBMITTED_AT = "submitted_at"
# Settings a copy leaves behind: what identifies the call, and what announcing writes.
NOT_COPIED = {"id", "code", "number_prefix", "status", "frozen_at", "definition_sha256", "regulations_document_id",
              "created_at"}
# The parts of a call a copy brings along, by model name: rows with a `call_id` and nothing else of the call's
# (copied column by column, so a column added later comes along). A part whose model is gone is skipped.
PARTS = ("Criterion", "Check", "Question", "AttachmentType", "CostCategory")


@dataclass(frozen=True)
class Problem:
    """One thing to fix before announcing. `where`: a field of the settings form ("budget"), or "criteria" /
    "checks" (a section of the call page), or None (the message says where). `warning`: the admin may
    announce anyway after confirming."""

    message: str
    where: str | None = None
    warning: bool = False


def definition_problems(call: Call) -> list[Problem]:
    """Criteria, amounts, pass mark, tie-breaks and tranches: every problem, in the order of the form."""
    found = []
    criteria = call.criteria
    maximum = sum(c.max_half_points for c in criteria)
    if not criteria or maximum <= 0:
        found.append(Problem(_("Add at least one criterion with points before announcing."), "criteria"))
    for c in criteria:
        if c.min_half_points is not None and c.min_half_points > c.max_half_points:
            found.append(Problem(_("Criterion %(code)s: the minimum is above the maximum.", code=c.code), "criteria"))
    if call.budget_cents <= 0:
        found.append(Problem(_("The budget must be more than zero."), "budget"))
    if call.funding_mode == "lump_sum" and not call.amount_cents:
        found.append(Problem(_("Set the lump sum per project."), "amount"))
    if call.funding_mode == "budgeted":
        if call.min_amount_cents is None or call.max_amount_cents is None:
            found.append(Problem(_("Enter the minimum and the maximum per project."), "max_amount"))
        elif call.min_amount_cents > call.max_amount_cents:
            found.append(Problem(_("The maximum must not be below the minimum."), "max_amount"))
        if not call.cost_categories:  # the budget table's lines are sorted into them (app/services/budget.py)
            found.append(Problem(_("Add at least one cost category: a budgeted call's applicants fill in a "
                                   "budget by category."), "cost-categories"))
    if criteria and call.pass_mark_half_points > maximum:
        found.append(Problem(_("The pass mark is above the maximum total."), "pass_mark"))
    codes = {c.code for c in criteria}
    unknown = [k for k in call.tie_break_keys or () if k != SUBMITTED_AT and k not in codes]
    if unknown:
        found.append(Problem(_("The tie-break keys name criteria this call does not have: %(keys)s.",
                               keys=", ".join(unknown)), "tie_break_keys"))
    tranches = call.payment_tranches or []
    if tranches and sum(t["percent"] for t in tranches) != 100:
        found.append(Problem(_("The tranches add up to %(total)s %%; they must add up to 100 %%.",
                               total=sum(t["percent"] for t in tranches)), "payment_tranches"))
    kinds = {item["kind"] for item in call.report_schedule or ()}
    if any(t.get("on") == "interim_report_approved" for t in tranches) and "interim" not in kinds:
        found.append(Problem(_("A tranche waits for the interim report, but the call schedules none."),
                             "payment_tranches"))
    return found


def date_problems(call: Call) -> list[Problem]:
    """Every missing date, then every pair out of order (opens < closes; the deadline's day ≤ decision ≤
    implementation start < end)."""
    labels = (("opens_at", _("Fill in the opening of applications.")), ("closes_at", _("Fill in the deadline.")),
              ("decision_on", _("Fill in the decision date.")),
              ("implementation_start", _("Fill in the start of implementation.")),
              ("implementation_end", _("Fill in the end of implementation.")))
    found = [Problem(message, name) for name, message in labels if getattr(call, name) is None]
    c = call
    if c.opens_at and c.closes_at and not c.opens_at < c.closes_at:
        found.append(Problem(_("The deadline must be after the opening."), "closes_at"))
    if c.closes_at and c.decision_on and not clock.to_riga(c.closes_at).date() <= c.decision_on:
        found.append(Problem(_("The decision date must not be before the deadline."), "decision_on"))
    if c.decision_on and c.implementation_start and not c.decision_on <= c.implementation_start:
        found.append(Problem(_("Implementation must not start before the decision."), "implementation_start"))
    if c.implementation_start and c.implementation_end and not c.implementation_start < c.implementation_end:
        found.append(Problem(_("Implementation must end after it starts."), "implementation_end"))
    return found


DETAILED = {"call_definition_valid": definition_problems, "call_dates_ordered": date_problems}


def announce_summary(call: Call, actor: User) -> list[Problem]:
    """Everything that blocks announcing `call` now, and the warnings the admin may confirm: every announce guard
    run at once (the ones above item by item; any other, added by another stage, with its own message)."""
    found = []
    context = Context(entity=call, trigger="announce", actor=actor, now=clock.now(), source=call.status,
                      dest="announced")
    with db.session.no_autoflush:
        for name in next(t for t in CALL.transitions if t.trigger == "announce").guards:
            if name in DETAILED:
                found.extend(DETAILED[name](call))
            elif name == "call_period_long_enough":
                if call.opens_at and call.closes_at and call.opens_at < call.closes_at:
                    message = GUARDS[name](context)
                    if message:
                        found.append(Problem(message, "closes_at", warning=True))
            else:
                message = GUARDS[name](context)
                if message:
                    found.append(Problem(message))
    return found


# --- copy from an earlier call -----------------------------------------------------------------------------------

def years_ahead(opens_at: datetime | None, now: datetime) -> int:
    """The fewest whole years (at least one) that move `opens_at` into the future."""
    years = 1
    if opens_at is None:
        return years
    while _shift_moment(opens_at, years=years) <= now:
        years += 1
    return years


def _shift_day(day: date, *, years: int = 0, days: int = 0) -> date:
    if years:
        try:
            day = day.replace(year=day.year + years)
        except ValueError:  # 29 February in a year without one
            day = day.replace(year=day.year + years, day=28)
    return day + timedelta(days=days)


def _shift_moment(moment: datetime, *, years: int = 0, days: int = 0) -> datetime:
    """The same Riga wall-clock time `years` and `days` later (midnight stays midnight across summer time)."""
    local = clock.to_riga(moment)
    moved = datetime.combine(_shift_day(local.date(), years=years, days=days), local.time(), tzinfo=clock.RIGA)
    return moved.astimezone(timezone.utc)


def shifted_dates(source: Call, *, years: int = 0, days: int = 0) -> dict:
    """Every date of `source` moved by the same whole years, or by the same number of days."""
    fields = {}
    for name in ("opens_at", "closes_at", "reserve_expires_at"):
        value = getattr(source, name)
        fields[name] = _shift_moment(value, years=years, days=days) if value else None
    for name in ("decision_on", "implementation_start", "implementation_end", "retention_until"):
        value = getattr(source, name)
        fields[name] = _shift_day(value, years=years, days=days) if value else None
    fields["report_schedule"] = [
        {**item, "due_on": _shift_day(date.fromisoformat(item["due_on"]), years=years, days=days).isoformat()}
        for item in source.report_schedule or []]
    fields["payment_tranches"] = [  # a tranche paid from a date moves with the other dates; one on an event stays
        {**item, "due_on": _shift_day(date.fromisoformat(item["due_on"]), years=years, days=days).isoformat()}
        if item.get("due_on") else dict(item) for item in source.payment_tranches or []]
    return fields


def suggested_code(text: str, old_year: int, new_year: int) -> str:
    """PMP-2022 → PMP-2027; a code without the old year gets the new one appended (PMP → PMP-2027)."""
    if str(old_year) in text and new_year != old_year:
        return text.replace(str(old_year), str(new_year))
    return f"{text}-{new_year}"


def _part_models() -> list[type]:
    import app.models as models

    return [getattr(models, name) for name in PARTS if hasattr(models, name)]


def copy_call(source: Call, actor: User, *, code: str | None = None, number_prefix: str | None = None,
              opens_at: datetime | None = None) -> Call:
    """A new draft with every setting, criterion, check and text of `source`, and every part another stage keeps
    per call (see PARTS). Its dates move by the same amount: to `opens_at` if given (every date by the same
    number of days), else by the fewest whole years that put the opening in the future. Without a code or a
    prefix, the source's get the new year (PMP-2022 → PMP-2027). Refused if either is taken."""
    if opens_at is not None and source.opens_at is not None:
        years, days = 0, (clock.to_riga(opens_at).date() - clock.to_riga(source.opens_at).date()).days
    else:
        years, days = years_ahead(source.opens_at, clock.now()), 0
    old_year = clock.to_riga(source.opens_at).year if source.opens_at else clock.to_riga(clock.now()).year
    new_year = clock.to_riga(opens_at).year if opens_at is not None else old_year + years
    code = code or suggested_code(source.code, old_year, new_year)
    number_prefix = number_prefix or suggested_code(source.number_prefix, old_year, new_year)
    if db.session.scalar(select(Call.id).where(Call.code == code)) is not None:
        raise Refused(_("Another call already has the code %(code)s. Enter a code for the copy.", code=code))
    if db.session.scalar(select(Call.id).where(Call.number_prefix == number_prefix)) is not None:
        raise Refused(_("Another call already uses the prefix %(prefix)s. Enter a prefix for the copy.",
                        prefix=number_prefix))
    fields = {column.key: getattr(source, column.key) for column in sa_inspect(Call).column_attrs
              if column.key not in NOT_COPIED}
    fields.update(shifted_dates(source, years=years, days=days))
    if opens_at is not None and source.opens_at is not None:
        fields["opens_at"] = opens_at  # the very moment typed (the time of day too)
    fields.update(code=code, number_prefix=number_prefix, status="draft")
    fields = {name: _copied(value) for name, value in fields.items()}
    call = Call(**fields)
    db.session.add(call)
    db.session.flush()
    db.session.add(NumberCounter(call_id=call.id, last_number=0))
    for model in _part_models():
        columns = [c.key for c in sa_inspect(model).column_attrs
                   if c.key != "call_id" and not any(col.primary_key for col in c.columns)]
        for row in db.session.scalars(select(model).where(model.call_id == source.id).order_by(model.id)):
            db.session.add(model(call_id=call.id, **{name: _copied(getattr(row, name)) for name in columns}))
    db.session.flush()
    db.session.expire(call)  # its lists of parts are read again from the rows just written
    audit.record("call", call.id, "create", None, "draft", actor.id,
                 data={"code": call.code, "copied_from": source.code})
    return call


def _copied(value):
    """JSON values (lists, dicts) as new objects, so the copy never shares one with its source."""
    import copy

    return copy.deepcopy(value) if isinstance(value, (list, dict)) else value
