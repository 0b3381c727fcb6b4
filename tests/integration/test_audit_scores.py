"""Scores under the audit trail, and the frozen definition (issue 7).

Each `submit_review` event holds the SHA-256 of the review's scores and comments as submitted, so `audit verify`
finds a score edited in the database afterwards; the call's frozen definition hash covers every setting that can
change a result, the evaluation settings included."""
from __future__ import annotations

import hashlib
import json

import pytest
from flask_babel import force_locale
from sqlalchemy import select, text

from app.extensions import db
from app.models import Assignment, AuditEvent, Call, Score
from app.services import audit, calls, verification
from app.services.workflow import fire
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def _canonical_sha256(value) -> str:
    """Written out here rather than taken from app.services.audit: the oracle the code's hash must agree with."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                          .encode()).hexdigest()


def _submit_events(assignment: Assignment) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "assignment", AuditEvent.entity_id == assignment.id,
        AuditEvent.trigger == "submit_review").order_by(AuditEvent.id)))


def _sql(statement: str, **values) -> None:
    db.session.execute(text(statement), values)
    db.session.commit()


@pytest.fixture
def submitted(app) -> Assignment:
    """A submitted review: five criteria (2.1 … 2.5), 8 half points each, comment "Labi."."""
    return f.make_assignment("submitted")


def test_the_submit_event_holds_the_hash_of_the_scores_and_comments(submitted):
    [event] = _submit_events(submitted)
    expected = _canonical_sha256([[f"2.{i}", 8, "Labi."] for i in range(1, 6)])
    assert json.loads(event.data)["scores_sha256"] == expected
    assert audit.event_hash(event) == event.hash  # the hash is part of the chained event


@pytest.mark.parametrize("edit", [
    "UPDATE scores SET half_points = 10 WHERE id = :score",
    "UPDATE scores SET half_points = NULL WHERE id = :score",
    "UPDATE scores SET comment = 'Izcili.' WHERE id = :score",
    "DELETE FROM scores WHERE id = :score",
])
def test_audit_verify_names_the_review_whose_stored_score_was_edited(submitted, runner, edit):
    intact = runner.invoke(args=["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert "scores as submitted: 1 reviews" in intact.output

    score = db.session.scalars(select(Score).where(Score.assignment_id == submitted.id).order_by(Score.id)).first()
    number = submitted.application.number
    _sql(edit, score=score.id)
    verdict = audit.verify()
    assert not verdict.ok
    assert verdict.problem.startswith(f"review {submitted.id} of application {number}: its stored scores or "
                                      "comments are not those submitted")
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"audit trail BROKEN: review {submitted.id} of application {number}:" in broken.stderr


def test_a_voided_review_keeps_its_scores_under_the_trail(app):
    voided = f.make_assignment("voided")
    assert audit.verify().ok
    _sql("UPDATE scores SET half_points = 2 WHERE assignment_id = :id", id=voided.id)
    verdict = audit.verify()
    assert not verdict.ok and verdict.problem.startswith(f"review {voided.id} ")


def test_a_review_reopened_and_submitted_again_is_checked_against_its_last_submission(submitted):
    from app.services import evaluation

    admin = f.admin_of(submitted.application.call)
    fire(submitted, "reopen", admin, "Vienošanās sanāksmē.")
    db.session.commit()
    evaluation.save_scores(submitted, submitted.evaluator,
                           {c.id: (6, "Pārskatīts.") for c in submitted.application.call.criteria})
    fire(submitted, "submit_review", submitted.evaluator)
    db.session.commit()
    first, last = _submit_events(submitted)
    assert json.loads(last.data)["scores_sha256"] == _canonical_sha256([[f"2.{i}", 6, "Pārskatīts."]
                                                                        for i in range(1, 6)])
    assert json.loads(first.data)["scores_sha256"] != json.loads(last.data)["scores_sha256"]
    verdict = audit.verify()
    assert verdict.ok, verdict.problem
    assert verdict.reviews == 1


# --- the frozen definition -------------------------------------------------------------------------------------

def _definition_sha256(call: Call) -> str:
    return _canonical_sha256(json.loads(json.dumps(calls.definition(call), default=str)))


@pytest.mark.parametrize("column, value", [
    ("divergence_threshold_percent", 45),
    ("divergence_policy", "closest_two"),
    ("evaluators_per_application", 3),
    ("pass_mark_half_points", 20),
    ("allocation_policy", "skip"),
    ("budget_cents", 123_400),
    ("tie_break_keys", ["2.2", "submitted_at"]),
])
def test_every_setting_that_can_change_a_result_changes_the_definition_hash(app, column, value):
    call = f.make_call(state="draft")
    before = _definition_sha256(call)
    assert getattr(call, column) != value
    setattr(call, column, value)
    assert _definition_sha256(call) != before
    db.session.rollback()


def test_a_criterion_minimum_changes_the_definition_hash(app):
    call = f.make_call(state="draft")
    before = _definition_sha256(call)
    call.criteria[1].min_half_points = 4
    assert _definition_sha256(call) != before
    db.session.rollback()


def test_the_divergence_threshold_edited_after_announcing_no_longer_matches_the_frozen_hash(app):
    call = f.make_call(state="announced")
    assert call.definition_sha256 == _definition_sha256(call)
    assert calls.frozen_definition_matches(call) == "current"
    _sql("UPDATE calls SET divergence_threshold_percent = 45 WHERE id = :id", id=call.id)
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    assert call.definition_sha256 != _definition_sha256(call)
    assert calls.frozen_definition_matches(call) is None
    with force_locale("en"):
        check = verification._definition_check(call)
    assert not check.agrees and check.difference == (
        "The call's settings (criteria, pass mark, tie-break keys, allocation, budget or divergence) are no longer "
        "those frozen when it was announced.")


def test_a_call_frozen_before_the_evaluation_settings_were_hashed_still_verifies(app):
    """Old data: its stored hash is of the definition without the evaluation settings."""
    call = f.make_call(state="announced")
    older = calls.definition(call)
    del older["evaluation"]
    _sql("UPDATE calls SET definition_sha256 = :digest WHERE id = :id",
         digest=_canonical_sha256(json.loads(json.dumps(older, default=str))), id=call.id)
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    assert calls.frozen_definition_matches(call) == "legacy"
    check = verification._definition_check(call)
    assert check.agrees and check.note
