"""The names a workflow definition may use, bound to their implementations.

Each stage module registers its guards, effects and selectors with these decorators; the engine
refuses, at start-up, a definition that names one nobody registered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

GUARDS: dict[str, Callable[["Context"], str | None]] = {}
EFFECTS: dict[str, Callable[["Context"], None]] = {}
SELECTORS: dict[str, Callable[[Any], bool]] = {}


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

    def cause(self):
        """The audit event of this move, written the first time an effect needs it (a cascade names it as
        its cause) or after the effects; stamping effects therefore run before it, so the row is whole."""
        if self._event is None:
            self._event = self.record()
        return self._event

    @property
    def event(self):
        return self.cause()


def guard(name: str):
    def register(function):
        GUARDS[name] = function
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
