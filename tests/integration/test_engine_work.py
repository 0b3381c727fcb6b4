"""The engine does the engine's work (issue 5, point 12): cascades are declared and run by `fire`, not by effects; a
guard never locks; the offer and reserve deadlines are clock moves that readers see and `tick` persists, one failure
not stopping the rest; `check` is a dry run of `fire`; `flask workflows explain` leads from the table to the code."""
from __future__ import annotations

import inspect
import logging
import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.selectable import Select

from app.extensions import db
from app.models import Application, Assignment, AuditEvent, Organisation, Payment
from app.services import registry, workflow
from app.services.registry import EFFECTS, GUARDS
from app.services.workflow import catch_up, check, effective_status, fire
from tests import factories as f
from tests.factories import admin_of, member_of
from workflows.engine import WORKFLOWS

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("stub_pdfs")]


def events(entity_type: str, entity_id: int, trigger: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
    if trigger:
        query = query.where(AuditEvent.trigger == trigger)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def row_counts() -> dict:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


@pytest.fixture
def row_locks(monkeypatch):
    """The models every SELECT … FOR UPDATE built while the test runs locks, in order: those named in its `of`, else
    its first entity (SQLite renders none, so ask the builder)."""
    locked, real = [], Select.with_for_update

    def recording(self, *args, **kwargs):
        named = kwargs.get("of")
        locked.extend(named if isinstance(named, (tuple, list)) else
                      [named] if named is not None else [self.column_descriptions[0]["entity"]])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Select, "with_for_update", recording)
    return locked


# --- 1. cascades are declared; no effect fires --------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(EFFECTS))
def test_no_effect_fires_a_move_itself(app, name):
    source = inspect.getsource(inspect.unwrap(EFFECTS[name]))
    assert not re.search(r"\b(fire|cascade)\(", source), f"effect {name} fires; declare a cascade instead"


def test_every_cascade_names_a_registered_target_the_system_may_fire(app):
    declared = [(w.name, tr.trigger, c) for w in WORKFLOWS.values() for tr in w.transitions for c in tr.cascades]
    assert {(name, trigger) for name, trigger, _c in declared} >= {
        ("call", "start_evaluation"), ("call", "finish_evaluation"), ("call", "publish_results"), ("call", "complete"),
        ("application", "pass_checks"), ("application", "terminate"), ("application", "uphold_appeal"),
        ("review", "submit_review")}
    for _name, _trigger, cascade in declared:
        assert cascade.targets in registry.TARGETS
        assert "system" in workflow.engine().roles_of(cascade.workflow, cascade.trigger)


def test_an_upheld_scoring_appeal_reopens_the_reviews_as_the_system_caused_by_it(app):
    call = f.make_call(state="announced", when="past", projects=2)
    _funded, appealed = f.make_applications(call, ["funded", "appealed"], appeal_from="rejected")
    admin = f.make_organiser_admin(call.organiser)  # did not evaluate it

    uphold = fire(appealed, "uphold_appeal", admin, "Vērtētāji nepamatoti novērtēja 2. kritēriju.")
    db.session.commit()

    reviews = db.session.scalars(select(Assignment).where(Assignment.application_id == appealed.id)
                                 .order_by(Assignment.id)).all()
    reopened = [events("assignment", r.id, "reopen")[-1] for r in reviews]
    assert [(e.from_state, e.to_state, e.actor_id, e.caused_by_id, e.note) for e in reopened] == [
        ("submitted", "accepted", None, uphold.id, "Vērtētāji nepamatoti novērtēja 2. kritēriju.")] * len(reviews)
    assert uphold.actor_id == admin.id and all(e.id > uphold.id for e in reopened)


def test_a_termination_cancels_the_scheduled_tranches_after_its_effects(app):
    application = f.make_application(None, "contracted")
    admin = admin_of(application.call)

    terminate = fire(application, "terminate", admin, "Projekts netiek īstenots.")
    db.session.commit()

    payments = db.session.scalars(select(Payment).where(Payment.application_id == application.id)
                                  .order_by(Payment.id)).all()
    assert [p.status for p in payments] == ["cancelled", "cancelled"]
    cancels = [events("payment", p.id, "cancel")[-1] for p in payments]
    with force_locale("lv"):
        assert [(e.actor_id, e.caused_by_id, e.note) for e in cancels] == [
            (None, terminate.id, "Līgums ir izbeigts.")] * 2  # the definition's note, in the trail's language


# --- 2. a guard never locks ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(GUARDS))
def test_no_guard_takes_a_lock(app, name):
    source = inspect.getsource(inspect.unwrap(GUARDS[name]))
    assert "with_for_update" not in source and not re.search(r"\block(_row)?\(", source), name


def test_check_locks_nothing_and_writes_nothing_and_fire_still_locks_the_organisation(app, row_locks):
    call = f.make_call(state="open", max_applications_per_organisation=1)
    draft = f.make_application(call, "draft")
    member = member_of(draft)
    before = row_counts()
    row_locks.clear()  # the factories' own moves

    assert check(draft, "submit", member) is None
    assert row_locks == []
    assert not (db.session.new or db.session.dirty or db.session.deleted)
    assert row_counts() == before and draft.status == "draft"

    fire(draft, "submit", member)
    assert row_locks[:2] == [Application, Organisation]  # the application, then its organisation: before any guard
    db.session.commit()
    assert draft.status == "submitted"


# --- check: the dry run the buttons ask -----------------------------------------------------------------------------

def test_check_answers_role_then_policy_then_state_then_guards(app):
    call = f.make_call(state="announced", when="past", projects=1)
    f.make_applications(call, ["reviewed"])
    assert call.status == "ranking"
    admin, other_admin, applicant = admin_of(call), f.make_user("admin"), f.make_user("applicant")
    draft_call = f.make_call(state="draft", criteria=0)

    with force_locale("en"):
        assert check(call, "publish_results", applicant) == "Your role may not do this."  # the state is right
        assert check(call, "publish_results", other_admin) == "This is not allowed."
        assert check(call, "start_evaluation", admin) == "This step is not possible in the current state."
        assert check(call, "publish_results", admin) == ("Confirm the ranking first: the commission protocol is "
                                                          "not yet stored.")
        assert check(draft_call, "announce", admin_of(draft_call)).startswith("Add at least one criterion")
        assert check(call, "confirm_ranking", admin) is None


def test_a_costly_guard_runs_only_when_asked(app):
    call = f.make_call(state="announced", when="past", projects=1)
    f.make_applications(call, ["reviewed"])
    admin = admin_of(call)
    f._fire(call, "confirm_ranking", admin)
    call.budget_cents += 100  # the protocol's inputs changed since it was confirmed
    db.session.commit()

    with force_locale("en"):
        assert check(call, "publish_results", admin).startswith("Scores, amounts or the budget changed")
        assert check(call, "publish_results", admin, run_costly=False) is None
    assert "protocol_current" in registry.COSTLY


def test_guards_that_judge_the_forms_input_do_not_refuse_a_dry_run(app):
    payment = f.make_payment("scheduled")
    admin = admin_of(db.session.get(Application, payment.application_id).call)

    assert check(payment, "pay", admin) is None  # the bank reference comes with the form
    with force_locale("en"):
        assert check(payment, "cancel", admin) is None  # so does the written reason
        with pytest.raises(Exception, match="Enter the bank reference"):
            fire(payment, "pay", admin)
    db.session.rollback()


# --- 3. the offer and reserve deadlines are clock moves ---------------------------------------------------------------

def test_readers_see_a_lapsed_offer_declined_and_an_ended_reserve_list_not_funded(app, clock):
    funded, reserve = f.make_applications(None, ["funded", "reserve"])
    reserve.call.reserve_expires_at = funded.offer_deadline + timedelta(hours=1)
    db.session.commit()
    before = row_counts()

    clock.travel_to(funded.offer_deadline - timedelta(seconds=1))
    assert (effective_status(funded), effective_status(reserve)) == ("funded", "reserve")
    clock.travel_to(max(funded.offer_deadline, reserve.call.reserve_expires_at))
    assert (effective_status(funded), effective_status(reserve)) == ("declined", "not_funded")

    assert "accept_offer" not in workflow.available(funded, member_of(funded))
    assert row_counts() == before and (funded.status, reserve.status) == ("funded", "reserve")  # a read writes nothing


def test_tick_persists_the_offer_and_reserve_moves_once_with_their_effects(app, runner, clock):
    funded, reserve = f.make_applications(None, ["funded", "reserve"])
    reserve.call.reserve_expires_at = funded.offer_deadline
    db.session.commit()
    clock.travel_to(funded.offer_deadline)

    first = runner.invoke(args=["tick"])
    second = runner.invoke(args=["tick"])

    assert f"application {funded.number}: decline" in first.output
    assert f"application {reserve.number}: expire_reserve" in first.output
    assert "application" not in second.output
    db.session.expire_all()
    assert (funded.status, reserve.status) == ("declined", "not_funded")
    (decline,) = events("application", funded.id, "decline")
    (expire,) = events("application", reserve.id, "expire_reserve")
    lapsed = "Piedāvājuma pieņemšanas termiņš ir beidzies."  # the clock move's note, in the trail's language
    assert (decline.actor_id, decline.note, decline.data) == (None, lapsed, '{"clock":true}')
    assert (expire.actor_id, expire.from_state, expire.to_state) == (None, "reserve", "not_funded")
    from app.services.decisions import current_decision

    assert current_decision(funded) is None  # release_award, the decline's effect, ran


def test_a_writer_holding_a_stale_offer_state_records_nothing(app, runner, clock):
    application = f.make_application(None, "funded")
    clock.travel_to(application.offer_deadline)
    assert [e.trigger for e in catch_up(application)] == ["decline"]  # a writer that is first records it
    db.session.rollback()
    runner.invoke(args=["tick"])  # another process declined it
    set_committed_value(application, "status", "funded")  # what this session still believes

    assert catch_up(application) == []
    db.session.commit()
    assert application.status == "declined"
    assert len(events("application", application.id, "decline")) == 1


def test_one_refused_move_in_tick_is_logged_and_the_rest_are_made(app, runner, clock, monkeypatch, caplog):
    first, second = f.make_applications(None, ["funded", "funded"])
    clock.travel_to(max(first.offer_deadline, second.offer_deadline))
    real, first_id = EFFECTS["release_award"], first.id  # read here: tick runs in a session of its own

    def fails_for_the_first(ctx):
        if ctx.entity.id == first_id:
            raise RuntimeError("the mail queue is down")
        return real(ctx)

    monkeypatch.setitem(EFFECTS, "release_award", fails_for_the_first)
    with caplog.at_level(logging.ERROR, logger="app.services.clockwork"):
        result = runner.invoke(args=["tick"])

    assert result.exit_code == 0, result.output
    assert f"application {second.number}: decline" in result.output
    assert f"not moved: application {first.number}: RuntimeError('the mail queue is down')" in result.output
    assert any(f"application {first.number} was not moved" in r.getMessage() and r.exc_info for r in caplog.records)
    db.session.expire_all()
    assert (first.status, second.status) == ("funded", "declined")
    assert events("application", first.id, "decline") == []
    assert result.output.rstrip().splitlines()[-1].startswith("checkpoint: ")  # and tick went on to seal


# --- 4. explain ------------------------------------------------------------------------------------------------------

def _line_of(location: str) -> str:
    path, line = location.rsplit(":", 1)
    with open(f"{registry.ROOT}/{path}", encoding="utf-8") as source:
        return source.read().splitlines()[int(line) - 1]


def test_explain_leads_from_a_trigger_to_the_lines_that_implement_it(app, runner):
    result = runner.invoke(args=["workflows", "explain", "call", "publish_results"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "call.publish_results: ranking -> awarded"
    assert "  roles:    admin" in lines
    found = {}
    for line in lines[2:]:
        match = re.search(r"(guard|effect|then):\s+(.*?)\s+(app/services/\S+\.py:\d+)$", line)
        assert match, line
        found[match.group(2)] = match.group(3)
    assert _line_of(found["protocol_current (costly)"]).startswith("def _protocol_current(")
    assert _line_of(found["apply_decisions"]).startswith("def _apply_decisions(")
    assert 'targets("ranked_funded")' in _line_of(found["application.fund on each of ranked_funded"])
    assert list(found) == ["ranking_confirmed", "protocol_current (costly)", "awards_within_budget", "apply_decisions",
                           "application.fund on each of ranked_funded",
                           "application.reserve on each of ranked_reserve",
                           "application.reject on each of ranked_rejected"]


def test_explain_a_whole_workflow_and_its_clock(app, runner):
    result = runner.invoke(args=["workflows", "explain", "application"])

    assert result.exit_code == 0, result.output
    assert result.output.count("application.dismiss_appeal: appealed -> ") == 3
    assert re.search(r"  when:     prior_rejected  app/services/decisions\.py:\d+", result.output)
    assert ("application.decline: the clock fires it from funded when now >= offer_deadline" in result.output)
    assert "application.expire_reserve: the clock fires it from reserve when now >= call.reserve_expires_at" in (
        result.output)
    submit = result.output.split("application.submit: draft -> submitted\n")[1].split("\napplication.")[0]
    assert [re.match(r"  guard:\s+(\w+)", line).group(1) for line in submit.splitlines() if "guard:" in line] == list(
        WORKFLOWS["application"].transitions[0].guards)


def test_explain_refuses_an_unknown_workflow_or_trigger(app, runner):
    assert runner.invoke(args=["workflows", "explain", "grant"]).exit_code == 2
    unknown = runner.invoke(args=["workflows", "explain", "call", "explode"])
    assert unknown.exit_code == 2 and "call has no trigger 'explode'" in unknown.output
