"""The audit trail detects every edited or deleted event, names the first bad one, and `tick` seals checkpoints."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update

from app.extensions import db
from app.models import AuditCheckpoint, AuditEvent
from app.services import audit
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def chain_of(entity_type, entity_id) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == entity_type,
                                                            AuditEvent.entity_id == entity_id)
                                   .order_by(AuditEvent.id)))


@pytest.fixture
def trail(app):
    """Two applications' worth of history: calls, applications, checks. Returns one application's chain
    (create → submit → pass_checks), whose events nothing else names as their cause."""
    first, _second = f.make_applications(None, ["eligible", "ineligible"])
    events = chain_of("application", first.id)
    assert [e.trigger for e in events] == ["create", "submit", "pass_checks"]
    return events


def _tamper(statement) -> None:
    db.session.execute(statement)
    db.session.commit()


def test_an_untouched_trail_verifies(trail):
    verdict = audit.verify()
    assert verdict.ok, verdict.problem
    assert verdict.events == db.session.scalar(select(func.count(AuditEvent.id)))


EDITS = {
    "entity_type": "call",
    "entity_id": 999,
    "trigger": "fail_checks",
    "from_state": "eligible",
    "to_state": "funded",
    "actor_id": 424242,
    "note": "labots",
    "data": '{"changed":true}',
    "prev_hash": "0" * 64,
    "hash": "f" * 64,
}


@pytest.mark.parametrize("column", [*EDITS, "occurred_at", "caused_by_id"])
def test_editing_any_field_of_an_event_is_detected_and_that_event_named(trail, column):
    middle = trail[1]
    value = {"occurred_at": middle.occurred_at + timedelta(seconds=1), "caused_by_id": trail[0].id}.get(
        column, EDITS.get(column))
    _tamper(update(AuditEvent).where(AuditEvent.id == middle.id).values({column: value}))

    verdict = audit.verify()
    assert not verdict.ok
    assert verdict.problem.startswith(f"event {middle.id} "), verdict.problem


def test_deleting_a_middle_event_names_the_next_one(trail):
    first, middle, last = trail
    _tamper(delete(AuditEvent).where(AuditEvent.id == middle.id))

    verdict = audit.verify()
    assert not verdict.ok
    assert verdict.problem.startswith(f"event {last.id} "), verdict.problem
    assert "link to the previous event is broken" in verdict.problem


def test_deleting_the_latest_event_is_caught_only_by_a_checkpoint(trail):
    last = trail[-1]
    audit.seal_checkpoint()
    db.session.commit()
    _tamper(delete(AuditEvent).where(AuditEvent.id == last.id))

    verdict = audit.verify()
    assert not verdict.ok
    assert f"event {last.id} of application {last.entity_id} is missing or changed" in verdict.problem


def test_without_a_checkpoint_a_deleted_latest_event_leaves_a_consistent_chain(trail):
    """Why `tick` seals checkpoints: a chain cut at its end is still a valid chain."""
    _tamper(delete(AuditEvent).where(AuditEvent.id == trail[-1].id))
    assert audit.verify().ok


def test_a_whole_entity_deleted_after_a_checkpoint_is_caught(trail):
    audit.seal_checkpoint()
    db.session.commit()
    _tamper(delete(AuditEvent).where(AuditEvent.entity_type == "application",
                                     AuditEvent.entity_id == trail[0].entity_id))

    verdict = audit.verify()
    assert not verdict.ok
    assert f"of application {trail[0].entity_id} is missing" in verdict.problem


def test_events_after_the_last_checkpoint_keep_verifying(trail, make_application):
    audit.seal_checkpoint()
    db.session.commit()
    make_application(state="withdrawn")
    assert audit.verify().ok


def test_an_edited_checkpoint_is_detected(trail):
    checkpoint = audit.seal_checkpoint()
    db.session.commit()
    _tamper(update(AuditCheckpoint).where(AuditCheckpoint.id == checkpoint.id).values(last_event_id=1))

    verdict = audit.verify()
    assert not verdict.ok
    assert f"checkpoint {checkpoint.id} was edited" in verdict.problem


def test_the_cli_verifies_and_names_the_bad_event(trail, runner):
    intact = runner.invoke(args=["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert f"audit trail intact: {len(db.session.scalars(select(AuditEvent.id)).all())} events" in intact.output

    middle = trail[1]
    _tamper(update(AuditEvent).where(AuditEvent.id == middle.id).values(note="pārrakstīts"))
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"audit trail BROKEN: event {middle.id} (application {middle.entity_id}): its content was edited" in (
        broken.stderr)


def test_tick_seals_a_checkpoint_over_every_entity_head(trail, runner):
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0, result.output

    checkpoint = db.session.scalars(select(AuditCheckpoint)).one()
    assert f"checkpoint: {checkpoint.id}" in result.output
    assert checkpoint.last_event_id == db.session.scalar(select(func.max(AuditEvent.id)))
    assert ["application", trail[-1].entity_id, trail[-1].id, trail[-1].hash] in json.loads(checkpoint.heads)

    again = runner.invoke(args=["tick"])
    assert "checkpoint: nothing new" in again.output
    assert db.session.scalar(select(func.count(AuditCheckpoint.id))) == 1
