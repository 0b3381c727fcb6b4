"""The names a workflow definition may use, bound to their implementations.

Each stage module registers its guards, effects, selectors and cascade targets with these decorators; the engine
refuses, at start-up, a definition that names one nobody registered. `located` says where each one is written
(`flask workflows explain`).
"""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

GUARDS: dict[str, Callable[["Context"], str | None]] = {}
COSTLY: set[str] = set()  # guards too slow for a list page (a dry run skips them unless asked: `check(run_costly=)`)
INPUT: set[str] = set()  # guards that judge what the user types with the step (a dry run before the form skips them)
EFFECTS: dict[str, Callable[["Context"], None]] = {}
SELECTORS: dict[str, Callable[[Any], bool]] = {}
TARGETS: dict[str, Callable[["Context"], Iterable[Any]]] = {}  # a cascade's rows, from the move that caused it
NOTES: dict[str, Any] = {}  # a system note's name → its text, a lazy string (written in the audit trail's language)


@dataclass
class Context:
    """Everything a guard or an effect may look at for one move."""

    entity: Any
    trigger: str
    actor: Any  # a User, or None for the system
    now: datetime
    note: str | None = None
    data: dict = field(default_factory=dict)
    source: str = ""
    dest: str = ""
    record: Callable[[], Any] | None = None
    _event: Any = None
    memo: dict = field(default_factory=dict)  # what the guards and effects of this one move read once and share

    def cause(self):
        """The audit event of this move, written the first time an effect needs it (a cascade names it as
        its cause) or after the effects; stamping effects therefore run before it, so the row is whole."""
        if self._event is None:
            self._event = self.record()
        return self._event

    @property
    def event(self):
        return self.cause()


def guard(name: str, *, costly: bool = False, input: bool = False):  # noqa: A002  the flag's plain name
    """Register a guard. `costly`: it computes something heavy (a hash over every score), so pages that list many
    buttons run it only on the detail page. `input`: it judges the data or note sent with the step, which a dry run
    made before the user typed anything cannot have."""
    def register(function):
        GUARDS[name] = function
        COSTLY.discard(name), INPUT.discard(name)
        if costly:
            COSTLY.add(name)
        if input:
            INPUT.add(name)
        return function
    return register


def effect(name: str):
    def register(function):
        EFFECTS[name] = function
        return function
    return register


def selector(name: str):
    def register(function):
        SELECTORS[name] = function
        return function
    return register


def targets(name: str):
    """Register the rows a cascade fires on: a function of the causing move's Context returning them, in the order
    they are to move (locked, if they must be). It chooses rows; it changes nothing (the engine fires them)."""
    def register(function):
        TARGETS[name] = function
        return function
    return register


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def system_note(name: str, text) -> None:
    """Register the reason a definition's cascade or clock move writes on its events: `text` is `_l("…")`."""
    NOTES[name] = text


def located(function: Callable) -> str:
    """'app/services/calls.py:177': the file and the line of `function`'s def (of the lambda, for one)."""
    function = inspect.unwrap(function)
    path = inspect.getsourcefile(function)
    lines, first = inspect.getsourcelines(function)
    offset = next((i for i, line in enumerate(lines) if line.lstrip().startswith(("def ", "async def "))), 0)
    return f"{os.path.relpath(path, ROOT)}:{first + offset}"


def explain(workflow, trigger: str | None = None) -> list[str]:
    """The lines of `flask workflows explain`: each transition of `workflow` (or only `trigger`'s) with its roles,
    selector, guards, effects and cascades, each name with the file and line of the function that implements it,
    then the clock moves."""
    def named(kind: dict, name: str, flags: str = "") -> str:
        function = kind.get(name)
        return f"{name}{flags}  {located(function) if function else 'NOT REGISTERED'}"

    lines = []
    for tr in workflow.transitions:
        if trigger is not None and tr.trigger != trigger:
            continue
        lines.append(f"{workflow.name}.{tr.trigger}: {', '.join(tr.source)} -> {tr.dest}")
        reason = "  (a written reason is required)" if tr.needs_note else ""
        lines.append(f"  roles:    {', '.join(tr.roles)}{reason}")
        if tr.when:
            lines.append(f"  when:     {named(SELECTORS, tr.when)}")
        for label, kind, names in (("guard", GUARDS, tr.guards), ("effect", EFFECTS, tr.effects)):
            for name in names:
                flags = "".join(f" ({flag})" for flag, marked in (("costly", COSTLY), ("input", INPUT))
                                if kind is GUARDS and name in marked)
                lines.append(f"  {label + ':':<9} {named(kind, name, flags)}")
        for step in tr.cascades:
            note = f"  note: {str(NOTES.get(step.note, step.note))!r}" if step.note else ""
            lines.append(f"  then:     {step.workflow}.{step.trigger} on each of {named(TARGETS, step.targets)}{note}")
    for move in workflow.clock:
        if trigger is None or move.trigger == trigger:
            lines.append(f"{workflow.name}.{move.trigger}: the clock fires it from {move.source} "
                         f"when now >= {move.at}" + (f"  note: {str(NOTES.get(move.note, move.note))!r}" if move.note else ""))
    return lines
