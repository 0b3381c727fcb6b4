"""Rules that have one home (issue 5, point 10): the named state groups on the workflow definitions and
`Call.accepting`. The expected sets are written out from DESIGN 2.1 and 2.2, not read from the definitions."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import riga_time
from app.models import Call
from workflows.engine import WORKFLOWS

# DESIGN 2.2: funded → accepted (offer) → contracted (signed) → closed (grant ended well); declined, terminated,
# withdrawn and not_funded hold nothing.
EXPECTED_GROUPS = {
    ("application", "holds_award"): {"funded", "accepted", "contracted", "closed"},
    ("application", "award_open"): {"funded", "accepted", "contracted"},
    # DESIGN 2.1: announced is open from opens_at (the clock's move), open until closes_at; "a submission one
    # second late is refused whatever has ticked", and one on time is taken whatever has ticked (closed).
    ("call", "accepting"): {"announced", "open", "closed"},
    # DESIGN 2.2 start_review: "pass_checks while the call is already in evaluation or later".
    ("call", "evaluation_started"): {"evaluation", "ranking", "awarded", "reporting", "completed"},
    # DESIGN 2.2 complete_review: "its last required review while the call is past evaluation".
    ("call", "evaluation_finished"): {"ranking", "awarded", "reporting", "completed"},
    # DESIGN 2.1: publish_results → awarded, then reporting, completed.
    ("call", "results_published"): {"awarded", "reporting", "completed"},
}


@pytest.mark.parametrize("workflow, group", sorted(EXPECTED_GROUPS))
def test_each_state_group_is_the_set_design_names(workflow, group):
    assert set(WORKFLOWS[workflow].groups[group]) == EXPECTED_GROUPS[(workflow, group)]


def test_no_group_is_left_untested():
    defined = {(name, group) for name, w in WORKFLOWS.items() for group in w.groups}
    assert defined == set(EXPECTED_GROUPS)


def test_a_group_naming_an_unknown_state_fails_validation():
    from dataclasses import replace

    from workflows.engine import DefinitionError, validate

    broken = replace(WORKFLOWS["call"], groups={"accepting": ("announced", "opened")})
    with pytest.raises(DefinitionError, match="group 'accepting' names unknown state 'opened'"):
        validate(broken, _all("guards"), _all("effects"), {t.when for t in broken.transitions if t.when})


def _all(kind: str) -> set[str]:
    return {name for w in WORKFLOWS.values() for t in w.transitions for name in getattr(t, kind)}


# A deadline "līdz 04.04.2022. plkst. 23:59" is stored as 05.04.2022 00:00 Riga time, exclusive (DESIGN 2.1).
OPENS = riga_time(2022, 3, 1)
CLOSES = riga_time(2022, 4, 5)
SECOND = timedelta(seconds=1)


def _call(status: str, opens_at=OPENS, closes_at=CLOSES) -> Call:
    return Call(status=status, opens_at=opens_at, closes_at=closes_at)


@pytest.mark.parametrize("moment, expected", [
    (OPENS - SECOND, False),
    (OPENS, True),
    (riga_time(2022, 4, 4, 23, 59, 59), True),
    (CLOSES - timedelta(microseconds=1), True),
    (CLOSES, False),
    (CLOSES + SECOND, False),
])
@pytest.mark.parametrize("stored", ["announced", "open", "closed"])  # whatever the clock has written
def test_call_accepting_at_the_boundary_seconds(stored, moment, expected):
    assert _call(stored).accepting(moment) is expected


@pytest.mark.parametrize("stored", ["draft", "evaluation", "ranking", "awarded", "reporting", "completed",
                                    "cancelled"])
def test_call_accepting_never_in_other_states_even_within_the_window(stored):
    assert _call(stored).accepting(riga_time(2022, 3, 15)) is False


def test_call_accepting_needs_both_dates():
    assert _call("open", opens_at=None).accepting(riga_time(2022, 3, 15)) is False
    assert _call("open", closes_at=None).accepting(riga_time(2022, 3, 15)) is False
