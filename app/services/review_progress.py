"""Where a call's reviews stand, and the reminders about the ones still to do (issue 7).

Late is derived, never stored: a review still to do (assigned, or accepted and not submitted) whose
`review_due_at` has passed. A page that shows it writes nothing.

Reminders: an admin sends one to an evaluator in one click (every review they still have to do in the call, in
one message), as often as they see fit. `tick` sends two of its own per review still to do: REMIND_BEFORE before
the due time, and once it has passed; each at most once (a `ReviewReminder` row per assignment and kind, unique,
so two ticks at once remind once). A tick that first runs after the due time sends only the second: a "due soon"
that arrives late says nothing true.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import formatting
from app.errors import Refused
from app.extensions import db
from app.models import Application, Assignment, Call, Message, ReviewReminder, User
from app.services import evaluation, evaluators, jobs

REMIND_BEFORE = timedelta(days=2)
TO_DO = ("assigned", "accepted")


def is_late(assignment: Assignment, now: datetime) -> bool:
    return assignment.status in TO_DO and assignment.review_due_at <= now


@dataclass
class EvaluatorRow:
    evaluator: User
    pending: list[Assignment] = field(default_factory=list)
    late: list[Assignment] = field(default_factory=list)
    submitted: int = 0
    last_reminded_at: datetime | None = None


@dataclass
class ApplicationRow:
    application: Application
    needed: int
    submitted: int = 0
    pending: list[Assignment] = field(default_factory=list)
    late: list[Assignment] = field(default_factory=list)

    @property
    def unassigned(self) -> int:
        """Evaluators it still lacks: needed, less those who submitted or are still at it."""
        return max(0, self.needed - self.submitted - len(self.pending))


def progress(call: Call, now: datetime) -> tuple[list[EvaluatorRow], list[ApplicationRow]]:
    """Per evaluator (of the call's pool, and anyone holding one of its reviews) and per application under
    review: what is submitted, pending and late. A fixed number of queries, whatever the size of the call."""
    applications = list(db.session.scalars(select(Application).where(
        Application.call_id == call.id, Application.status.in_(("eligible", "in_review", "reviewed")))
        .order_by(Application.id)))
    by_application = {a.id: ApplicationRow(a, evaluation.needed(a)) for a in applications}
    assignments = list(db.session.scalars(
        select(Assignment).join(Application, Application.id == Assignment.application_id)
        .where(Application.call_id == call.id, Assignment.status.in_(evaluation.LIVE))
        .order_by(Assignment.review_due_at, Assignment.id)))
    people = {e.id: EvaluatorRow(e) for e in evaluators.pool(call)}
    missing = {a.evaluator_id for a in assignments} - set(people)
    for user in db.session.scalars(select(User).where(User.id.in_(missing or {-1})).order_by(User.id)):
        people[user.id] = EvaluatorRow(user)
    for assignment in assignments:
        person, row = people[assignment.evaluator_id], by_application.get(assignment.application_id)
        if assignment.status == "submitted":
            person.submitted += 1
            if row:
                row.submitted += 1
            continue
        person.pending.append(assignment)
        if row:
            row.pending.append(assignment)
        if is_late(assignment, now):
            person.late.append(assignment)
            if row:
                row.late.append(assignment)
    reminded = dict(db.session.execute(
        select(Message.user_id, func.max(Message.created_at))
        .where(Message.entity_type == "call", Message.entity_id == call.id, Message.user_id.in_(list(people) or [-1]))
        .group_by(Message.user_id)).all())
    for user_id, moment in reminded.items():
        people[user_id].last_reminded_at = moment
    rows = sorted(people.values(), key=lambda p: (-len(p.late), -len(p.pending), p.evaluator.name, p.evaluator.id))
    return rows, list(by_application.values())


def _listed(assignments: list[Assignment], user: User, now: datetime) -> list[dict]:
    return [{"number": a.application.number, "due": formatting.moment(a.review_due_at, user.language),
             "late": is_late(a, now)} for a in assignments]


def remind(call: Call, evaluator: User, now: datetime) -> Message:
    """One message to `evaluator` listing every review they still have to do in the call."""
    to_do = list(db.session.scalars(
        select(Assignment).join(Application, Application.id == Assignment.application_id)
        .where(Application.call_id == call.id, Assignment.evaluator_id == evaluator.id,
               Assignment.status.in_(TO_DO)).order_by(Assignment.review_due_at, Assignment.id)))
    if not to_do:
        raise Refused(_("%(name)s has no review to do in this call.", name=evaluator.name))
    return jobs.notify(evaluator, "review_reminder", _l("Reminder: reviews to do in call %(code)s"),
                       entity_type="call", entity_id=call.id, code=call.code, kind="manual",
                       reviews=_listed(to_do, evaluator, now))


def remind_due(now: datetime) -> list[str]:
    """`tick`'s reminders: before and after each review's due time, each once. Returns what was sent, as
    "assignment <id>: before|after"."""
    due = list(db.session.scalars(select(Assignment).where(
        Assignment.status.in_(TO_DO), Assignment.review_due_at <= now + REMIND_BEFORE).order_by(Assignment.id)))
    sent_already = defaultdict(set)
    for assignment_id, kind in db.session.execute(select(ReviewReminder.assignment_id, ReviewReminder.kind).where(
            ReviewReminder.assignment_id.in_([a.id for a in due] or [-1]))):
        sent_already[assignment_id].add(kind)
    sent = []
    for assignment in due:
        kind = "after" if assignment.review_due_at <= now else "before"
        if kind in sent_already[assignment.id]:
            continue
        try:
            with db.session.begin_nested():  # another tick may have sent it meanwhile: the unique pair says so
                reminder = ReviewReminder(assignment_id=assignment.id, kind=kind, sent_at=now)
                db.session.add(reminder)
                db.session.flush()
        except IntegrityError:
            continue
        evaluator = assignment.evaluator
        context = dict(entity_type="assignment", entity_id=assignment.id, number=assignment.application.number,
                       kind=kind, code=assignment.application.call.code, reviews=_listed([assignment], evaluator, now))
        if kind == "before":
            message = jobs.notify(evaluator, "review_reminder", _l("Review due soon: %(number)s"), **context)
        else:
            message = jobs.notify(evaluator, "review_reminder", _l("Review overdue: %(number)s"), **context)
        reminder.message_id = message.id
        sent.append(f"assignment {assignment.id}: {kind}")
    db.session.flush()
    return sent
