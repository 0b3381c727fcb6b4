"""What `tick` does: persist every due clock move (the definitions' `clock`), remind evaluators of reviews due soon
or overdue, forget stale login throttles, seal an audit checkpoint."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from app import clock
from app.errors import NotAllowed, Refused
from app.extensions import db
from app.services import accounts, audit, reporting, review_progress
from app.services.workflow import ENTITY_TYPE, MODEL_OF, engine, persist_clock, refused_message
from workflows.definition import ClockMove
from workflows.engine import NotAvailable

log = logging.getLogger(__name__)
NAMED_BY = {"call": "code", "application": "number"}  # how tick's report names a row


@dataclass
class TickReport:
    moves: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # a move that failed: logged, rolled back, the rest went on
    forgotten_throttles: int = 0
    review_reminders: list[str] = field(default_factory=list)  # "assignment 7: before" (app/services/review_progress.py)
    report_reminders: list[str] = field(default_factory=list)  # "report 3: after" (app/services/reporting.py)
    checkpoint: int | None = None


def tick() -> TickReport:
    """Each row with a clock move due, in its own transaction: one that fails is logged and the rest go on."""
    report = TickReport()
    now = clock.now()
    for name, workflow in engine().compiled.items():
        model = MODEL_OF[name]
        for entity_id in _due_ids(model, workflow.workflow.clock, now):
            entity = db.session.get(model, entity_id)
            label = f"{ENTITY_TYPE[name]} {getattr(entity, NAMED_BY.get(name, 'id'), None) or entity.id}"
            try:
                events = persist_clock(entity)
                db.session.commit()
            except Exception as error:  # noqa: BLE001  one bad row must not stop the clock for every other
                db.session.rollback()
                log.exception("tick: %s was not moved", label)
                why = refused_message(error) if isinstance(error, (NotAvailable, NotAllowed, Refused)) else repr(error)
                report.refused.append(f"{label}: {why}")
                continue
            report.moves += [f"{label}: {event.trigger}" for event in events]
    report.review_reminders = review_progress.remind_due(now)
    db.session.commit()
    report.report_reminders = reporting.remind_due(now)
    db.session.commit()
    report.forgotten_throttles = accounts.forget_old_counts(now)
    db.session.commit()
    checkpoint = audit.seal_checkpoint()
    report.checkpoint = checkpoint.id if checkpoint else None
    db.session.commit()
    return report


def _due_ids(model, moves: tuple[ClockMove, ...], now: datetime) -> list[int]:
    """Ids of the rows in a clock move's source state whose moment has come, for every move, in id order."""
    found: set[int] = set()
    for move in moves:
        query, column = _moment(select(model.id), model, move.at)
        found.update(db.session.scalars(query.where(model.status == move.source, column <= now)))
    return sorted(found)


def _moment(query, model, at: str):
    """The column a clock move's `at` names, joining the rows a dotted path goes through ("call.reserve_expires_at")."""
    *relations, attribute = at.split(".")
    for relation in relations:
        relationship = getattr(model, relation)
        query, model = query.join(relationship), relationship.property.mapper.class_
    return query, getattr(model, attribute)
