"""The vocabulary in which every workflow is written: states, transitions, clock moves."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class State:
    name: str
    lv: str
    en: str
    final: bool = False


@dataclass(frozen=True)
class Transition:
    trigger: str
    source: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    guards: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    when: str | None = None  # a selector that picks this transition among several with the same trigger and source
    needs_note: bool = False  # a written reason is required


@dataclass(frozen=True)
class ClockMove:
    """A move the clock makes: `trigger` fires when `now >= entity.<at>` while in `source`."""

    trigger: str
    source: str
    at: str


@dataclass(frozen=True)
class Workflow:
    name: str
    entity: str
    initial: str
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    triggers: dict[str, tuple[str, str]] = field(default_factory=dict)  # trigger -> (lv, en) button labels
    clock: tuple[ClockMove, ...] = ()

    def state(self, name: str) -> State:
        for state in self.states:
            if state.name == name:
                return state
        raise KeyError(name)

    def label(self, state: str, lang: str) -> str:
        found = self.state(state)
        return found.en if lang == "en" else found.lv

    def trigger_label(self, trigger: str, lang: str) -> str:
        lv, en = self.triggers.get(trigger, (trigger, trigger))
        return en if lang == "en" else lv

    def leaving(self, state: str) -> list[Transition]:
        """Transitions whose source includes `state`, in definition order."""
        return [t for t in self.transitions if state in t.source]


def t(trigger, source, dest, roles, guards=(), effects=(), when=None, needs_note=False) -> Transition:
    """Short constructor so a definition reads as a table."""
    as_tuple = (lambda v: (v,) if isinstance(v, str) else tuple(v))
    return Transition(trigger, as_tuple(source), dest, as_tuple(roles), as_tuple(guards), as_tuple(effects), when,
                      needs_note)
