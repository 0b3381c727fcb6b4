"""`fire`: the only way a stateful record changes state (DESIGN 4.2)."""
from __future__ import annotations

from functools import lru_cache

from flask_babel import gettext as _
from sqlalchemy import select, update

from app import clock, policies
from app.errors import NotAllowed, Refused
from app.extensions import db
from app.models import Application, Assignment, AuditEvent, Call, Payment, Recovery, Report
from app.services import audit
from app.services.registry import EFFECTS, GUARDS, SELECTORS, Context
from workflows.engine import Engine, NotAvailable

WORKFLOW_OF = {Call: "call", Application: "application", Assignment: "review", Report: "report",
               Payment: "payment", Recovery: "recovery"}
ENTITY_TYPE = {"call": "call", "application": "application", "review": "assignment", "report": "report",
               "payment": "payment", "recovery": "recovery"}
MONEY_TRIGGERS = {"promote", "decline", "withdraw", "fund", "reserve", "reject", "pay", "sign", "renounce",
                  "terminate"}


@lru_cache(maxsize=1)
def engine() -> Engine:
    import app.services.stages  # noqa: F401  registers every guard, effect and selector

    return Engine(GUARDS, EFFECTS, SELECTORS)


def workflow_name(entity) -> str:
    return WORKFLOW_OF[type(entity)]


def lock(entity) -> None:
    """Lock the entity's row for the rest of the transaction and reload it (SQLite: BEGIN IMMEDIATE already
    holds the database's write lock)."""
    model = type(entity)
    db.session.execute(
        select(model).where(model.id == entity.id).with_for_update().execution_options(populate_existing=True)
    ).all()  # the rows must be fetched: only loading them refreshes the entity (else a stale state passes)


def _lock_for(entity, trigger: str) -> None:
    if isinstance(entity, Application) and trigger in MONEY_TRIGGERS:
        lock(entity.call)  # money decisions: the call first, then its applications
    if isinstance(entity, Assignment):
        # a review move reads its application's other reviews (divergence, the last late review): the
        # application first, then the assignment, so that two evaluators submitting at once see each other
        lock(entity.application)
    lock(entity)


def fire(entity, trigger: str, actor, note: str | None = None, *, caused_by: AuditEvent | None = None,
         **data) -> AuditEvent:
    """Move `entity` by `trigger` as `actor` (a User, or None for the system) inside the caller's transaction.

    Raises NotAvailable (409), NotAllowed (403) or Refused (a guard's message); the caller rolls back.
    """
    name = workflow_name(entity)
    if caused_by is None:
        _lock_for(entity, trigger)
        if isinstance(entity, Call):
            catch_up(entity)
    selections = {t.when: SELECTORS[t.when](entity) for t in engine().workflow(name).leaving(entity.status)
                  if t.trigger == trigger and t.when}
    transition = engine().select(name, trigger, entity.status, selections)
    role = "system" if actor is None else actor.role
    if role not in transition.roles:
        raise NotAllowed(_("Your role may not do this."))
    if actor is not None:
        policies.require_fire(actor, entity, transition)
    note = (note or "").strip() or None
    if transition.needs_note and not note:
        raise Refused(_("Please write the reason."))
    context = Context(entity=entity, trigger=trigger, actor=actor, now=clock.now(), note=note, data=data,
                      source=entity.status, dest=transition.dest)
    for guard_name in transition.guards:
        message = GUARDS[guard_name](context)
        if message:
            raise Refused(message)
    entity.status = engine().move(name, entity.status, trigger, selections)
    context.record = lambda: audit.record(ENTITY_TYPE[name], entity.id, trigger, context.source, entity.status,
                                          actor.id if actor is not None else None, note, _jsonable(data), caused_by)
    with db.session.no_autoflush:
        for effect_name in transition.effects:
            EFFECTS[effect_name](context)
    event = context.cause()
    db.session.flush()
    return event


def _jsonable(data: dict) -> dict:
    plain = {}
    for key, value in data.items():
        if hasattr(value, "isoformat"):
            plain[key] = value.isoformat()
        elif isinstance(value, (str, int, float, bool, list, dict, type(None))):
            plain[key] = value
    return plain


def available(entity, user, state: str | None = None) -> list[str]:
    """Triggers `user` may fire on `entity` now: the buttons to show. Guards are not run here; a refused
    guard answers with its reason when the button is pressed."""
    name = workflow_name(entity)
    state = state or effective_status(entity)
    triggers = engine().triggers_from(name, state, user.role if user.is_authenticated else None)
    if not user.is_authenticated:
        return []
    return [t for t in triggers if policies.may_fire(user, entity, t)]


def effective_status(entity) -> str:
    """The state a reader should see: stored state plus any clock move already due (never written here)."""
    name = workflow_name(entity)
    return engine().effective_state(name, entity.status, lambda attr: getattr(entity, attr), clock.now())


def catch_up(call: Call, caused_by: AuditEvent | None = None) -> list[AuditEvent]:
    """Persist the clock moves that are due, each with a conditional update so exactly one writer records it."""
    events = []
    for trigger, dest in engine().due_clock_moves("call", call.status, lambda a: getattr(call, a), clock.now()):
        source = call.status
        moved = db.session.execute(
            update(Call).where(Call.id == call.id, Call.status == source).values(status=dest)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:
            db.session.refresh(call)
            break
        call.status = dest
        db.session.flush()
        events.append(audit.record("call", call.id, trigger, source, dest, None, caused_by=caused_by,
                                   data={"clock": True}))
    return events


def cascade(entities, trigger: str, caused_by: AuditEvent) -> list[AuditEvent]:
    """Fire `trigger` as the system on each entity, in id order, recording the event that caused it."""
    return [fire(e, trigger, None, caused_by=caused_by) for e in sorted(entities, key=lambda e: e.id)]


def refused_message(error: Exception) -> str:
    if isinstance(error, NotAvailable):
        return _("This step is not possible in the current state.")
    return getattr(error, "message", "") or _("This is not allowed.")
