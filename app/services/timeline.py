"""A grant's timeline (issue 8): every event of the audit trail of an application and of what follows from it (its
payments, reports and recoveries; for staff also its reviews), in order, with who and when, in plain words in the
reader's language. Read only: the words come from the workflow definitions, so the timeline says what the engine
did, and nothing is shown that the reader could not see elsewhere (an NGO never sees the reviews or who evaluated).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from app.extensions import db
from app.models import Application, Assignment, AuditEvent, Payment, Recovery, Report, User
from workflows.engine import WORKFLOWS

STAFF = ("admin", "auditor")
# entity type of the audit trail → (workflow, the subject in words)
SUBJECTS = {
    "application": ("application", _l("Application")),
    "payment": ("payment", _l("Payment")),
    "report": ("report", _l("Report")),
    "recovery": ("recovery", _l("Recovery")),
    "assignment": ("review", _l("Review")),
}
# events recorded outside the workflows' transitions
RECORDED = {
    "create": _l("Created"), "attach": _l("File attached"), "replace_attachment": _l("File replaced"),
    "remove_attachment": _l("File removed"), "schedule": _l("Scheduled"), "demand": _l("Repayment demanded"),
    "assign": _l("Evaluator assigned"), "consensus_note": _l("Consensus note written"),
    "amend_agreement": _l("Agreement amended"), "accept_amendment": _l("Amended agreement accepted"),
    "upload_signed_agreement": _l("Signed agreement uploaded"),
}
# the evaluators' own deliberation: staff only, like the reviews
STAFF_ONLY_TRIGGERS = ("consensus_note",)
REPORT_KINDS = {"interim": _l("Interim report"), "final": _l("Final report")}


@dataclass(frozen=True)
class Entry:
    at: datetime
    subject: str  # "Application", "Payment 2", "Final report"
    what: str  # the step in words
    change: str  # "Submitted → Eligible"; the state alone when the event created it; "" when it stays
    who: str
    note: str

    @property
    def moved(self) -> bool:
        return "→" in self.change


def _scope(application: Application, staff: bool):
    payments = select(Payment.id).where(Payment.application_id == application.id)
    reports = select(Report.id).where(Report.application_id == application.id)
    recoveries = select(Recovery.id).where(Recovery.application_id == application.id)
    parts = [and_(AuditEvent.entity_type == "application", AuditEvent.entity_id == application.id),
             and_(AuditEvent.entity_type == "payment", AuditEvent.entity_id.in_(payments)),
             and_(AuditEvent.entity_type == "report", AuditEvent.entity_id.in_(reports)),
             and_(AuditEvent.entity_type == "recovery", AuditEvent.entity_id.in_(recoveries))]
    if staff:
        assignments = select(Assignment.id).where(Assignment.application_id == application.id)
        parts.append(and_(AuditEvent.entity_type == "assignment", AuditEvent.entity_id.in_(assignments)))
    return or_(*parts)


def _subjects(application: Application) -> dict[tuple[str, int], str]:
    """What each payment and report is called on the timeline: "Payment 2", "Final report"."""
    named = {("payment", p.id): _("Payment %(n)s", n=p.tranche)
             for p in db.session.scalars(select(Payment).where(Payment.application_id == application.id))}
    named.update({("report", r.id): str(REPORT_KINDS.get(r.kind, _l("Report")))
                  for r in db.session.scalars(select(Report).where(Report.application_id == application.id))})
    return named


def _who(actor: User | None, reader: User) -> str:
    if actor is None:
        return _("The system (by the clock)")
    if reader.role in STAFF or actor.organisation_id == reader.organisation_id:
        return actor.name
    return _("The call's administrator") if actor.role == "admin" else _("The programme")


def _words(event: AuditEvent, lang: str) -> tuple[str, str]:
    workflow = WORKFLOWS[SUBJECTS[event.entity_type][0]]
    if event.trigger in workflow.triggers:
        what = workflow.trigger_label(event.trigger, lang)
    else:
        what = str(RECORDED.get(event.trigger, _l("Recorded")))
    states = {s.name for s in workflow.states}
    change = ""
    if event.to_state in states and event.from_state != event.to_state:
        change = (f"{workflow.label(event.from_state, lang)} → " if event.from_state in states else "") \
            + workflow.label(event.to_state, lang)
    return what, change


def _note(event: AuditEvent) -> str:
    if event.trigger in ("attach", "replace_attachment", "remove_attachment"):
        return json.loads(event.data or "{}").get("file") or ""
    return event.note or ""


def grant_timeline(application: Application, reader: User, lang: str) -> list[Entry]:
    """The events in the order they happened (ties: the order they were recorded)."""
    staff = reader.role in STAFF
    query = select(AuditEvent).where(_scope(application, staff))
    if not staff:
        query = query.where(AuditEvent.trigger.not_in(STAFF_ONLY_TRIGGERS))
    events = db.session.scalars(query.order_by(AuditEvent.occurred_at, AuditEvent.id)).all()
    actors = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({e.actor_id for e in events if e.actor_id})))}
    named = _subjects(application)
    entries = []
    for event in events:
        what, change = _words(event, lang)
        subject = named.get((event.entity_type, event.entity_id)) or str(SUBJECTS[event.entity_type][1])
        entries.append(Entry(at=event.occurred_at, subject=subject, what=what, change=change,
                             who=_who(actors.get(event.actor_id), reader), note=_note(event)))
    return entries
