"""Assigning a whole call's applications to its evaluators at once, optimally (DESIGN 2.3, issue 7).

Pure functions over plain values: no database, no Flask (like app/ranking.py). The services build the input
(app/services/assignment_plans.py) and store the result through `evaluation.assign`.

The problem, as a flow network:

    source ──needed──▶ application ──1──▶ evaluator ──unit arcs──▶ sink
                            └──────── shortfall (needed, cost M) ───────▶ sink

- an application sends as many units as it still needs evaluators; one unit to an evaluator is one assignment;
- a pair is an arc only when it is allowed (no known conflict, not already had);
- an evaluator reaches the sink through one arc per extra unit of load, the unit that brings the load to L costing
  L: a convex, increasing cost, so the cheapest flow has the smallest sum of squared loads. On these networks the
  loads that can be reached with a given number of assignments form an M-convex set, where the vector of least
  squares is also the one with the smallest maximum and the largest minimum (Frank & Murota, "Discrete decreasing
  minimization"): the spread max − min is as small as the conflicts and the maxima allow;
- the shortfall arcs let a unit go uncovered at a cost M larger than any assignment could ever cost, so the
  cheapest flow is first a maximum flow (the most assignments possible), then the most even one among those.

Applications that need as many evaluators and may have the same ones share one node (arcs of capacity = their
number; the flow is dealt round them, never twice the same evaluator to one), and the unit arcs are bracketed by
two cheaper arcs checked afterwards (see `solve`): the same optimum from a much smaller network. Solved with
networkx's network simplex (exact, integer): 1,000 applications × 2 among 30 evaluators in about 0.7 s here. Greedy (least loaded first, application by application)
is not enough: it can spend the only evaluator a later application could have on an earlier one that had others.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx

# Why an application cannot be covered, as stable codes; the service words them for people.
FEW_WITHOUT_CONFLICT = "few_without_conflict"  # fewer evaluators without a conflict than it needs
AT_MAXIMUM = "at_maximum"  # enough without a conflict, but too few of them have room below their maximum
TAKEN_BY_OTHERS = "taken_by_others"  # they have room, but the other applications need it too


@dataclass(frozen=True)
class Need:
    """An application and how many more evaluators it needs."""

    application_id: int
    needed: int

    def __post_init__(self) -> None:
        if self.needed < 0:
            raise ValueError(f"application {self.application_id}: a negative number of evaluators")


@dataclass(frozen=True)
class Evaluator:
    """An evaluator, the assignments they already hold in the call, and their maximum there (None: no maximum)."""

    evaluator_id: int
    load: int = 0
    maximum: int | None = None

    def __post_init__(self) -> None:
        if self.load < 0 or (self.maximum is not None and self.maximum < 0):
            raise ValueError(f"evaluator {self.evaluator_id}: negative load or maximum")

    @property
    def room(self) -> int | None:
        """How many more assignments fit below the maximum (None: any number)."""
        return None if self.maximum is None else max(self.maximum - self.load, 0)


@dataclass(frozen=True)
class Shortfall:
    """An application that the best assignment leaves short, by `missing` evaluators, and why."""

    application_id: int
    needed: int
    missing: int
    reason: str
    without_conflict: int  # evaluators without a conflict (and not already had)
    with_room: int  # of those, the ones below their maximum before this plan


@dataclass
class Plan:
    pairs: list[tuple[int, int]]  # (application_id, evaluator_id), in application then evaluator order
    loads: dict[int, int]  # every evaluator's load once the pairs are assigned
    shortfalls: list[Shortfall] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.shortfalls

    @property
    def spread(self) -> int:
        """Highest minus lowest load over every evaluator (0 without evaluators)."""
        return max(self.loads.values()) - min(self.loads.values()) if self.loads else 0

    def evaluators_of(self, application_id: int) -> list[int]:
        return [e for a, e in self.pairs if a == application_id]


def solve(needs: Iterable[Need], evaluators: Iterable[Evaluator],
          forbidden: Iterable[tuple[int, int]] = ()) -> Plan:
    """The optimal assignment: as many of the needed evaluators as can be given (all of them when a valid
    assignment exists), no evaluator above their maximum, no forbidden (application_id, evaluator_id) pair, and
    the loads as even as that allows. Deterministic for the same input."""
    needs = [n for n in needs if n.needed > 0]
    evaluators = list(evaluators)
    _unique([n.application_id for n in needs], "application")
    _unique([e.evaluator_id for e in evaluators], "evaluator")
    forbidden = set(forbidden)
    allowed = {n.application_id: [e for e in evaluators if (n.application_id, e.evaluator_id) not in forbidden]
               for n in needs}
    total = sum(n.needed for n in needs)
    loads = {e.evaluator_id: e.load for e in evaluators}
    if total == 0 or not evaluators:
        return Plan([], loads, _shortfalls(needs, allowed, {n.application_id: n.needed for n in needs}))

    # The exact costs would need one arc per unit of load; two cheaper arcs bracket the range where the answer
    # lies, each checked afterwards (so the result is exactly optimal, only found faster):
    # - below `floor`, one arc at the price of the floor: it overprices those units by a fixed amount once it is
    #   full, and by no more when it is not, so a solution that fills it is optimal for the true costs too;
    #   an evaluator whose floor arc is not filled loses it and the network is solved again;
    # - above `level`, one arc at the price of the next unit: it underprices every unit after its first, so a
    #   solution that sends at most one unit through it is optimal too; otherwise the level is raised.
    mean = -(-(sum(loads.values()) + total) // len(evaluators))
    level, floor = mean + 1, {e.evaluator_id: max(e.load, mean - 3) for e in evaluators}
    groups = _groups(needs, allowed)
    while True:
        flow, overflowed, unfilled = _min_cost_flow(groups, evaluators, total, level, floor)
        if not overflowed and not unfilled:
            break
        for evaluator_id in unfilled:
            floor[evaluator_id] = loads[evaluator_id]
        if overflowed:
            level += max(level, 1)
    given: dict[int, list[int]] = {n.application_id: [] for n in needs}
    for index, (_needed, members, _allowed) in enumerate(groups):
        # the group's units per evaluator, each at most one per member, dealt round the members in turn: the
        # copies of one evaluator land on consecutive members, so never twice on one (there are at most as many
        # copies as members), and no member gets more than its need
        units = {node[1]: count for node, count in flow[("g", index)].items() if node != "t"}
        dealt = [e for e in sorted(units) for _copy in range(units[e])]
        for position, evaluator_id in enumerate(dealt):
            given[members[position % len(members)]].append(evaluator_id)
    pairs, missing = [], {}
    for need in needs:
        chosen = sorted(given[need.application_id])
        pairs.extend((need.application_id, e) for e in chosen)
        for e in chosen:
            loads[e] += 1
        if len(chosen) < need.needed:
            missing[need.application_id] = need.needed - len(chosen)
    return Plan(pairs, loads, _shortfalls(needs, allowed, missing))


def _groups(needs: list[Need], allowed) -> list[tuple[int, list[int], list[Evaluator]]]:
    """Applications that need as many evaluators and may have the same ones are interchangeable: one node in the
    network for all of them (a call without conflicts has one), which keeps the network small. (needed, the
    application ids in input order, the allowed evaluators)."""
    found: dict[tuple[int, tuple[int, ...]], tuple[int, list[int], list[Evaluator]]] = {}
    for need in needs:
        candidates = allowed[need.application_id]
        key = (need.needed, tuple(e.evaluator_id for e in candidates))
        found.setdefault(key, (need.needed, [], candidates))[1].append(need.application_id)
    return list(found.values())


def _min_cost_flow(groups, evaluators, total, level, floor):
    graph = nx.MultiDiGraph()
    graph.add_node("s", demand=-total)
    graph.add_node("t", demand=total)
    top = max(e.load for e in evaluators) + total
    shortfall_cost = total * top + 1  # more than any whole assignment costs: covering comes first
    for index, (needed, members, candidates) in enumerate(groups):
        g = ("g", index)
        graph.add_edge("s", g, capacity=needed * len(members), weight=0)
        graph.add_edge(g, "t", capacity=needed * len(members), weight=shortfall_cost)
        for evaluator in candidates:  # each member has an evaluator at most once
            graph.add_edge(g, ("e", evaluator.evaluator_id), capacity=len(members), weight=0)
    overflow_arcs, floor_arcs = [], []
    for evaluator in evaluators:
        node = ("e", evaluator.evaluator_id)
        if node not in graph:
            continue  # nobody may have them
        room = min(total, evaluator.room if evaluator.room is not None else total)
        flat = min(room, floor[evaluator.evaluator_id] - evaluator.load)
        if flat > 0:
            key = graph.add_edge(node, "t", capacity=flat, weight=floor[evaluator.evaluator_id])
            floor_arcs.append((node, key, flat, evaluator.evaluator_id))
        first = max(flat, 0)
        units = max(first, min(room, level - evaluator.load))
        for k in range(first + 1, units + 1):
            graph.add_edge(node, "t", capacity=1, weight=evaluator.load + k)
        if room > units:
            key = graph.add_edge(node, "t", capacity=room - units, weight=evaluator.load + units + 1)
            overflow_arcs.append((node, key))
    _cost, flow = nx.network_simplex(graph)
    overflowed = any(flow[node]["t"][key] > 1 for node, key in overflow_arcs)
    unfilled = [evaluator_id for node, key, flat, evaluator_id in floor_arcs if flow[node]["t"][key] < flat]
    merged = {u: {v: sum(by_key.values()) for v, by_key in targets.items()} for u, targets in flow.items()}
    return merged, overflowed, unfilled


def _shortfalls(needs: list[Need], allowed: Mapping[int, list[Evaluator]], missing: Mapping[int, int]):
    found = []
    for need in needs:
        if not missing.get(need.application_id):
            continue
        candidates = allowed[need.application_id]
        with_room = [e for e in candidates if e.room is None or e.room > 0]
        if len(candidates) < need.needed:
            reason = FEW_WITHOUT_CONFLICT
        elif len(with_room) < need.needed:
            reason = AT_MAXIMUM
        else:
            reason = TAKEN_BY_OTHERS
        found.append(Shortfall(need.application_id, need.needed, missing[need.application_id], reason,
                               len(candidates), len(with_room)))
    return found


def _unique(ids: list[int], what: str) -> None:
    if len(set(ids)) != len(ids):
        raise ValueError(f"an {what} is listed twice")


def is_valid(plan: Plan, needs: Iterable[Need], evaluators: Iterable[Evaluator],
             forbidden: Iterable[tuple[int, int]] = ()) -> list[str]:
    """Every way `plan` breaks the rules (empty when it keeps them): an unknown, forbidden or repeated pair, an
    application given more than it needs, an evaluator above their maximum. For a plan the admin changed."""
    needs = {n.application_id: n.needed for n in needs}
    evaluators = {e.evaluator_id: e for e in evaluators}
    forbidden = set(forbidden)
    problems, seen, given, added = [], set(), {}, {}
    for application_id, evaluator_id in plan.pairs:
        if application_id not in needs or evaluator_id not in evaluators:
            problems.append(f"unknown pair {application_id}/{evaluator_id}")
            continue
        if (application_id, evaluator_id) in seen:
            problems.append(f"pair {application_id}/{evaluator_id} twice")
        if (application_id, evaluator_id) in forbidden:
            problems.append(f"forbidden pair {application_id}/{evaluator_id}")
        seen.add((application_id, evaluator_id))
        given[application_id] = given.get(application_id, 0) + 1
        added[evaluator_id] = added.get(evaluator_id, 0) + 1
    problems += [f"application {a} given {n}, needs {needs[a]}" for a, n in given.items() if n > needs[a]]
    problems += [f"evaluator {e} above the maximum" for e, n in added.items()
                 if evaluators[e].room is not None and n > evaluators[e].room]
    return problems
