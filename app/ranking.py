"""Scoring, pass/fail, ranking and budget allocation for one call.

Pure functions over plain values: no database, no Flask. Scores are integer half-points
(3.5 points is stored as 7); means and totals are exact Fractions and are rounded only by
`display_points`. See DESIGN.md section 3 ("Criteria and scores" to "Allocation").
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from functools import lru_cache
from itertools import chain, combinations
from math import lcm
from operator import itemgetter, mul
from typing import Iterable, Mapping, Sequence

SUBMITTED_AT = "submitted_at"
APPLICATION_ID = "application_id"
DIVERGENCE_POLICIES = ("mean_all", "closest_two")
ALLOCATION_POLICIES = ("strict", "skip")
FUNDED, RESERVE, REJECTED = "funded", "reserve", "rejected"


@dataclass(frozen=True)
class Criterion:
    code: str
    max_half_points: int
    min_half_points: int | None = None
    weight: Fraction = Fraction(1)

    def __post_init__(self) -> None:
        if self.max_half_points < 0:
            raise ValueError(f"criterion {self.code}: negative maximum")
        if self.min_half_points is not None and not 0 <= self.min_half_points <= self.max_half_points:
            raise ValueError(f"criterion {self.code}: minimum outside 0..maximum")
        if isinstance(self.weight, float) or self.weight < 0:
            raise ValueError(f"criterion {self.code}: weight must be an exact non-negative number")
        object.__setattr__(self, "weight", Fraction(self.weight))


@dataclass(frozen=True)
class Review:
    review_id: int
    scores: Mapping[str, int | None]


@dataclass(frozen=True)
class Rules:
    pass_mark_half_points: int
    divergence_threshold_percent: int = 30
    divergence_policy: str = "mean_all"
    tie_break_keys: tuple[str, ...] = (SUBMITTED_AT,)
    allocation_policy: str = "strict"
    budget_cents: int = 0

    def __post_init__(self) -> None:
        if self.divergence_policy not in DIVERGENCE_POLICIES:
            raise ValueError(f"unknown divergence policy {self.divergence_policy!r}")
        if self.allocation_policy not in ALLOCATION_POLICIES:
            raise ValueError(f"unknown allocation policy {self.allocation_policy!r}")
        if self.budget_cents < 0 or self.divergence_threshold_percent < 0:
            raise ValueError("budget and divergence threshold must not be negative")


@dataclass(frozen=True)
class Entry:
    application_id: int
    amount_cents: int
    submitted_at: datetime
    reviews: tuple[Review, ...]

    def __post_init__(self) -> None:
        if self.amount_cents < 0:
            raise ValueError(f"application {self.application_id}: negative amount")
        if self.submitted_at.utcoffset() is None:
            raise ValueError(f"application {self.application_id}: submitted_at must be timezone-aware")


@dataclass(frozen=True)
class Aggregate:
    per_criterion: dict[str, Fraction | None]
    total: Fraction
    weighted_total: Fraction
    counted_review_ids: tuple[int, ...]


@dataclass(frozen=True)
class Ranked:
    application_id: int
    rank: int | None
    aggregate: Aggregate
    passed: bool
    failures: tuple[str, ...]
    tie_broken_by: str | None
    decision: str
    amount_cents: int


# --- single reviews and divergence -------------------------------------------------------

def review_total(review: Review) -> int:
    return sum(v for v in review.scores.values() if v is not None)


def review_passes(review: Review, criteria: Sequence[Criterion], rules: Rules) -> bool:
    return _review_passes(review, review_total(review), criteria, rules)


def _review_passes(review: Review, total: int, criteria: Sequence[Criterion], rules: Rules) -> bool:
    if total < rules.pass_mark_half_points:
        return False
    for c in criteria:
        if c.min_half_points is not None:
            score = review.scores.get(c.code)
            if score is None or score < c.min_half_points:
                return False
    return True


def is_divergent(reviews: Sequence[Review], criteria: Sequence[Criterion], rules: Rules) -> bool:
    totals = [review_total(r) for r in reviews]
    for a, b in combinations(totals, 2):
        lo, hi = min(a, b), max(a, b)
        if (hi - lo) * 100 > rules.divergence_threshold_percent * hi:
            return True
    verdicts = {_review_passes(r, t, criteria, rules) for r, t in zip(reviews, totals)}
    return len(verdicts) > 1


def counted_reviews(reviews: Sequence[Review], criteria: Sequence[Criterion],
                    rules: Rules) -> tuple[Review, ...]:
    reviews = tuple(reviews)
    if (rules.divergence_policy != "closest_two" or len(reviews) < 3
            or not is_divergent(reviews, criteria, rules)):
        return reviews
    totals = [review_total(r) for r in reviews]
    pairs = [(abs(totals[i] - totals[j]), (reviews[i], reviews[j]))
             for i, j in combinations(range(len(reviews)), 2)]
    closest = min(distance for distance, _ in pairs)
    winners = [pair for distance, pair in pairs if distance == closest]
    # Equally close pairs: no principled way to choose, so the design says mean of all.
    return winners[0] if len(winners) == 1 else reviews


# --- aggregate and pass ------------------------------------------------------------------

def _check_scores(reviews: Iterable[Review], criteria: Sequence[Criterion]) -> None:
    maxima = {c.code: c.max_half_points for c in criteria}
    if len(maxima) != len(criteria):
        raise ValueError("duplicate criterion codes")
    for r in reviews:
        for code, score in r.scores.items():
            if code not in maxima:
                raise ValueError(f"review {r.review_id}: unknown criterion {code!r}")
            if score is not None and not 0 <= score <= maxima[code]:
                raise ValueError(f"review {r.review_id}: {code} score {score} outside 0..{maxima[code]}")


def _exact_sum(terms: Sequence[tuple[int, int]]) -> Fraction:
    """Exact sum of numerator/denominator pairs over a common denominator: one Fraction
    instead of one Fraction addition per term (this is the hot loop of ranking)."""
    common = lcm(*(d for _, d in terms))
    return Fraction(sum(n * (common // d) for n, d in terms), common)


# Means repeat endlessly (a sum of a few small scores over 1..n reviews) and Fractions are
# immutable, so sharing them saves most of the cost of ranking thousands of applications.
_mean = lru_cache(maxsize=4096)(Fraction)


class _Prepared:
    """What aggregating many entries against one set of criteria shares, computed once per `rank`: the valid
    scores per code, the codes in order with a C-level getter, the weights over one common denominator."""

    def __init__(self, criteria: Sequence[Criterion]):
        self.criteria = criteria
        self.codes = tuple(c.code for c in criteria)
        self.width = len(self.codes)
        self.allowed_per_code = tuple(frozenset(range(c.max_half_points + 1)) for c in criteria)
        uniform = len(set(self.allowed_per_code)) == 1
        self.allowed = self.allowed_per_code[0] if uniform else None  # one set check for all the scores
        unique = len(set(self.codes)) == len(self.codes)
        self.getter = itemgetter(*self.codes) if len(self.codes) >= 2 and unique else None
        self.weight_denominator = lcm(*(c.weight.denominator for c in criteria)) if criteria else 1
        self.weight_numerators = tuple(c.weight.numerator * (self.weight_denominator // c.weight.denominator)
                                       for c in criteria)
        self.minima = tuple((i, c.code, c.min_half_points) for i, c in enumerate(criteria)
                            if c.min_half_points is not None)
        self.unweighted = all(c.weight == 1 for c in criteria)  # the weighted total is the total
        self._top = max((c.max_half_points for c in criteria), default=0)
        self._means: dict[int, list[Fraction]] = {}

    def means(self, n: int) -> list[Fraction]:
        """s/n for every column sum s that n reviews can reach (shared Fractions, looked up by index)."""
        table = self._means.get(n)
        if table is None:
            table = self._means[n] = [Fraction(s, n) for s in range(self._top * n + 1)]
        return table


def _aggregate_fast(reviews: Sequence[Review], prepared: _Prepared,
                    rules: Rules) -> tuple[Aggregate, list[int], int] | None:
    """The common case, exactly as `aggregate` computes it but without a Python loop per score: every review
    scored every criterion (integers in range, no other codes), so each mean is its column sum over the number of
    counted reviews. None when the case does not hold (the general path then decides, errors included)."""
    getter = prepared.getter
    if getter is None or not reviews:
        return None
    width = prepared.width
    try:
        rows = [getter(r.scores) for r in reviews]
    except KeyError:
        return None
    for r in reviews:
        if len(r.scores) != width:  # all the codes are there, so a longer mapping holds an unknown one
            return None
    if prepared.allowed is not None:
        if not prepared.allowed.issuperset(chain.from_iterable(rows)):
            return None
    elif not all(map(frozenset.issuperset, prepared.allowed_per_code, zip(*rows))):
        return None
    counted = counted_reviews(reviews, prepared.criteria, rules)
    if counted is not reviews and len(counted) != len(reviews):
        rows = [getter(r.scores) for r in counted]
    n = len(rows)
    sums = list(map(sum, zip(*rows)))
    total = _mean(sum(sums), n)
    weighted = total if prepared.unweighted else _mean(sum(map(mul, prepared.weight_numerators, sums)),
                                                      prepared.weight_denominator * n)
    agg = Aggregate(per_criterion=dict(zip(prepared.codes, map(prepared.means(n).__getitem__, sums))),
                    total=total, weighted_total=weighted, counted_review_ids=tuple(r.review_id for r in counted))
    return agg, sums, n


def _fast_failures(sums: list[int], n: int, prepared: _Prepared, rules: Rules) -> tuple[str, ...]:
    """`pass_failures` on integers: a mean s/n is below m exactly when s < m·n."""
    failures = ["total_below_pass_mark"] if sum(sums) < rules.pass_mark_half_points * n else []
    failures.extend(f"minimum:{code}" for i, code, minimum in prepared.minima if sums[i] < minimum * n)
    return tuple(failures)


def aggregate(reviews: Sequence[Review], criteria: Sequence[Criterion], rules: Rules) -> Aggregate:
    _check_scores(reviews, criteria)
    counted = counted_reviews(reviews, criteria, rules)
    sums: dict[str, int] = {}
    counts: dict[str, int] = {}
    for r in counted:
        for code, score in r.scores.items():
            if score is not None:
                sums[code] = sums.get(code, 0) + score
                counts[code] = counts.get(code, 0) + 1
    per_criterion: dict[str, Fraction | None] = {}
    plain, weighted = [], []
    for c in criteria:
        if c.code not in sums:
            per_criterion[c.code] = None
            continue
        sum_, count = sums[c.code], counts[c.code]
        per_criterion[c.code] = _mean(sum_, count)
        plain.append((sum_, count))
        weighted.append((c.weight.numerator * sum_, c.weight.denominator * count))
    return Aggregate(
        per_criterion=per_criterion,
        total=_exact_sum(plain),
        weighted_total=_exact_sum(weighted),
        counted_review_ids=tuple(r.review_id for r in counted),
    )


def pass_failures(agg: Aggregate, criteria: Sequence[Criterion], rules: Rules) -> list[str]:
    failures = []
    if agg.total < rules.pass_mark_half_points:
        failures.append("total_below_pass_mark")
    for c in criteria:
        if c.min_half_points is None:
            continue
        mean = agg.per_criterion.get(c.code)
        if mean is None or mean < c.min_half_points:
            failures.append(f"minimum:{c.code}")
    return failures


def passes(agg: Aggregate, criteria: Sequence[Criterion], rules: Rules) -> bool:
    return not pass_failures(agg, criteria, rules)


# --- ranking and allocation --------------------------------------------------------------

def _as_integers(values: Sequence[Fraction | None]) -> list[int | None]:
    """The same values over one common denominator: order is exact, and comparing ints is
    many times faster than comparing Fractions when sorting thousands of entries."""
    common = lcm(*(v.denominator for v in values if v is not None))
    return [None if v is None else v.numerator * (common // v.denominator) for v in values]


def _sort_keys(items: Sequence[tuple[Entry, Aggregate]], rules: Rules) -> list[tuple]:
    """One key per item, a value per name in _key_names(); ascending key order is rank order."""
    columns = [[-v for v in _as_integers([agg.weighted_total for _, agg in items])]]
    for name in rules.tie_break_keys:
        if name == SUBMITTED_AT:
            columns.append([e.submitted_at for e, _ in items])
        else:
            means = _as_integers([agg.per_criterion[name] for _, agg in items])
            # A criterion nobody scored ranks below any score, zero included.
            columns.append([(1, 0) if m is None else (0, -m) for m in means])
    columns.append([e.application_id for e, _ in items])
    return list(zip(*columns)) if items else []


def _key_names(rules: Rules) -> tuple[str, ...]:
    return ("weighted_total", *rules.tie_break_keys, APPLICATION_ID)


def _tie_breaker(names: tuple[str, ...], above: tuple, below: tuple) -> str | None:
    """The first key that separates two neighbours whose weighted totals are equal."""
    if above[0] != below[0]:
        return None
    return next(name for name, a, b in zip(names[1:], above[1:], below[1:]) if a != b)


def _check_rank_inputs(entries: Sequence[Entry], criteria: Sequence[Criterion], rules: Rules) -> None:
    ids = [e.application_id for e in entries]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate application ids")
    codes = {c.code for c in criteria}
    unknown = [k for k in rules.tie_break_keys if k != SUBMITTED_AT and k not in codes]
    if unknown:
        raise ValueError(f"unknown tie-break keys {unknown}")


def rank(entries: Sequence[Entry], criteria: Sequence[Criterion], rules: Rules) -> list[Ranked]:
    """Passing entries in rank order (decision "reserve" until allocate()), then failing ones."""
    _check_rank_inputs(entries, criteria, rules)
    passing, failing = [], []
    prepared = _Prepared(tuple(criteria))
    for e in entries:
        fast = _aggregate_fast(e.reviews, prepared, rules)
        if fast is None:
            agg = aggregate(e.reviews, criteria, rules)
            failures = tuple(pass_failures(agg, criteria, rules))
        else:
            agg = fast[0]
            failures = _fast_failures(fast[1], fast[2], prepared, rules)
        if failures:
            failing.append(Ranked(e.application_id, None, agg, False, failures, None,
                                  REJECTED, e.amount_cents))
        else:
            passing.append((e, agg))
    ordered = sorted(zip(_sort_keys(passing, rules), passing), key=lambda item: item[0])
    names, result, above = _key_names(rules), [], None
    for position, (key, (e, agg)) in enumerate(ordered, start=1):
        broken_by = _tie_breaker(names, above, key) if above else None
        result.append(Ranked(e.application_id, position, agg, True, (), broken_by,
                             RESERVE, e.amount_cents))
        above = key
    return result + sorted(failing, key=lambda r: r.application_id)


def allocate(ranked: Sequence[Ranked], rules: Rules) -> list[Ranked]:
    """Decide funded/reserve/rejected; returns the entries in the order given."""
    remaining = rules.budget_cents
    stopped = False
    decisions: dict[int, str] = {}
    for r in sorted((r for r in ranked if r.passed), key=lambda r: r.rank):
        if not stopped and r.amount_cents <= remaining:
            decisions[r.application_id] = FUNDED
            remaining -= r.amount_cents
        else:
            decisions[r.application_id] = RESERVE
            stopped = rules.allocation_policy == "strict"
    # Ranked is frozen: an entry whose decision does not change is returned as it is.
    return [r if r.decision == decision else replace(r, decision=decision)
            for r in ranked for decision in (decisions.get(r.application_id, REJECTED),)]


def rank_and_allocate(entries: Sequence[Entry], criteria: Sequence[Criterion],
                      rules: Rules) -> list[Ranked]:
    return allocate(rank(entries, criteria, rules), rules)


# --- display -----------------------------------------------------------------------------

def display_points(half_points: Fraction | int) -> str:
    """Points (not half-points) with at most 2 decimals, ROUND_HALF_UP, '.' as separator."""
    points = Fraction(half_points) / 2
    num, den = points.numerator, points.denominator
    # Enough digits that the inexact quotient can never cross a rounding boundary.
    with localcontext() as ctx:
        ctx.prec = len(str(abs(num))) + len(str(den)) + 10
        rounded = (Decimal(num) / Decimal(den)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if rounded == 0:
        return "0"
    return str(rounded).rstrip("0").rstrip(".")
