"""The workflow engine on its own: definitions, selection, moves, clock moves, threads. No database."""
from __future__ import annotations

import dataclasses
import gc
import random
import threading
from datetime import datetime, timedelta, timezone

import pytest

import app.services.stages  # noqa: F401  registers every guard, effect and selector the definitions name
from app.services.registry import EFFECTS, GUARDS, NOTES, SELECTORS, TARGETS
from workflows.definition import ClockMove, then
from workflows.engine import WORKFLOWS, DefinitionError, Engine, Move, NotAvailable, validate


@pytest.fixture(scope="module")
def engine():
    return Engine(GUARDS, EFFECTS, SELECTORS, TARGETS)


def _with_transition(workflow, **changes):
    """The workflow with its first transition changed, e.g. guards=("no_such_guard",)."""
    first = dataclasses.replace(workflow.transitions[0], **changes)
    return dataclasses.replace(workflow, transitions=(first, *workflow.transitions[1:]))


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_every_definition_validates_against_the_registered_names(name):
    validate(WORKFLOWS[name], GUARDS, EFFECTS, SELECTORS)


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_every_state_is_reachable_or_initial_and_every_trigger_has_labels(name):
    workflow = WORKFLOWS[name]
    reached = {workflow.initial} | {t.dest for t in workflow.transitions}
    assert reached == {s.name for s in workflow.states}
    assert {t.trigger for t in workflow.transitions} <= set(workflow.triggers)


@pytest.mark.parametrize("change, named", [
    ({"guards": ("no_such_guard",)}, "unknown guard 'no_such_guard'"),
    ({"effects": ("no_such_effect",)}, "unknown effect 'no_such_effect'"),
    ({"dest": "nowhere"}, "unknown state 'nowhere'"),
    ({"source": ("limbo",)}, "unknown state 'limbo'"),
    ({"when": "no_such_selector"}, "unknown selector 'no_such_selector'"),
    ({"roles": ("janitor",)}, "unknown role 'janitor'"),
])
def test_an_unknown_name_is_refused_and_named(change, named):
    broken = _with_transition(WORKFLOWS["application"], **change)
    with pytest.raises(DefinitionError, match=named):
        validate(broken, GUARDS, EFFECTS, SELECTORS)


def test_a_clock_move_without_its_transition_is_refused():
    broken = dataclasses.replace(WORKFLOWS["call"], clock=(ClockMove("open", "draft", "opens_at"),))
    with pytest.raises(DefinitionError, match="clock move 'open' from 'draft' has no transition"):
        validate(broken, GUARDS, EFFECTS, SELECTORS)


def test_the_engine_refuses_to_start_when_a_name_is_not_registered():
    with pytest.raises(DefinitionError, match="unknown guard 'call_definition_valid'"):
        Engine([g for g in GUARDS if g != "call_definition_valid"], EFFECTS, SELECTORS)


@pytest.mark.parametrize("name, message", [
    ("agreement_terminated", "application.terminate: unknown system note 'agreement_terminated'"),
    ("offer_deadline_passed", "clock move 'decline': unknown system note 'offer_deadline_passed'")])
def test_the_engine_refuses_a_system_note_nobody_registered(name, message):
    with pytest.raises(DefinitionError, match=message):
        Engine(GUARDS, EFFECTS, SELECTORS, TARGETS, [n for n in NOTES if n != name])


def test_every_system_note_is_written_in_the_audit_trail_language_whoever_asks(app):
    from flask_babel import force_locale

    from app.services.workflow import _system_note

    with force_locale("en"):
        assert _system_note("agreement_terminated") == "Līgums ir izbeigts."


@pytest.mark.parametrize("prior, selector", [("ineligible", "prior_ineligible"), ("rejected", "prior_rejected"),
                                             ("reserve", "prior_reserve")])
def test_dismiss_appeal_returns_to_the_stored_prior_state(engine, prior, selector):
    selections = {name: name == selector for name in ("prior_ineligible", "prior_rejected", "prior_reserve")}
    transition = engine.select("application", "dismiss_appeal", "appealed", selections)
    assert transition.dest == prior
    assert engine.move("application", "appealed", "dismiss_appeal", selections) == prior


@pytest.mark.parametrize("selector, dest", [("eligibility_grounds", "submitted"), ("scoring_grounds", "in_review")])
def test_uphold_appeal_goes_back_to_checks_or_to_review(engine, selector, dest):
    selections = {"eligibility_grounds": selector == "eligibility_grounds",
                  "scoring_grounds": selector == "scoring_grounds"}
    assert engine.select("application", "uphold_appeal", "appealed", selections).dest == dest
    assert engine.move("application", "appealed", "uphold_appeal", selections) == dest


def test_no_selector_true_means_not_available(engine):
    with pytest.raises(NotAvailable):
        engine.select("application", "dismiss_appeal", "appealed", {})


@pytest.mark.parametrize("name, state, trigger, dest", [
    ("call", "draft", "announce", "announced"),
    ("call", "open", "extend_deadline", "open"),
    ("call", "ranking", "confirm_ranking", "ranking"),
    ("call", "evaluation", "cancel", "cancelled"),
    ("application", "draft", "submit", "submitted"),
    ("application", "reserve", "withdraw", "withdrawn"),
    ("application", "funded", "decline", "declined"),
    ("review", "accepted", "recuse", "recused"),
    ("report", "changes_requested", "resubmit", "submitted"),
    ("payment", "scheduled", "pay", "paid"),
    ("recovery", "demanded", "write_off", "written_off"),
])
def test_move_returns_the_destination(engine, name, state, trigger, dest):
    assert engine.move(name, state, trigger, {}) == dest


@pytest.mark.parametrize("name, state, trigger", [
    ("call", "open", "announce"),
    ("call", "awarded", "cancel"),
    ("application", "draft", "withdraw"),
    ("application", "funded", "appeal"),
    ("application", "closed", "close_grant"),
    ("review", "submitted", "submit_review"),
    ("payment", "paid", "pay"),
])
def test_a_trigger_that_does_not_leave_the_state_is_not_available(engine, name, state, trigger):
    with pytest.raises(NotAvailable) as refused:
        engine.move(name, state, trigger, {})
    assert (refused.value.trigger, refused.value.state) == (trigger, state)
    with pytest.raises(NotAvailable):
        engine.select(name, trigger, state, {})


def test_an_unknown_trigger_is_not_available(engine):
    with pytest.raises(NotAvailable):
        engine.select("call", "explode", "draft", {})


@pytest.mark.parametrize("name, state, role, expected", [
    ("application", "reserve", "applicant", ["withdraw", "appeal"]),
    ("application", "reserve", "admin", ["promote"]),
    ("application", "reserve", "system", ["expire_reserve"]),
    ("application", "reserve", "evaluator", []),
    ("application", "reviewed", "admin", ["fund", "reserve", "reject"]),
    ("application", "appealed", "admin", ["dismiss_appeal", "uphold_appeal"]),
    ("application", "contracted", "applicant", ["renounce"]),
    ("call", "open", "admin", ["extend_deadline", "cancel"]),
    ("call", "open", "system", ["close"]),
    ("call", "awarded", "system", ["start_reporting"]),
    ("review", "accepted", "evaluator", ["recuse", "submit_review"]),
    ("review", "accepted", "admin", ["revoke"]),
    ("report", "submitted", "applicant", []),
    ("payment", "scheduled", "auditor", []),
])
def test_triggers_from_by_role(engine, name, state, role, expected):
    assert engine.triggers_from(name, state, role) == expected


def test_triggers_from_without_a_role_lists_each_trigger_once(engine):
    assert engine.triggers_from("application", "appealed") == ["dismiss_appeal", "uphold_appeal"]


OPENS = datetime(2022, 3, 1, 8, 0, tzinfo=timezone.utc)
CLOSES = datetime(2022, 4, 4, 21, 0, tzinfo=timezone.utc)  # 05.04.2022 00:00 Riga


def _times(attribute):
    return {"opens_at": OPENS, "closes_at": CLOSES}.get(attribute)


@pytest.mark.parametrize("state, now, effective, moves", [
    ("announced", OPENS - timedelta(seconds=1), "announced", []),
    ("announced", OPENS, "open", [("open", "open")]),
    ("announced", CLOSES - timedelta(microseconds=1), "open", [("open", "open")]),
    ("announced", CLOSES, "closed", [("open", "open"), ("close", "closed")]),
    ("open", CLOSES - timedelta(seconds=1), "open", []),
    ("open", CLOSES, "closed", [("close", "closed")]),
    ("closed", CLOSES + timedelta(days=400), "closed", []),
    ("draft", CLOSES + timedelta(days=1), "draft", []),
])
def test_the_clock_moves_a_call_by_its_timestamps(engine, state, now, effective, moves):
    assert engine.effective_state("call", state, _times, now) == effective
    assert engine.due_clock_moves("call", state, _times, now) == moves


def test_a_call_without_dates_is_never_moved_by_the_clock(engine):
    assert engine.due_clock_moves("call", "announced", lambda _attribute: None, CLOSES) == []


def test_workflows_without_clock_moves_stay_put(engine):
    assert engine.effective_state("application", "funded", _times, CLOSES) == "funded"


def _every_simple_move():
    """(workflow, state, trigger, dest) for every transition without a selector."""
    return [(name, source, tr.trigger, tr.dest)
            for name, workflow in WORKFLOWS.items() for tr in workflow.transitions if tr.when is None
            for source in tr.source]


def _every_selected_move():
    moves = []
    for name, workflow in WORKFLOWS.items():
        for tr in workflow.transitions:
            if tr.when is not None:
                selections = {t.when: t is tr for t in workflow.transitions if t.when}
                moves += [(name, source, tr.trigger, tr.dest, selections) for source in tr.source]
    return moves


def test_the_shared_machines_stay_correct_under_8_threads(engine):
    simple, selected = _every_simple_move(), _every_selected_move()
    plan = [(*move, {}) for move in simple] + [(n, s, t, d, sel) for n, s, t, d, sel in selected]
    errors: list[str] = []
    start = threading.Barrier(8)

    def worker(seed: int):
        rng = random.Random(seed)
        start.wait()
        for _ in range(500):
            name, state, trigger, dest, selections = rng.choice(plan)
            try:
                got = engine.move(name, state, trigger, selections)
            except Exception as error:  # collected and reported below: a thread's exception would vanish
                errors.append(f"{name}.{trigger} from {state}: {error!r}")
                continue
            if got != dest:
                errors.append(f"{name}.{trigger} from {state}: got {got}, expected {dest}")

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []



def test_threads_that_end_leave_no_subject_behind(engine):
    """The threaded dev server runs each request in a new thread; a subject per finished thread would pile up."""
    machine = engine.compiled["application"].machine
    before = len(machine.models)

    for _ in range(20):
        thread = threading.Thread(target=engine.move, args=("application", "draft", "submit", {}))
        thread.start()
        thread.join()
    del thread
    gc.collect()

    assert len(machine.models) <= before + 1



def test_move_with_a_trigger_the_workflow_does_not_know_is_not_available(engine):
    with pytest.raises(NotAvailable):
        engine.move("application", "draft", "no_such_trigger", {})


# --- the machine is the one source of moves, conditions and triggers (issue 5, point 12) ----------------------------

class Asked(Move):
    """Answers like the app would, writing down what the machine asked; refuses the guards in `refusing`."""

    __slots__ = ("asked", "refusing", "permitted")

    def __init__(self, state, selections=None, refusing=(), permitted=True):
        super().__init__(state, selections)
        self.asked, self.refusing, self.permitted = [], set(refusing), permitted

    def permits(self, transition):
        self.asked.append(("permits", transition.dest))
        return True if self.permitted else self.refuse(PermissionError(transition.trigger))

    def passes(self, guard):
        self.asked.append(guard)
        return self.refuse(LookupError(guard)) if guard in self.refusing else True


def test_the_machine_asks_the_guards_in_order_and_stops_at_the_first_refusal(engine):
    move = Asked("draft", refusing={"amount_allowed", "organisation_limit"})
    with pytest.raises(LookupError, match="amount_allowed"):
        engine.take("application", "submit", move)
    assert move.asked == [("permits", "submitted"), "call_accepting", "application_complete", "amount_allowed"]
    assert move.state == "draft"


def test_the_machine_takes_a_transition_once_every_condition_passes(engine):
    move = Asked("ranking")
    taken = engine.take("call", "publish_results", move)
    assert (taken.trigger, taken.dest, move.state) == ("publish_results", "awarded", "awarded")
    assert move.asked == [("permits", "awarded"), "ranking_confirmed", "protocol_current", "awards_within_budget"]


def test_a_selector_chooses_and_only_the_chosen_transitions_guards_refuse(engine):
    move = Asked("appealed", {"prior_rejected": True}, refusing={"not_own_evaluation"})
    with pytest.raises(LookupError, match="not_own_evaluation"):
        engine.take("application", "dismiss_appeal", move)
    assert move.asked == [("permits", "rejected"), "not_own_evaluation"]  # ineligible and reserve were not chosen


def test_a_refused_permission_is_raised_before_any_guard_runs(engine):
    move = Asked("ranking", permitted=False)
    with pytest.raises(PermissionError):
        engine.take("call", "publish_results", move)
    assert move.asked == [("permits", "awarded")]


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_the_triggers_from_a_state_are_the_machines(engine, name):
    machine = engine.machine(name)
    for state in WORKFLOWS[name].states:
        assert engine.triggers_from(name, state.name) == machine.get_triggers(state.name)
        for trigger in machine.get_triggers(state.name):
            steps = machine.get_transitions(trigger, source=state.name)
            assert [s.definition for s in steps] == [t for t in WORKFLOWS[name].leaving(state.name)
                                                     if t.trigger == trigger]


def test_every_guard_is_a_condition_of_its_transition_on_the_machine(engine):
    for name, workflow in WORKFLOWS.items():
        for step in engine.machine(name).get_transitions():
            asked = [repr(condition.func) for condition in step.conditions]
            expected = ([f"operator.methodcaller('selects', {step.definition.when!r})"] if step.definition.when
                        else []) + [f"operator.methodcaller('passes', {g!r})" for g in step.definition.guards]
            assert [a for a in asked if "'permits'" not in a] == expected, (name, step.definition.trigger)


def test_moves_attach_nothing_to_the_shared_machines(engine):
    for name, state, trigger, _dest in _every_simple_move():
        engine.move(name, state, trigger, {})
    assert all(not compiled.machine.models for compiled in engine.compiled.values())


def test_an_unknown_state_is_not_available(engine):
    with pytest.raises(NotAvailable):
        engine.move("call", "limbo", "announce", {})


# --- cascades and clock moves in the definitions --------------------------------------------------------------------

def test_a_cascade_must_name_a_trigger_the_system_fires_and_a_registered_target():
    call = WORKFLOWS["call"]
    index = next(i for i, tr in enumerate(call.transitions) if tr.trigger == "publish_results")
    publish = call.transitions[index]

    def with_cascade(cascade):
        changed = dataclasses.replace(publish, cascades=(cascade,))
        transitions = (*call.transitions[:index], changed, *call.transitions[index + 1:])
        return dataclasses.replace(call, transitions=transitions)

    with pytest.raises(DefinitionError, match="cascade 'application.accept_offer' is not the system's to fire"):
        validate(with_cascade(then("application.accept_offer", "ranked_funded")), GUARDS, EFFECTS, SELECTORS, TARGETS)
    with pytest.raises(DefinitionError, match="cascade to unknown trigger 'application.explode'"):
        validate(with_cascade(then("application.explode", "ranked_funded")), GUARDS, EFFECTS, SELECTORS, TARGETS)
    with pytest.raises(DefinitionError, match="unknown cascade targets 'nobody'"):
        validate(with_cascade(then("application.fund", "nobody")), GUARDS, EFFECTS, SELECTORS, TARGETS)


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_every_definition_validates_with_the_registered_cascade_targets(name):
    validate(WORKFLOWS[name], GUARDS, EFFECTS, SELECTORS, TARGETS)


DEADLINE = datetime(2022, 6, 20, 21, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("state, times, now, expected", [
    ("funded", {"offer_deadline": DEADLINE}, DEADLINE - timedelta(microseconds=1), []),
    ("funded", {"offer_deadline": DEADLINE}, DEADLINE, [("decline", "declined")]),
    ("accepted", {"offer_deadline": DEADLINE}, DEADLINE + timedelta(days=9), []),  # accepted in time: stays
    ("reserve", {"call.reserve_expires_at": DEADLINE}, DEADLINE, [("expire_reserve", "not_funded")]),
    ("reserve", {}, DEADLINE + timedelta(days=999), []),  # a call without a reserve deadline keeps its list
])
def test_the_clock_declines_a_lapsed_offer_and_ends_the_reserve_list(engine, state, times, now, expected):
    assert engine.due_clock_moves("application", state, times.get, now) == expected


def test_the_workflows_package_imports_neither_flask_nor_sqlalchemy():
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[2]
    modules = sorted(f"workflows.{p.stem}" for p in (root / "workflows").glob("*.py") if p.stem != "__init__")
    code = (f"import sys; import {', '.join(modules)}; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy', 'flask_babel', 'app'}))")
    found = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", found.stderr
