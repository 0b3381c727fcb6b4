"""The audit trail: hash-chained events, checkpoints, verification."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import func, select, text

from app import clock
from app.extensions import db
from app.models import Application, Assignment, AuditCheckpoint, AuditEvent, Criterion, Score


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _event_bytes(event: AuditEvent) -> bytes:
    return canonical_json({
        "entity": [event.entity_type, event.entity_id],
        "trigger": event.trigger,
        "from": event.from_state,
        "to": event.to_state,
        "actor": event.actor_id if event.actor_id is not None else "system",
        "at": event.occurred_at.isoformat(timespec="microseconds"),
        "note": event.note or "",
        "data": event.data,
        "caused_by": event.caused_by_id,
        "prev": event.prev_hash,
    }).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_event_bytes(event)).hexdigest()


def latest_event(entity_type: str, entity_id: int) -> AuditEvent | None:
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.id.desc()).limit(1)
    ).first()


def record(entity_type: str, entity_id: int, trigger: str, from_state: str | None, to_state: str,
           actor_id: int | None, note: str | None = None, data: dict | None = None,
           caused_by: AuditEvent | None = None) -> AuditEvent:
    """Append one event to the entity's chain. The caller holds the entity's lock."""
    from app.services.numbering import STAND_IN_MARK

    data_text = canonical_json(data or {})
    if STAND_IN_MARK in (note or "") or STAND_IN_MARK in data_text:
        # a submission's stand-in number would be sealed into the chain for good (app/services/numbering.py)
        raise RuntimeError("an audit event names an application number that is not taken yet")
    previous = latest_event(entity_type, entity_id)
    event = AuditEvent(
        entity_type=entity_type, entity_id=entity_id, trigger=trigger, from_state=from_state, to_state=to_state,
        actor_id=actor_id, occurred_at=clock.now(), note=note or "", data=data_text,
        caused_by_id=caused_by.id if caused_by else None, prev_hash=previous.hash if previous else "",
    )
    event.hash = event_hash(event)
    db.session.add(event)
    db.session.flush()
    return event


def _heads(up_to_id: int) -> list[list]:
    newest = (
        select(AuditEvent.entity_type, AuditEvent.entity_id, func.max(AuditEvent.id).label("last"))
        .where(AuditEvent.id <= up_to_id).group_by(AuditEvent.entity_type, AuditEvent.entity_id).subquery()
    )
    rows = db.session.execute(
        select(AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.id, AuditEvent.hash)
        .join(newest, AuditEvent.id == newest.c.last)
        .order_by(AuditEvent.entity_type, AuditEvent.entity_id)
    ).all()
    return [list(row) for row in rows]


def _checkpoint_hash(checkpoint: AuditCheckpoint) -> str:
    payload = canonical_json([checkpoint.last_event_id, checkpoint.sealed_at.isoformat(timespec="microseconds"),
                              checkpoint.heads, checkpoint.prev_hash])
    return hashlib.sha256(payload.encode()).hexdigest()


def seal_checkpoint() -> AuditCheckpoint | None:
    """One hash over every entity's latest event; None when nothing happened since the last seal."""
    if db.session.get_bind().dialect.name == "postgresql":
        # Ids are handed out at insert, not at commit: wait for every transaction still writing events (an older
        # uncommitted id would otherwise commit under a seal that leaves it out, and verify would cry tampering)
        # and keep a second `tick` out until this one commits (two seals on one previous would fork the line).
        # SQLite gets the same from BEGIN IMMEDIATE.
        db.session.execute(text("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE"))
    last_id = db.session.scalar(select(func.max(AuditEvent.id)))
    previous = db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).first()
    if last_id is None or (previous and previous.last_event_id == last_id):
        return None
    checkpoint = AuditCheckpoint(sealed_at=clock.now(), last_event_id=last_id,
                                 heads=canonical_json(_heads(last_id)), prev_hash=previous.hash if previous else "")
    checkpoint.hash = _checkpoint_hash(checkpoint)
    db.session.add(checkpoint)
    db.session.flush()
    return checkpoint


# --- the scores under the trail ------------------------------------------------------------------------------------
# A review's scores live in their own rows, which evaluators may change until they submit. `submit_review` writes
# the SHA-256 of what was submitted into its event (evaluation's `stamp_review`), so the chained event vouches for
# the scores: `verify` hashes the stored scores of every submitted review again and compares.
SCORED_STATES = ("submitted", "voided")  # a voided review's scores are kept as submitted; a reopened one may change


def scores_sha256(assignment_ids) -> dict[int, str]:
    """Per review: SHA-256 of the canonical JSON of its (criterion code, half points, comment), sorted by code."""
    rows: dict[int, list] = {i: [] for i in assignment_ids}
    for assignment_id, code, half_points, comment in db.session.execute(
            select(Score.assignment_id, Criterion.code, Score.half_points, Score.comment)
            .join(Criterion, Criterion.id == Score.criterion_id)
            .where(Score.assignment_id.in_(list(rows) or [-1]))):
        rows[assignment_id].append([code, half_points, comment or ""])
    return {i: hashlib.sha256(canonical_json(sorted(found, key=lambda r: r[0])).encode()).hexdigest()
            for i, found in rows.items()}


def _verify_scores() -> tuple[int, int, str]:
    """(reviews checked, reviews submitted before their scores were hashed, the first problem or "")."""
    submitted = {event.entity_id: event for event in db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "assignment", AuditEvent.trigger == "submit_review")
        .order_by(AuditEvent.id))}  # the last submission of each review wins (a reopened review is submitted again)
    reviews = db.session.scalars(select(Assignment.id).where(Assignment.status.in_(SCORED_STATES))
                                 .order_by(Assignment.id)).all()
    sealed = {i: json.loads(submitted[i].data).get("scores_sha256") for i in reviews if i in submitted}
    now = scores_sha256([i for i, digest in sealed.items() if digest])
    checked = unsealed = 0
    for review_id in reviews:
        digest = sealed.get(review_id)
        if not digest:
            unsealed += 1
            continue
        checked += 1
        if now[review_id] != digest:
            number = db.session.scalar(select(Application.number).join(
                Assignment, Assignment.application_id == Application.id).where(Assignment.id == review_id))
            return checked, unsealed, (f"review {review_id} of application {number}: its stored scores or comments "
                                       f"are not those submitted in event {submitted[review_id].id} (edited "
                                       "afterwards)")
    return checked, unsealed, ""


@dataclass
class Verdict:
    ok: bool
    events: int
    problem: str = ""
    reviews: int = 0  # submitted reviews whose scores were re-hashed
    unsealed_reviews: int = 0  # submitted before scores were hashed into the trail: not checkable


def verify() -> Verdict:
    """Recompute every hash and chain link, compare the newest checkpoint with the events it sealed, then hash the
    stored scores of every submitted review again and compare with its `submit_review` event."""
    last_hash: dict[tuple[str, int], str] = {}
    count = 0
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        count += 1
        key = (event.entity_type, event.entity_id)
        if event.prev_hash != last_hash.get(key, ""):
            return Verdict(False, count, f"event {event.id} ({key[0]} {key[1]}): its link to the previous event "
                                         "is broken (an event before it was deleted or edited)")
        if event_hash(event) != event.hash:
            return Verdict(False, count, f"event {event.id} ({key[0]} {key[1]}): its content was edited")
        last_hash[key] = event.hash
    previous_hash, checkpoint = "", None
    for checkpoint in db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
        if checkpoint.prev_hash != previous_hash or _checkpoint_hash(checkpoint) != checkpoint.hash:
            return Verdict(False, count, f"checkpoint {checkpoint.id} was edited or one before it was deleted")
        previous_hash = checkpoint.hash
    if checkpoint is not None:
        sealed = json.loads(checkpoint.heads)
        now_heads = _heads(checkpoint.last_event_id)
        if sealed != now_heads:
            missing = [h for h in sealed if h not in now_heads]
            first = missing[0] if missing else (now_heads[0] if now_heads else ["?", "?", "?"])
            return Verdict(False, count, f"checkpoint {checkpoint.id}: event {first[2]} of {first[0]} {first[1]} "
                                         "is missing or changed")
    reviews, unsealed, problem = _verify_scores()
    return Verdict(not problem, count, problem, reviews, unsealed)
