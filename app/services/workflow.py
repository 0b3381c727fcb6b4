"""`fire`: the only way a stateful record changes state (DESIGN 4.2).

The engine's machine decides the move: which transition the trigger takes from the state (its `when` selector),
whether the actor may (roles, policy, a written reason) and whether its guards pass; `_Asking` answers the machine's
questions from the database. `fire` then runs the transition's effects, records the event, and runs its cascades:
the system fires each cascade's trigger on the rows its targets name, every event caused by this one, all in the
caller's transaction. The clock's moves (`catch_up`) go the same way, with a conditional update so that exactly one
writer records each.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import lru_cache

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from app import clock, direction_controls, formatting, policies
from app.errors import NotAllowed, Refused, surfaced
from app.extensions import db
from app.models import Application, Assignment, AuditEvent, Call, Organisation, Payment, Recovery, Report
from app.services import audit
from app.services.registry import COSTLY, EFFECTS, GUARDS, INPUT, NOTES, SELECTORS, TARGETS, Context
from workflows.engine import Engine, Move, NotAvailable

WORKFLOW_OF = {Call: "call", Application: "application", Assignment: "review", Report: "report",
               Payment: "payment", Recovery: "recovery"}
MODEL_OF = {name: model for model, name in WORKFLOW_OF.items()}
ENTITY_TYPE = {"call": "call", "application": "application", "review": "assignment", "report": "report",
               "payment": "payment", "recovery": "recovery"}
MONEY_TRIGGERS = {"promote", "decline", "withdraw", "fund", "reserve", "reject", "pay", "sign", "renounce",
                  "terminate"}


@lru_cache(maxsize=1)
def engine() -> Engine:
    import app.services.stages  # noqa: F401  registers every guard, effect, selector and cascade target

    return Engine(GUARDS, EFFECTS, SELECTORS, TARGETS, NOTES)


def workflow_name(entity) -> str:
    return WORKFLOW_OF[type(entity)]


def lock(entity) -> None:
    """Lock the entity's row for the rest of the transaction and reload it (SQLite: BEGIN IMMEDIATE already
    holds the database's write lock)."""
    model = type(entity)
    db.session.execute(
        select(model).where(model.id == entity.id).with_for_update().execution_options(populate_existing=True)
    ).all()  # the rows must be fetched: only loading them refreshes the entity (else a stale state passes)


def _lock_for(entity, *triggers: str) -> None:
    """Take the row locks a move by any of `triggers` needs, parents first, before anything is read (a guard never
    locks: `check` runs the guards without a lock)."""
    if isinstance(entity, Application) and MONEY_TRIGGERS.intersection(triggers):
        lock(entity.call)  # money decisions: the call first, then its applications
    if isinstance(entity, Payment) and "pay" in triggers:
        # paid_within_grant adds up the grant's paid tranches: two of them paid at once must see each other, so
        # the call, then the application, then the payment (the money order; a batch takes the same)
        application = db.session.get(Application, entity.application_id)
        lock(application.call)
        lock(application)
    if isinstance(entity, Assignment):
        # a review move reads its application's other reviews (divergence, the last late review): the
        # application first, then the assignment, so that two evaluators submitting at once see each other
        lock(entity.application)
    if isinstance(entity, Application) and "submit" in triggers:
        # organisation_limit counts the organisation's submitted applications: two of its drafts submitted at
        # once must not both count one fewer. One statement locks the application and its organisation and
        # reloads both, with the call the guards read (not locked: a submit never locks the call)
        _application, organisation, call = db.session.execute(
            select(Application, Organisation, Call).join(Organisation, Organisation.id == Application.organisation_id)
            .join(Call, Call.id == Application.call_id).where(Application.id == entity.id)
            .with_for_update(of=(Application, Organisation)).execution_options(populate_existing=True)).one()
        set_committed_value(entity, "organisation", organisation)  # held: the session keeps rows weakly
        set_committed_value(entity, "call", call)
        return
    lock(entity)


class _Asking(Move):
    """The app's answers to what the machine asks while it moves `entity`: the selectors from the entity, the role
    and policy from the actor, a written reason where the transition needs one, and the guards from the registry,
    each refusal recorded with its message. `dry`: a dry run (`check`) skips what only the submitted form can
    answer (the guards registered `input`, a written reason) and, unless `run_costly`, the costly guards."""

    __slots__ = ("context", "role", "dry", "run_costly")

    def __init__(self, context: Context, role: str, *, dry: bool = False, run_costly: bool = True):
        super().__init__(context.source)
        self.context, self.role, self.dry, self.run_costly = context, role, dry, run_costly

    def selects(self, selector: str) -> bool:
        if selector not in self.selections:
            self.selections[selector] = bool(SELECTORS[selector](self.context.entity))
        return self.selections[selector]

    def permits(self, transition) -> bool:
        context = self.context
        if self.role not in transition.roles:
            return self.refuse(NotAllowed(_("Your role may not do this.")))
        if context.actor is not None:
            try:
                policies.require_fire(context.actor, context.entity, transition)
            except NotAllowed as error:
                return self.refuse(error)
        if transition.needs_note and not context.note and not self.dry:
            return self.refuse(Refused(_("Please write the reason.")))
        context.dest = transition.dest
        return True

    def passes(self, guard: str) -> bool:
        if self.dry and (guard in INPUT or (guard in COSTLY and not self.run_costly)):
            return True
        message = GUARDS[guard](self.context)
        return True if not message else self.refuse(Refused(message))


def _role(actor) -> str | None:
    if actor is None:
        return "system"
    return actor.role if getattr(actor, "is_authenticated", False) else None


@surfaced  # the engine's NotAvailable leaves as NotPossible, a user's error (app/errors.py)
def fire(entity, trigger: str, actor, note: str | None = None, *, caused_by: AuditEvent | None = None,
         **data) -> AuditEvent:
    """Move `entity` by `trigger` as `actor` (a User, or None for the system) inside the caller's transaction.

    Raises NotPossible (409: the engine's NotAvailable as a user's error), NotAllowed (403) or Refused (a guard's
    message); the caller rolls back. A move caused by another (`caused_by`: a cascade) runs under the locks its
    cause took.
    """
    if caused_by is None:
        _lock_for(entity, trigger, *(t for t, _dest in _due(entity)))
        catch_up(entity)
    return _move(entity, trigger, actor, note, data, caused_by)


def _move(entity, trigger: str, actor, note, data: dict, caused_by, *, conditional: bool = False) -> AuditEvent | None:
    """The machine decides; then the state, the effects, the event and the cascades. `conditional`: write the state
    with `UPDATE … WHERE status = <source>` and do nothing more (None) if another writer moved it first."""
    name = workflow_name(entity)
    note = (note or "").strip() or None
    direction_controls.refuse_in(note, *data.values())  # text that reached us by another way than a form
    context = Context(entity=entity, trigger=trigger, actor=actor, now=clock.now(), note=note, data=data,
                      source=entity.status)
    asking = _Asking(context, _role(actor))
    with db.session.no_autoflush:  # the guards read; nothing they see is flushed half-made
        transition = engine().take(name, trigger, asking)
    if conditional:
        model = type(entity)
        moved = db.session.execute(
            update(model).where(model.id == entity.id, model.status == context.source).values(status=transition.dest)
            .execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            db.session.refresh(entity)
            return None
        set_committed_value(entity, "status", transition.dest)
    else:
        entity.status = transition.dest
    context.record = lambda: audit.record(ENTITY_TYPE[name], entity.id, trigger, context.source, entity.status,
                                          actor.id if actor is not None else None, note, _jsonable(data), caused_by)
    with db.session.no_autoflush:
        for effect_name in transition.effects:
            EFFECTS[effect_name](context)
    event = context.cause()
    for step in transition.cascades:
        cascade(TARGETS[step.targets](context), step.trigger, event, _system_note(step.note) if step.note else note)
    db.session.flush()
    return event


def _system_note(name: str) -> str:
    """The note a definition names for the system's move, in the audit trail's language whoever's request runs it."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(NOTES[name])


def _jsonable(data: dict) -> dict:
    plain = {}
    for key, value in data.items():
        if hasattr(value, "isoformat"):
            plain[key] = value.isoformat()
        elif isinstance(value, (str, int, float, bool, list, dict, type(None))):
            plain[key] = value
    return plain


def available(entity, user, state: str | None = None) -> list[str]:
    """Triggers `user` may fire on `entity` from its state, guards not run. Pages draw their buttons from `offers`,
    which runs them (`check`)."""
    name = workflow_name(entity)
    state = state or effective_status(entity)
    if not user.is_authenticated:
        return []
    triggers = engine().triggers_from(name, state, user.role)
    return [t for t in triggers if policies.may_fire(user, entity, t)]


def check(entity, trigger: str, actor, *, run_costly: bool = True) -> str | None:
    """A dry run of `fire`: the message it would refuse with, or None if it would pass. No lock, no write.

    Asks in this order: the role (may this role ever do `trigger`), the policy (is the entity within the actor's
    reach), the state (does `trigger` leave the state a reader sees), then the guards in definition order.
    `run_costly=False` skips the guards registered `costly` (list pages); guards registered `input` judge what the
    user sends with the step (a note, a bank reference) and are left to `fire`. `actor` None is the system.
    """
    name = workflow_name(entity)
    role = _role(actor)
    if role is None or role not in engine().roles_of(name, trigger):
        return _("Your role may not do this.")
    if actor is not None and not policies.may_act_on(actor, entity):
        return _("This is not allowed.")
    context = Context(entity=entity, trigger=trigger, actor=actor, now=clock.now(), source=effective_status(entity))
    try:
        with db.session.no_autoflush:
            engine().take(name, trigger, _Asking(context, role, dry=True, run_costly=run_costly))
    except (NotAvailable, NotAllowed, Refused) as error:
        return refused_message(error)
    return None


def times(entity):
    """`at` -> the moment a clock move of `entity` names: its attribute, or dotted, a related row's."""
    return lambda at: functools.reduce(lambda row, attribute: row and getattr(row, attribute), at.split("."), entity)


def _due(entity) -> list[tuple[str, str]]:
    return engine().due_clock_moves(workflow_name(entity), entity.status, times(entity), clock.now())


def effective_status(entity) -> str:
    """The state a reader should see: stored state plus any clock move already due (never written here)."""
    name = workflow_name(entity)
    return engine().effective_state(name, entity.status, times(entity), clock.now())


def catch_up(entity, caused_by: AuditEvent | None = None) -> list[AuditEvent]:
    """Persist the clock moves due on `entity` (any workflow with clock moves), each as the system with its effects,
    and each with a conditional update so that exactly one writer records it. Lock it first (`persist_clock`)."""
    moves = engine().workflow(workflow_name(entity)).clock
    events = []
    for trigger, _dest in _due(entity):
        source = entity.status
        move = next(m for m in moves if m.trigger == trigger and m.source == source)
        event = _move(entity, trigger, None, _system_note(move.note) if move.note else None, {"clock": True},
                      caused_by, conditional=True)
        if event is None:
            break  # another writer recorded it; the state is reloaded
        events.append(event)
    return events


def persist_clock(entity) -> list[AuditEvent]:
    """tick's step for one row: lock it as the moves due need, then persist them."""
    _lock_for(entity, *(t for t, _dest in _due(entity)))
    return catch_up(entity)


def cascade(entities, trigger: str, caused_by: AuditEvent, note: str | None = None) -> list[AuditEvent]:
    """Fire `trigger` as the system on each entity, in the order given, recording the event that caused it. Only
    the engine calls this, for a transition's declared cascades (an effect never fires)."""
    return [fire(e, trigger, None, note, caused_by=caused_by) for e in entities]


def refused_message(error: Exception) -> str:
    if isinstance(error, NotAvailable):
        return _("This step is not possible in the current state.")
    return getattr(error, "message", "") or _("This is not allowed.")


# --- the buttons a page shows --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Offer:
    """One workflow button: whether pressing it now would pass, and if not why (shown beside it, disabled)."""

    trigger: str
    label: str  # in the reader's language
    allowed: bool
    reason: str | None  # the refusal `check` gives; None when allowed
    needs_note: bool  # the form must carry a written reason
    irreversible: bool  # the web asks for confirmation on a page of its own before the move


def offers(entity, user, *, run_costly: bool = True, state: str | None = None) -> list[Offer]:
    """The buttons `user` gets on `entity`: every trigger their role may fire from the state a reader sees, each
    dry-run through `check`. Detail pages run every guard; a page that lists many entities passes
    `run_costly=False` and a costly guard then answers only when the button is pressed. Guards registered `input`
    judge what the form sends (a note, a new deadline, a bank reference): they never disable a button and are
    checked on submit by `fire`."""
    name = workflow_name(entity)
    lang = formatting.current_lang()
    found = []
    for trigger in available(entity, user, state):
        reason = check(entity, trigger, user, run_costly=run_costly)
        found.append(Offer(trigger, engine().workflow(name).trigger_label(trigger, lang), reason is None, reason,
                           needs_note(entity, trigger), irreversible(entity, trigger)))
    return found


def _transitions(entity, trigger: str):
    return [tr for tr in engine().workflow(workflow_name(entity)).transitions if tr.trigger == trigger]


def needs_note(entity, trigger: str) -> bool:
    """True when `trigger` on `entity` takes a written reason (`needs_note=True` in the definition)."""
    return any(tr.needs_note for tr in _transitions(entity, trigger))


def irreversible(entity, trigger: str) -> bool:
    """True when nothing undoes `trigger` on `entity` (`irreversible=True` in its workflow's definition)."""
    return any(tr.irreversible for tr in _transitions(entity, trigger))
