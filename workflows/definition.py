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
class Cascade:
    """After a move and its effects, the system fires `workflow.trigger` on each row the registered function
    `targets` returns for the move (in its order), each event caused by the move, in the same transaction.
    `note` is the reason written on each cascaded event (the name of a system note the app registers: app/services/registry.py); without one they carry the cause's."""

    workflow: str
    trigger: str
    targets: str
    note: str | None = None


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
    irreversible: bool = False  # nothing undoes it: the web asks "are you sure?" on a page of its own first
    cascades: tuple[Cascade, ...] = ()  # what the system fires next, after the effects (see Cascade)


@dataclass(frozen=True)
class ClockMove:
    """A move the clock makes: `trigger` fires as the system when `now >= entity.<at>` while in `source`.

    `at` is an attribute of the entity or, dotted, of a row it belongs to ("call.reserve_expires_at"); `note` is the
    reason written on the event (the name of a system note, as for a Cascade)."""

    trigger: str
    source: str
    at: str
    note: str | None = None


@dataclass(frozen=True)
class Workflow:
    name: str
    entity: str
    initial: str
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    triggers: dict[str, tuple[str, str]] = field(default_factory=dict)  # trigger -> (lv, en) button labels
    clock: tuple[ClockMove, ...] = ()
    # Named sets of states that rules ask about ("holds_award", "evaluation_started"): one home per rule, so no
    # caller writes its own tuple of states. The engine checks at start-up that each names known states.
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

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
        """Transitions whose source includes `state`, in definition order: the table read as plain data, for tests
        that check the engine against it. The app asks the engine, whose machine answers."""
        return [t for t in self.transitions if state in t.source]


def t(trigger, source, dest, roles, guards=(), effects=(), when=None, needs_note=False,
      irreversible=False, cascades=()) -> Transition:
    """Short constructor so a definition reads as a table."""
    as_tuple = (lambda v: (v,) if isinstance(v, str) else tuple(v))
    return Transition(trigger, as_tuple(source), dest, as_tuple(roles), as_tuple(guards), as_tuple(effects), when,
                      needs_note, irreversible=irreversible, cascades=tuple(cascades))


def then(fires: str, targets: str, note: str | None = None) -> Cascade:
    """A cascade as the table says it: then("application.start_review", "eligible_applications")."""
    workflow, trigger = fires.split(".")
    return Cascade(workflow, trigger, targets, note)
