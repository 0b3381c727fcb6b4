"""Compiles workflow definitions into transitions machines, and lets the machines answer every question about them.

The machine is the one source of moves: which transition a trigger takes from a state (its `when` selector), whether
it may (its roles and guards, as the transition's conditions) and which triggers leave a state. The engine knows
nothing of Flask or the database: the app hands it the names it implements (guards, effects, selectors, cascade
targets), and `validate` refuses at start-up a definition that names anything unknown; when it moves, the app hands it
a `Move` whose methods answer the conditions.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from operator import methodcaller
from typing import Callable, Iterable

from transitions import Machine
from transitions import Transition as MachineTransition
from transitions.core import MachineError

from workflows.application import APPLICATION
from workflows.call import CALL
from workflows.definition import Transition, Workflow
from workflows.money import PAYMENT, RECOVERY
from workflows.report import REPORT
from workflows.review import REVIEW

WORKFLOWS: dict[str, Workflow] = {w.name: w for w in (CALL, APPLICATION, REVIEW, REPORT, PAYMENT, RECOVERY)}
ROLES = {"admin", "evaluator", "applicant", "auditor", "system"}


class DefinitionError(Exception):
    """A workflow definition names a state, role, guard, effect, selector or cascade that does not exist."""


class NotAvailable(Exception):
    """The trigger does not leave the current state (HTTP 409)."""

    def __init__(self, workflow: str, trigger: str, state: str):
        self.workflow, self.trigger, self.state = workflow, trigger, state
        super().__init__(f"{workflow}: '{trigger}' is not possible from '{state}'")


class Move:
    """One trigger taken by a machine: the subject it moves (`state`) and the answers to what it asks on the way.

    The engine makes the move the machine's model for that one trigger (it is never added to the machine, so nothing
    is shared between threads). For each transition `trigger` has from `state`, in definition order, the machine asks
    `selects(when)` if the transition has a selector, then `permits(transition)` (roles, policy, a written reason),
    then `passes(guard)` for each guard, and takes the first transition that gets through, telling the move with
    `took(transition)` before it sets `state` to the destination. A refusing answer records why with `refuse`; if
    no transition gets through, the engine raises the first refusal, or NotAvailable when only selectors said no.

    This base class answers the selectors from `selections` and lets every transition and guard pass: the engine on
    its own (tests, the bench, the clock's derived state). The app subclasses it to answer from the database.
    """

    __slots__ = ("state", "selections", "refusals", "transition")

    def __init__(self, state: str, selections: dict[str, bool] | None = None):
        self.state = state
        self.selections = selections or {}
        self.refusals: list[Exception] = []
        self.transition: Transition | None = None

    def selects(self, selector: str) -> bool:
        return bool(self.selections.get(selector))

    def permits(self, transition: Transition) -> bool:
        return True

    def passes(self, guard: str) -> bool:
        return True

    def took(self, transition: Transition) -> None:
        self.transition = transition

    def refuse(self, error: Exception) -> bool:
        """Record why a condition said no; returns False, the condition's answer."""
        self.refusals.append(error)
        return False


class _Step(MachineTransition):
    """A machine transition that knows the definition it was compiled from (its roles, effects, cascades)."""

    def __init__(self, *args, definition: Transition, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition


class _Machine(Machine):
    transition_cls = _Step


@dataclass(frozen=True)
class Compiled:
    workflow: Workflow
    machine: Machine


def validate(workflow: Workflow, guards: Iterable[str], effects: Iterable[str], selectors: Iterable[str],
             targets: Iterable[str] | None = None, notes: Iterable[str] | None = None) -> None:
    """Refuse a definition naming anything unknown. `targets` / `notes` None: the cascades' target names and the
    system notes are not checked (the machine alone needs none of the app's functions or texts)."""
    known_states = {s.name for s in workflow.states}
    guards, effects, selectors = set(guards), set(effects), set(selectors)
    problems = []
    if workflow.initial not in known_states:
        problems.append(f"initial state '{workflow.initial}' is unknown")
    for tr in workflow.transitions:
        where = f"{workflow.name}.{tr.trigger}"
        problems += [f"{where}: unknown state '{s}'" for s in (*tr.source, tr.dest) if s not in known_states]
        problems += [f"{where}: unknown role '{r}'" for r in tr.roles if r not in ROLES]
        problems += [f"{where}: unknown guard '{g}'" for g in tr.guards if g not in guards]
        problems += [f"{where}: unknown effect '{e}'" for e in tr.effects if e not in effects]
        if tr.when and tr.when not in selectors:
            problems.append(f"{where}: unknown selector '{tr.when}'")
        for cascade in tr.cascades:
            target = WORKFLOWS.get(cascade.workflow)
            fired = [t for t in target.transitions if t.trigger == cascade.trigger] if target else []
            if not fired:
                problems.append(f"{where}: cascade to unknown trigger '{cascade.workflow}.{cascade.trigger}'")
            elif not any("system" in t.roles for t in fired):
                problems.append(f"{where}: cascade '{cascade.workflow}.{cascade.trigger}' is not the system's to fire")
            if targets is not None and cascade.targets not in set(targets):
                problems.append(f"{where}: unknown cascade targets '{cascade.targets}'")
            if notes is not None and cascade.note and cascade.note not in set(notes):
                problems.append(f"{where}: unknown system note '{cascade.note}'")
    for group, states in workflow.groups.items():
        problems += [f"{workflow.name}: group '{group}' names unknown state '{s}'" for s in states
                     if s not in known_states]
    for move in workflow.clock:
        leaving = [t for t in workflow.transitions if t.trigger == move.trigger and move.source in t.source]
        if not leaving:
            problems.append(f"{workflow.name}: clock move '{move.trigger}' from '{move.source}' has no transition")
        elif not any("system" in t.roles for t in leaving):
            problems.append(f"{workflow.name}: clock move '{move.trigger}' is not the system's to fire")
        if notes is not None and move.note and move.note not in set(notes):
            problems.append(f"{workflow.name}: clock move '{move.trigger}': unknown system note '{move.note}'")
    if problems:
        raise DefinitionError("; ".join(problems))


def compile_workflow(workflow: Workflow) -> Compiled:
    """One machine per workflow. Each transition's conditions are, in order: its selector, `permits`, its guards;
    its `before` callback tells the move which transition was taken. Conditions and callbacks are bound by name
    (`methodcaller`): the machine hands each the move (the trigger's one argument), and each asks it one method."""
    machine = _Machine(
        model=None,
        states=[s.name for s in workflow.states],
        initial=workflow.initial,
        auto_transitions=False,
        ignore_invalid_triggers=False,
        transitions=[
            {"trigger": tr.trigger, "source": list(tr.source), "dest": tr.dest, "definition": tr,
             "conditions": [*([methodcaller("selects", tr.when)] if tr.when else []), methodcaller("permits", tr),
                            *(methodcaller("passes", guard) for guard in tr.guards)],
             "before": [methodcaller("took", tr)]}
            for tr in workflow.transitions
        ],
    )
    return Compiled(workflow, machine)


class Engine:
    def __init__(self, guards: Iterable[str], effects: Iterable[str], selectors: Iterable[str],
                 targets: Iterable[str] | None = None, notes: Iterable[str] | None = None):
        """`targets`, `notes`: the registered cascade targets and system notes; None (the bench, a machine-only
        test) does not check them."""
        guards, effects, selectors = list(guards), list(effects), list(selectors)
        targets = None if targets is None else set(targets)
        notes = None if notes is None else set(notes)
        for workflow in WORKFLOWS.values():
            validate(workflow, guards, effects, selectors, targets, notes)
        self.compiled = {name: compile_workflow(w) for name, w in WORKFLOWS.items()}

    def workflow(self, name: str) -> Workflow:
        return WORKFLOWS[name]

    def machine(self, name: str) -> Machine:
        return self.compiled[name].machine

    def take(self, name: str, trigger: str, move: Move) -> Transition:
        """Let the machine take `trigger` from `move.state`, asking `move` its conditions; returns the transition
        taken (`move.state` is then its destination). NotAvailable when the trigger does not leave the state (or no
        selector chose a transition); otherwise the first refusal a condition recorded."""
        state = move.state
        event = self.compiled[name].machine.events.get(trigger)
        if event is None:
            raise NotAvailable(name, trigger, state)
        try:
            taken = event.trigger(move, move)  # the model it moves, and the argument its conditions get
        except (MachineError, ValueError) as error:  # ValueError: a state the machine does not know
            raise NotAvailable(name, trigger, state) from error
        if taken:
            return move.transition
        move.state = state
        if move.refusals:
            raise move.refusals[0]
        raise NotAvailable(name, trigger, state)

    def select(self, name: str, trigger: str, state: str, selections: dict[str, bool]) -> Transition:
        """The transition `trigger` takes from `state`, given the selectors' answers; NotAvailable if none."""
        return self.take(name, trigger, Move(state, selections))

    def move(self, name: str, state: str, trigger: str, selections: dict[str, bool]) -> str:
        """The state `trigger` leads to from `state`, given the selectors' answers; NotAvailable if none."""
        move = Move(state, selections)
        self.take(name, trigger, move)
        return move.state

    def transitions_of(self, name: str, trigger: str, state: str | None = None) -> list[Transition]:
        """The definitions of the transitions `trigger` has (from `state`, if given), in definition order."""
        steps = self.compiled[name].machine.get_transitions(trigger, source=state or "*")
        return [step.definition for step in steps]

    def roles_of(self, name: str, trigger: str, state: str | None = None) -> set[str]:
        """Who may fire `trigger` (from `state`, if given)."""
        return {role for tr in self.transitions_of(name, trigger, state) for role in tr.roles}

    def triggers_from(self, name: str, state: str, role: str | None = None) -> list[str]:
        """Distinct triggers that leave `state`, optionally only those `role` may fire."""
        machine = self.compiled[name].machine
        triggers = machine.get_triggers(state)
        if role is None:
            return triggers
        return [t for t in triggers if any(role in step.definition.roles
                                           for step in machine.get_transitions(t, source=state))]

    def effective_state(self, name: str, state: str, times: Callable[[str], datetime | None], now: datetime) -> str:
        """The state after every clock move that is due, without writing anything (a GET never writes)."""
        moves = self.due_clock_moves(name, state, times, now)
        return moves[-1][1] if moves else state

    def due_clock_moves(self, name: str, state: str, times: Callable[[str], datetime | None],
                        now: datetime) -> list[tuple[str, str]]:
        """[(trigger, new state), ...] the clock owes from `state` at `now`, in order. `times(at)` reads a clock
        move's moment (`at` may name an attribute of a related row, e.g. "call.reserve_expires_at")."""
        clock = WORKFLOWS[name].clock
        moves, current = [], state
        for _ in range(len(clock) + 1):
            for move in clock:
                at = times(move.at) if move.source == current else None
                if at is not None and now >= at:
                    current = self.move(name, current, move.trigger, {})
                    moves.append((move.trigger, current))
                    break
            else:
                break
        return moves
