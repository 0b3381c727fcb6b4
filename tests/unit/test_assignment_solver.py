"""The whole-call assignment solver (app/assignment.py): pure, no database.

The examples are worked by hand; the properties compare the solver with a brute-force oracle (every way of choosing
evaluators for every application) and with a maximum flow built here with networkx, not with the solver's own
network."""
from __future__ import annotations

import itertools

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.assignment import (AT_MAXIMUM, FEW_WITHOUT_CONFLICT, TAKEN_BY_OTHERS, Evaluator, Need, is_valid, solve)


def test_an_optimal_assignment_where_greedy_fails():
    """Two applications need one evaluator each; each evaluator takes at most one. A1 may go to E1 or E2; A2 has a
    conflict with E2, so only E1 can take it.

    Greedy, least loaded first, application by application: for A1 both evaluators hold 0, the tie goes to the
    first, E1; for A2 the only evaluator without a conflict, E1, is at the maximum of 1 → A2 stays uncovered.
    The optimal assignment exists: A1 → E2, A2 → E1."""
    plan = solve([Need(1, 1), Need(2, 1)], [Evaluator(11, 0, 1), Evaluator(12, 0, 1)], {(2, 12)})
    assert sorted(plan.pairs) == [(1, 12), (2, 11)]
    assert plan.complete and plan.shortfalls == []
    assert plan.loads == {11: 1, 12: 1}


def test_greedy_fails_with_two_evaluators_per_application():
    """A1 and A2 need two evaluators each; each evaluator takes at most one. A1 may have any of E1–E4; A2 has a
    conflict with E3 and E4.

    Greedy, least loaded first, application by application: for A1 all four hold 0, ties go in order → E1, E2;
    for A2 the only evaluators without a conflict, E1 and E2, are at the maximum → A2 gets nobody. The optimal
    assignment exists: A1 → E3, E4 and A2 → E1, E2."""
    people = [Evaluator(11, 0, 1), Evaluator(12, 0, 1), Evaluator(13, 0, 1), Evaluator(14, 0, 1)]
    plan = solve([Need(1, 2), Need(2, 2)], people, {(2, 13), (2, 14)})
    assert plan.evaluators_of(1) == [13, 14] and plan.evaluators_of(2) == [11, 12]
    assert plan.complete


def test_evaluators_needed_elsewhere_are_said_so():
    """A1–A3 need two each, at most two per evaluator; E3 has a conflict with A2 and A3. A2 and A3 can only have
    E1 and E2, which fills both; A1 can then have E3 and nobody else: five of the six assignments, and the one
    left short is short because the others need E1 and E2 (not for lack of evaluators without a conflict)."""
    needs = [Need(1, 2), Need(2, 2), Need(3, 2)]
    people = [Evaluator(11, 0, 2), Evaluator(12, 0, 2), Evaluator(13, 0, 2)]
    plan = solve(needs, people, {(2, 13), (3, 13)})
    assert len(plan.pairs) == 5
    assert [(s.missing, s.reason) for s in plan.shortfalls] == [(1, TAKEN_BY_OTHERS)]


def test_no_valid_assignment_names_the_application_and_why():
    """A2 needs two evaluators, but E2 and E3 have a conflict with it: only E1 is left. A1 is coverable."""
    plan = solve([Need(1, 2), Need(2, 2)], [Evaluator(11), Evaluator(12), Evaluator(13)], {(2, 12), (2, 13)})
    assert not plan.complete
    (short,) = plan.shortfalls
    assert (short.application_id, short.missing, short.reason, short.without_conflict) == (2, 1, FEW_WITHOUT_CONFLICT,
                                                                                           1)
    assert (2, 11) in plan.pairs and len(plan.evaluators_of(1)) == 2


def test_everyone_at_the_maximum_is_said_so():
    """Both evaluators already hold 3 of at most 3: nobody can take the application."""
    plan = solve([Need(5, 1)], [Evaluator(11, 3, 3), Evaluator(12, 3, 3)])
    assert plan.pairs == []
    (short,) = plan.shortfalls
    assert (short.application_id, short.reason, short.without_conflict, short.with_room) == (5, AT_MAXIMUM, 2, 0)


def test_the_maximum_per_evaluator_is_respected():
    """Ten applications × two evaluators = 20 assignments; four evaluators of at most 5 each, one already holding
    2 (so room for 3): 5 + 5 + 5 + 3 = 18 < 20, so two stay uncovered and nobody passes 5."""
    people = [Evaluator(11, 0, 5), Evaluator(12, 0, 5), Evaluator(13, 0, 5), Evaluator(14, 2, 5)]
    plan = solve([Need(i, 2) for i in range(10)], people)
    assert plan.loads == {11: 5, 12: 5, 13: 5, 14: 5}
    assert len(plan.pairs) == 18
    assert sum(s.missing for s in plan.shortfalls) == 2


def test_without_conflicts_the_loads_differ_by_at_most_one():
    """Seven applications × two among three evaluators: 14 = 5 + 5 + 4."""
    plan = solve([Need(i, 2) for i in range(7)], [Evaluator(11), Evaluator(12), Evaluator(13)])
    assert sorted(plan.loads.values()) == [4, 5, 5]
    assert plan.spread == 1
    assert all(len(plan.evaluators_of(i)) == 2 for i in range(7))


def test_existing_loads_are_evened_out():
    """E1 already holds 4 reviews, E2 and E3 none: four new single assignments go to E2 and E3, two each."""
    plan = solve([Need(i, 1) for i in range(4)], [Evaluator(11, 4), Evaluator(12, 0), Evaluator(13, 0)])
    assert plan.loads == {11: 4, 12: 2, 13: 2}


def test_a_large_call_is_evened_out_through_the_level_raising():
    """Loads far apart (the first evaluator at 40, the unit arcs start near the mean): the cheapest flow must
    still put nothing more on the first evaluator."""
    plan = solve([Need(i, 1) for i in range(30)], [Evaluator(1, 40), Evaluator(2, 0), Evaluator(3, 0)])
    assert plan.loads == {1: 40, 2: 15, 3: 15}


def test_the_input_is_checked():
    with pytest.raises(ValueError):
        solve([Need(1, 1), Need(1, 2)], [Evaluator(11)])
    with pytest.raises(ValueError):
        Need(1, -1)


def test_is_valid_names_what_a_changed_plan_breaks():
    from app.assignment import Plan

    needs, people = [Need(1, 1)], [Evaluator(11, 1, 1), Evaluator(12)]
    broken = Plan(pairs=[(1, 11), (1, 12), (1, 12)], loads={})
    problems = is_valid(broken, needs, people, {(1, 12)})
    assert "forbidden pair 1/12" in problems and "pair 1/12 twice" in problems
    assert "evaluator 11 above the maximum" in problems and "application 1 given 3, needs 1" in problems


# --- properties against an independent oracle --------------------------------------------------------------------

@st.composite
def instances(draw):
    n_evaluators = draw(st.integers(1, 3))
    n_applications = draw(st.integers(1, 4))
    needs = [Need(a, draw(st.integers(0, 3))) for a in range(n_applications)]
    people = [Evaluator(100 + e, draw(st.integers(0, 3)), draw(st.none() | st.integers(0, 4)))
              for e in range(n_evaluators)]
    pairs = [(a, 100 + e) for a in range(n_applications) for e in range(n_evaluators)]
    forbidden = {pair for pair in pairs if draw(st.booleans())}
    return needs, people, forbidden


def _oracle(needs, people, forbidden):
    """Every plan: each application gets a subset (at most its need) of its allowed evaluators, and no evaluator
    goes above the maximum. Returns the most assignments any plan makes and the least spread among those plans."""
    options = []
    for need in needs:
        allowed = [p.evaluator_id for p in people if (need.application_id, p.evaluator_id) not in forbidden]
        options.append([c for k in range(min(need.needed, len(allowed)) + 1)
                        for c in itertools.combinations(allowed, k)])
    best = (-1, None)
    for choice in itertools.product(*options):
        loads = {p.evaluator_id: p.load for p in people}
        for chosen in choice:
            for e in chosen:
                loads[e] += 1
        if any(p.maximum is not None and loads[p.evaluator_id] > max(p.maximum, p.load) for p in people):
            continue
        if any(p.maximum is not None and loads[p.evaluator_id] - p.load > max(p.maximum - p.load, 0)
               for p in people):
            continue
        count = sum(len(c) for c in choice)
        spread = max(loads.values()) - min(loads.values())
        if count > best[0] or (count == best[0] and spread < best[1]):
            best = (count, spread)
    return best


def _max_flow(needs, people, forbidden) -> int:
    """The most assignments, as a maximum flow on a graph built here."""
    graph = nx.DiGraph()
    for need in needs:
        graph.add_edge("source", f"a{need.application_id}", capacity=need.needed)
        for p in people:
            if (need.application_id, p.evaluator_id) not in forbidden:
                graph.add_edge(f"a{need.application_id}", f"e{p.evaluator_id}", capacity=1)
    for p in people:
        room = 10**6 if p.maximum is None else max(p.maximum - p.load, 0)
        graph.add_edge(f"e{p.evaluator_id}", "sink", capacity=room)
    if "source" not in graph:
        return 0
    return nx.maximum_flow_value(graph, "source", "sink")


def _breaks(plan, needs, people, forbidden) -> list[str]:
    """The rules, checked here (not with the module's is_valid)."""
    wanted = {n.application_id: n.needed for n in needs}
    found = []
    if len(set(plan.pairs)) != len(plan.pairs):
        found.append("a pair twice")
    for a, e in plan.pairs:
        if (a, e) in forbidden:
            found.append(f"forbidden {a}/{e}")
    for a, n in wanted.items():
        if len(plan.evaluators_of(a)) > n:
            found.append(f"{a} over its need")
    for p in people:
        added = sum(1 for _a, e in plan.pairs if e == p.evaluator_id)
        if p.maximum is not None and added > max(p.maximum - p.load, 0):
            found.append(f"{p.evaluator_id} over the maximum")
        if plan.loads[p.evaluator_id] != p.load + added:
            found.append(f"{p.evaluator_id} load miscounted")
    return found


@settings(max_examples=150, deadline=None)
@given(instances())
def test_the_plan_keeps_every_rule_and_is_optimal(instance):
    needs, people, forbidden = instance
    plan = solve(needs, people, forbidden)
    assert _breaks(plan, needs, people, forbidden) == []
    most, least_spread = _oracle(needs, people, forbidden)
    assert len(plan.pairs) == most
    assert plan.spread == least_spread
    missing = sum(s.missing for s in plan.shortfalls)
    assert missing == sum(n.needed for n in needs) - len(plan.pairs)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_feasible_exactly_when_a_maximum_flow_covers_every_need(instance):
    needs, people, forbidden = instance
    plan = solve(needs, people, forbidden)
    covers = _max_flow(needs, people, forbidden) == sum(n.needed for n in needs)
    assert plan.complete == covers
    assert len(plan.pairs) == _max_flow(needs, people, forbidden)


@st.composite
def larger_instances(draw):
    """Calls big enough for the solver's cheaper arcs (below the floor, above the level) to matter."""
    n_evaluators = draw(st.integers(2, 6))
    n_applications = draw(st.integers(5, 30))
    needs = [Need(a, draw(st.integers(1, 3))) for a in range(n_applications)]
    people = [Evaluator(100 + e, draw(st.integers(0, 12)), draw(st.none() | st.integers(0, 25)))
              for e in range(n_evaluators)]
    forbidden = {(a, 100 + e) for a in range(n_applications) for e in range(n_evaluators)
                 if draw(st.integers(0, 9)) == 0}
    return needs, people, forbidden


def _least_squares(needs, people, forbidden) -> tuple[int, int]:
    """(most assignments, least sum of squared loads among plans with that many), by a min-cost flow built here
    with one arc per unit of load (the textbook network, slow but plain)."""
    graph = nx.DiGraph()
    total = sum(n.needed for n in needs)
    big = total * (max(p.load for p in people) + total + 1) * 4 + 1
    graph.add_node("s", demand=-total)
    graph.add_node("t", demand=total)
    for need in needs:
        graph.add_edge("s", ("a", need.application_id), capacity=need.needed, weight=0)
        graph.add_edge(("a", need.application_id), "t", capacity=need.needed, weight=big)
        for p in people:
            if (need.application_id, p.evaluator_id) not in forbidden:
                graph.add_edge(("a", need.application_id), ("e", p.evaluator_id), capacity=1, weight=0)
    for p in people:
        room = total if p.maximum is None else max(0, p.maximum - p.load)
        for k in range(1, min(room, total) + 1):  # a node per unit: DiGraph has no parallel arcs
            graph.add_edge(("e", p.evaluator_id), ("u", p.evaluator_id, k), capacity=1,
                           weight=(p.load + k) ** 2 - (p.load + k - 1) ** 2)
            graph.add_edge(("u", p.evaluator_id, k), "t", capacity=1, weight=0)
    flow = nx.min_cost_flow(graph)
    covered = total - sum(flow[("a", n.application_id)]["t"] for n in needs)
    loads = {p.evaluator_id: p.load for p in people}
    for (kind, *rest), targets in flow.items():
        if kind == "e":
            loads[rest[0]] += sum(targets.values())
    return covered, sum(v * v for v in loads.values())


@settings(max_examples=60, deadline=None)
@given(larger_instances())
def test_larger_calls_match_the_textbook_network(instance):
    needs, people, forbidden = instance
    plan = solve(needs, people, forbidden)
    assert _breaks(plan, needs, people, forbidden) == []
    covered, squares = _least_squares(needs, people, forbidden)
    assert len(plan.pairs) == covered
    assert sum(v * v for v in plan.loads.values()) == squares
