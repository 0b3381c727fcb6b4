"""The programme at a glance (issue 8): a call's figures (applications per state, money, reports, evaluation) and
the same per organiser across the programme. Figures only, in cents and counts; app/charts.py draws them.

Everything is read with a fixed number of grouped queries, whatever the size of the call. "Overdue" is derived from
the due date and Riga's today, never stored (DESIGN 2.4); "late" reviews use the rule of app/services/review_progress.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import case, func, select

from app import clock
from app.extensions import db
from app.models import Application, Assignment, Call, Decision, Organiser, Payment, Report
from app.services import calls as call_service
from app.services import reporting
from app.services.review_progress import TO_DO
from workflows.application import APPLICATION

OUTSTANDING_REPORT = reporting.OUTSTANDING  # the grantee still owes it; "overdue" is reporting.overdue_clause


@dataclass(frozen=True)
class Money:
    budget: int
    awarded: int
    paid: int
    to_pay: int  # scheduled tranches not yet paid

    @property
    def unawarded(self) -> int:
        return max(self.budget - self.awarded, 0)


@dataclass(frozen=True)
class Reports:
    upcoming: int  # owed, due today or later
    overdue: int  # owed, due date passed
    submitted: int  # waiting for the admin's check
    approved: int

    @property
    def total(self) -> int:
        return self.upcoming + self.overdue + self.submitted + self.approved


@dataclass(frozen=True)
class Reviews:
    on_time: int  # assigned or accepted, due date ahead
    late: int
    submitted: int

    @property
    def total(self) -> int:
        return self.on_time + self.late + self.submitted


@dataclass(frozen=True)
class CallFigures:
    call: Call
    by_state: dict[str, int]  # application state → count, in the workflow's order, states with none left out
    money: Money
    reports: Reports
    reviews: Reviews
    as_of: datetime


@dataclass
class OrganiserRow:
    organiser: Organiser
    calls: int = 0
    applications: int = 0  # submitted, any state after the draft
    funded: int = 0
    budget: int = 0
    awarded: int = 0
    paid: int = 0
    reports_overdue: int = 0


@dataclass(frozen=True)
class ProgrammeFigures:
    rows: list[OrganiserRow] = field(default_factory=list)
    as_of: datetime | None = None

    def total(self, name: str) -> int:
        return sum(getattr(row, name) for row in self.rows)


def riga_today(now: datetime) -> date:
    return clock.to_riga(now).date()


def call_figures(call: Call, now: datetime | None = None) -> CallFigures:
    now = now or clock.now()
    counted = dict(db.session.execute(
        select(Application.status, func.count(Application.id)).where(Application.call_id == call.id)
        .group_by(Application.status)).all())
    by_state = {s.name: counted[s.name] for s in APPLICATION.states if counted.get(s.name)}
    return CallFigures(call=call, by_state=by_state, money=_money(call), reports=_reports(call, riga_today(now)),
                       reviews=_reviews(call, now), as_of=now)


def _money(call: Call) -> Money:
    paid, to_pay = db.session.execute(
        select(func.coalesce(func.sum(case((Payment.status == "paid", Payment.amount_cents), else_=0)), 0),
               func.coalesce(func.sum(case((Payment.status == "scheduled", Payment.amount_cents), else_=0)), 0))
        .join(Application, Application.id == Payment.application_id).where(Application.call_id == call.id)).one()
    return Money(budget=call.budget_cents or 0, awarded=call_service.awarded_total(call), paid=int(paid),
                 to_pay=int(to_pay))


def _report_counts(today: date):
    return (func.count(case((reporting.upcoming_clause(today), Report.id))),
            func.count(case((reporting.overdue_clause(today), Report.id))),
            func.count(case((Report.status == "submitted", Report.id))),
            func.count(case((Report.status == "approved", Report.id))))


def _reports(call: Call, today: date) -> Reports:
    row = db.session.execute(select(*_report_counts(today)).join(Application, Application.id == Report.application_id)
                             .where(Application.call_id == call.id)).one()
    return Reports(*map(int, row))


def _reviews(call: Call, now: datetime) -> Reviews:
    to_do = Assignment.status.in_(TO_DO)
    row = db.session.execute(
        select(func.count(case((to_do & (Assignment.review_due_at > now), Assignment.id))),
               func.count(case((to_do & (Assignment.review_due_at <= now), Assignment.id))),
               func.count(case((Assignment.status == "submitted", Assignment.id))))
        .join(Application, Application.id == Assignment.application_id).where(Application.call_id == call.id)).one()
    return Reviews(*map(int, row))


def programme_figures(organisers: list[Organiser], now: datetime | None = None) -> ProgrammeFigures:
    """The figures of every call that is announced (not a draft), per organiser; organisers in the order given."""
    now = now or clock.now()
    rows = {o.id: OrganiserRow(organiser=o) for o in organisers}
    announced = Call.status != "draft"
    scope = Call.organiser_id.in_(rows)
    for organiser_id, count, budget in db.session.execute(
            select(Call.organiser_id, func.count(Call.id), func.coalesce(func.sum(Call.budget_cents), 0))
            .where(announced, scope).group_by(Call.organiser_id)):
        rows[organiser_id].calls, rows[organiser_id].budget = count, int(budget)
    holds_award = Application.status.in_(APPLICATION.groups["holds_award"])
    for organiser_id, submitted, funded in db.session.execute(
            select(Call.organiser_id, func.count(Application.id), func.count(case((holds_award, Application.id))))
            .join(Call, Call.id == Application.call_id)
            .where(announced, scope, Application.status != "draft").group_by(Call.organiser_id)):
        rows[organiser_id].applications, rows[organiser_id].funded = submitted, funded
    for organiser_id, amount in db.session.execute(
            select(Call.organiser_id, func.coalesce(func.sum(Decision.amount_cents), 0))
            .join(Application, Application.id == Decision.application_id).join(Call, Call.id == Application.call_id)
            .where(scope, *call_service.awarded_conditions()).group_by(Call.organiser_id)):
        rows[organiser_id].awarded = int(amount)
    for organiser_id, paid in db.session.execute(
            select(Call.organiser_id, func.coalesce(func.sum(Payment.amount_cents), 0))
            .join(Application, Application.id == Payment.application_id).join(Call, Call.id == Application.call_id)
            .where(scope, Payment.status == "paid").group_by(Call.organiser_id)):
        rows[organiser_id].paid = int(paid)
    today = riga_today(now)
    for organiser_id, overdue in db.session.execute(
            select(Call.organiser_id, _report_counts(today)[1])
            .join(Application, Application.id == Report.application_id).join(Call, Call.id == Application.call_id)
            .where(scope).group_by(Call.organiser_id)):
        rows[organiser_id].reports_overdue = int(overdue)
    return ProgrammeFigures(rows=list(rows.values()), as_of=now)
