"""Compiles workflow definitions into transitions machines and answers every question about them.

The engine knows nothing of Flask or the database. The app hands it the names it implements (guards,
effects, selectors); `validate` refuses a definition that names anything unknown, at start-up.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable

from transitions import Machine
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
    """A workflow definition names a state, role, guard, effect or selector that does not exist."""


class NotAvailable(Exception):
    """The trigger does not leave the current state (HTTP 409)."""

    def __init__(self, workflow: str, trigger: str, state: str):
        self.workflow, self.trigger, self.state = workflow, trigger, state
        super().__init__(f"{workflow}: '{trigger}' is not possible from '{state}'")


class _Subject:
    """What a machine moves for the length of one fire: `state` plus the selector answers."""

    def __init__(self, state: str, selections: dict[str, bool]):
        self.state = state
        for name, value in selections.items():
            setattr(self, name, value)


@dataclass(frozen=True)
class Compiled:
    workflow: Workflow
    machine: Machine


def validate(workflow: Workflow, guards: Iterable[str], effects: Iterable[str], selectors: Iterable[str]) -> None:
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
    for move in workflow.clock:
        if not any(tr.trigger == move.trigger and move.source in tr.source for tr in workflow.transitions):
            problems.append(f"{workflow.name}: clock move '{move.trigger}' from '{move.source}' has no transition")
    if problems:
        raise DefinitionError("; ".join(problems))


def compile_workflow(workflow: Workflow) -> Compiled:
    machine = Machine(
        model=None,
        states=[s.name for s in workflow.states],
        initial=workflow.initial,
        auto_transitions=False,
        ignore_invalid_triggers=False,
        transitions=[
            {"trigger": tr.trigger, "source": list(tr.source), "dest": tr.dest,
             **({"conditions": [tr.when]} if tr.when else {})}
            for tr in workflow.transitions
        ],
    )
    return Compiled(workflow, machine)


class Engine:
    def __init__(self, guards: Iterable[str], effects: Iterable[str], selectors: Iterable[str]):
        guards, effects, selectors = list(guards), list(effects), list(selectors)
        for workflow in WORKFLOWS.values():
            validate(workflow, guards, effects, selectors)
        self.compiled = {name: compile_workflow(w) for name, w in WORKFLOWS.items()}
        self._triggers = {name: {t.trigger for t in w.transitions} for name, w in WORKFLOWS.items()}
        self._selectors = {name: {t.when for t in w.transitions if t.when} for name, w in WORKFLOWS.items()}
        self._local = threading.local()

    def workflow(self, name: str) -> Workflow:
        return WORKFLOWS[name]

    def select(self, name: str, trigger: str, state: str, selections: dict[str, bool]) -> Transition:
        """The transition `trigger` takes from `state`, given the selectors' answers; NotAvailable if none."""
        for tr in WORKFLOWS[name].leaving(state):
            if tr.trigger == trigger and (tr.when is None or selections.get(tr.when)):
                return tr
        raise NotAvailable(name, trigger, state)

    def move(self, name: str, state: str, trigger: str, selections: dict[str, bool]) -> str:
        """Run the trigger through the shared machine and return the new state.

        Each thread keeps one subject per machine, added once: binding ~20 trigger methods on every call
        (add_model/remove_model) cost ~250 µs here, setting the subject's state costs nothing.
        """
        subjects = self._local.__dict__.setdefault("subjects", {})
        subject = subjects.get(name)
        if subject is None:
            subject = subjects[name] = _Subject(state, {})
            machine = self.compiled[name].machine
            machine.add_model(subject, initial=state)
            # detach it when the thread is gone: the threaded dev server starts a thread per request
            weakref.finalize(threading.current_thread(), machine.remove_model, subject)
        subject.state = state
        subject.__dict__.update({key: bool(selections.get(key)) for key in self._selectors[name]})
        if trigger not in self._triggers[name]:
            raise NotAvailable(name, trigger, state)
        try:
            if not subject.trigger(trigger):
                raise NotAvailable(name, trigger, state)
            return subject.state
        except MachineError as error:
            raise NotAvailable(name, trigger, state) from error

    def triggers_from(self, name: str, state: str, role: str | None = None) -> list[str]:
        """Distinct triggers that leave `state`, optionally only those `role` may fire, in definition order."""
        seen: list[str] = []
        for tr in WORKFLOWS[name].leaving(state):
            if (role is None or role in tr.roles) and tr.trigger not in seen:
                seen.append(tr.trigger)
        return seen

    def effective_state(self, name: str, state: str, times: Callable[[str], datetime | None], now: datetime) -> str:
        """The state after every clock move that is due, without writing anything (a GET never writes)."""
        moves = self.due_clock_moves(name, state, times, now)
        return moves[-1][1] if moves else state

    def due_clock_moves(self, name: str, state: str, times: Callable[[str], datetime | None],
                        now: datetime) -> list[tuple[str, str]]:
        """[(trigger, new state), ...] the clock owes from `state` at `now`, in order."""
        moves, current = [], state
        for _ in range(len(WORKFLOWS[name].clock) + 1):
            for clock in WORKFLOWS[name].clock:
                at = times(clock.at) if clock.source == current else None
                if at is not None and now >= at:
                    dest = self.select(name, clock.trigger, current, {}).dest
                    moves.append((clock.trigger, dest))
                    current = dest
                    break
            else:
                break
        return moves
