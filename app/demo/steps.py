"""One step of the process each, at a given moment: how the demo replays what people did."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from app import clock
from app.clock import riga_time as riga
from app.demo.content import CRITERIA, Project
from app.extensions import db
from app.models import Application, Assignment, Call, Payment, Report, User
from app.services import (
    applications,
    evaluation,
    numbering,
    reporting,
)
from app.services.workflow import catch_up, fire, lock


def on(day: date, hour=0, minute=0) -> datetime:
    return riga(day.year, day.month, day.day, hour, minute)


def clock_moves(call: Call, moment: datetime) -> None:
    """What `tick` does for one call at `moment`: persist the due clock moves (open, close) as the system."""
    clock.travel_to(moment)
    lock(call)
    catch_up(call)


def project_content(project: Project, call: Call) -> dict:
    return {"summary": project.summary, "objectives": project.objectives, "activities": project.activities,
            "target_group": project.target_group, "participants": project.participants or None,
            "participants_at_risk": project.at_risk if project.participants else None,
            "start_on": call.implementation_start.isoformat(), "end_on": call.implementation_end.isoformat(),
            "declared_conflicts": ""}


def draft(call: Call, member: User, project: Project, at: datetime, complete: bool = True) -> Application:
    clock.travel_to(at)
    application = applications.create_draft(call, member)
    content = project_content(project, call) if complete else {"summary": project.summary}
    applications.save_draft(application, member, title=project.title, content=content,
                            amount_cents=application.amount_cents, declarations_accepted=complete,
                            version=application.version)
    return application


def send(application: Application, at: datetime) -> None:
    clock.travel_to(at)
    applications.submit(application, application.organisation.members[0])
    numbering.take_numbers(db.session)  # the demo goes on in this transaction and names the number in notes


def record_checks(application: Application, admin: User, at: datetime, failed: dict[str, str] | None = None):
    """The admin confirms the system's pre-filled checks and answers the others; `failed` maps code → reason."""
    clock.travel_to(at)
    suggested = applications.suggested_checks(application)
    failed = failed or {}
    results = {check.id: (check.code not in failed and suggested.get(check.automatic, True),
                          failed.get(check.code, "")) for check in application.call.checks}
    applications.record_checks(application, admin, results)


def comment(criterion_code: str, half_points: int) -> str:
    _code, _lv, _en, _minimum, good, weak = next(c for c in CRITERIA if c[0] == criterion_code)
    level = ("neatbilst", "neatbilst", "vāji", "vāji", "vāji", "vāji", "pietiekami", "pietiekami", "labi", "labi",
             "izcili")[half_points]
    return f"{level.capitalize()}: {good if half_points >= 6 else weak}."


def declare_and_score(assignment: Assignment, half_points: list[int], at: datetime, scored: int = 10) -> None:
    """The evaluator declares no conflict, then scores the first `scored` criteria, each with a comment."""
    evaluator = assignment.evaluator
    clock.travel_to(at)
    fire(assignment, "declare_no_conflict", evaluator)
    criteria = assignment.application.call.criteria
    evaluation.save_scores(assignment, evaluator, {
        c.id: (points, comment(c.code, points)) for c, points in list(zip(criteria, half_points))[:scored]})


def submit_review(assignment: Assignment, at: datetime) -> None:
    clock.travel_to(at)
    fire(assignment, "submit_review", assignment.evaluator)


def assign(application: Application, evaluators: list[User], admin: User, at: datetime) -> list[Assignment]:
    clock.travel_to(at)
    return [evaluation.assign(application, evaluator, admin) for evaluator in evaluators]


def payments(application: Application) -> list[Payment]:
    return db.session.scalars(select(Payment).where(Payment.application_id == application.id)
                              .order_by(Payment.tranche)).all()


def pay(payment: Payment, admin: User, at: datetime, reference: str) -> None:
    clock.travel_to(at)
    fire(payment, "pay", admin, bank_reference=reference, paid_on=clock.to_riga(at).date())


def report_of(application: Application, kind: str) -> Report:
    return db.session.scalar(select(Report).where(Report.application_id == application.id, Report.kind == kind))


def submit_report(application: Application, kind: str, content: dict, at: datetime) -> Report:
    member = application.organisation.members[0]
    report = report_of(application, kind)
    clock.travel_to(at)
    reporting.save(report, member, content, report.version)
    reporting.submit(report, member)
    return report


# --- 1. the 2022 competition, completed ---------------------------------------------------------------------

# Half points per criterion (1.1 … 3.2) of the two reviews of each application, and the ranking they make:
# jauniesi 89 (44,5 points) and zemgale 82,5 lead; ozolnieki and eleja tie at 80 and 2.2 decides (9 against 8),
# so eleja is the first reserve; skauti (68) the second; valgunde totals 83,5 but fails the minimum on 2.4.1
# (mean 4,5 < 6) and is rejected. No pair of reviews diverges.
SCORES_2022 = {
    "jauniesi": ([9, 9, 10, 9, 8, 9, 8, 9, 9, 10], [9, 8, 9, 10, 9, 8, 9, 9, 8, 9]),
    "zemgale": ([8, 8, 9, 8, 8, 9, 7, 8, 8, 9], [9, 8, 8, 9, 8, 8, 8, 8, 9, 8]),
    "ozolnieki": ([8, 8, 8, 9, 8, 8, 8, 8, 7, 8], [8, 7, 8, 9, 8, 8, 8, 9, 8, 7]),
    "eleja": ([9, 8, 8, 8, 8, 8, 8, 8, 8, 7], [8, 8, 9, 8, 8, 8, 8, 8, 8, 7]),
    "skauti": ([7, 7, 7, 7, 7, 7, 6, 7, 7, 7], [7, 6, 7, 7, 6, 7, 7, 7, 6, 7]),
    "valgunde": ([9, 9, 9, 8, 9, 4, 9, 8, 9, 9], [10, 9, 9, 8, 9, 5, 8, 8, 9, 9]),
}
# Who reviews what (evaluator numbers 1–3): four reviews each.
PANELS_2022 = {"jauniesi": (1, 2), "zemgale": (2, 3), "ozolnieki": (1, 3), "eleja": (1, 2), "skauti": (2, 3),
               "valgunde": (1, 3)}
