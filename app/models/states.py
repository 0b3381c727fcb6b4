"""Status columns held to their workflow's states, written from the definitions so the two cannot drift.

The models import the definitions, never the reverse: `workflows/` knows nothing of the app. The migration that
adds these checks (a5e1c0de0002) writes its lists out instead, because a migration must build the same schema
whenever it runs; tests/integration/test_migrations.py compares the migrated checks with these.
"""
from __future__ import annotations

from sqlalchemy import CheckConstraint

from workflows.engine import WORKFLOWS


def sql_list(values) -> str:
    """`('a', 'b')` as SQL; state names are identifiers, but quote as SQL would anyway."""
    return "(" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + ")"


def states_of(workflow: str) -> tuple[str, ...]:
    return tuple(state.name for state in WORKFLOWS[workflow].states)


def sources_of(workflow: str, trigger: str) -> tuple[str, ...]:
    """The states `trigger` leaves from, in definition order."""
    found: list[str] = []
    for transition in WORKFLOWS[workflow].transitions:
        if transition.trigger == trigger:
            found += [source for source in transition.source if source not in found]
    return tuple(found)


def status_check(workflow: str) -> CheckConstraint:
    """`status` is one of the workflow's states: named ck_<table>_status by the naming convention."""
    return CheckConstraint(f"status in {sql_list(states_of(workflow))}", name="status")
