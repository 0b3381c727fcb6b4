"""Properties of app.ranking over generated calls.

The oracles below recompute what they check from the reviews with plain Fraction arithmetic,
written from DESIGN.md section 3, not from the module's helpers.
"""
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.ranking import (Criterion, Entry, Review, Rules, display_points, is_divergent, rank,
                         rank_and_allocate)

SETTINGS = settings(max_examples=200, deadline=None)
T0 = datetime(2022, 4, 4, 12, 0, tzinfo=timezone.utc)


# Every strategy is built once, at import: building strategies inside each example costs
# Hypothesis more than running the example. Values are clamped to each criterion instead.
# Small scales, weight 1 half the time and budgets in whole 100,000s make equal totals,
# exact thresholds and exact budget fits common, which is where the rules are subtle.
CODES = ("c0", "c1", "c2", "c3")
SCORE = st.sampled_from([None, *range(7)])
WEIGHT = st.sampled_from([Fraction(0), Fraction(1, 3), Fraction(1, 2), Fraction(3, 2), Fraction(2)])
MINIMUM = st.sampled_from([None, None, None, 0, 1, 2, 3, 4])
CRITERION = st.tuples(st.integers(0, 6), MINIMUM, st.just(Fraction(1)) | WEIGHT)
RULES = st.tuples(
    st.sampled_from([0, 20, 30, 40, 50]),  # pass mark, as a percentage of the maximum total
    st.sampled_from([0, 10, 20, 25, 30, 50, 100]),  # divergence threshold
    st.sampled_from(["mean_all", "closest_two"]),
    st.lists(st.sampled_from([*CODES, "submitted_at"]), unique=True, min_size=1, max_size=3),
    st.sampled_from(["strict", "skip"]),
    st.integers(0, 20).map(lambda k: k * 100_000),  # budget
)
ENTRY = st.tuples(
    st.integers(1, 50),  # application id
    st.lists(st.tuples(*[SCORE] * len(CODES)), min_size=1, max_size=3),  # reviews
    st.integers(0, 2),  # seconds after T0
    st.sampled_from([timezone.utc, timezone(timedelta(hours=3))]),
    st.sampled_from([0, 100_000, 200_000, 300_000, 460_000, 700_000]),
)
ENTRIES = st.lists(ENTRY, unique_by=lambda e: e[0], min_size=2, max_size=8)


def clamp(value, maximum):
    return None if value is None else min(value, maximum)


@st.composite
def calls(draw):
    """(criteria, rules, entries) with few distinct values, so that ties are common."""
    drawn = draw(st.lists(CRITERION, min_size=1, max_size=len(CODES)))
    criteria = [Criterion(code, maximum, clamp(minimum, maximum), weight)
                for code, (maximum, minimum, weight) in zip(CODES, drawn)]
    codes = [c.code for c in criteria]
    pass_mark, threshold, divergence, keys, allocation, budget = draw(RULES)
    maximum_total = sum(c.max_half_points for c in criteria)
    rules = Rules(pass_mark_half_points=maximum_total * pass_mark // 100,
                  divergence_threshold_percent=threshold, divergence_policy=divergence,
                  tie_break_keys=tuple(k for k in keys if k in codes or k == "submitted_at"),
                  allocation_policy=allocation, budget_cents=budget)
    review_ids = iter(range(1, 10**6))
    entries = []
    for application_id, rows, seconds, zone, amount in draw(ENTRIES):
        reviews = tuple(Review(next(review_ids), {c.code: clamp(score, c.max_half_points)
                                                  for c, score in zip(criteria, row)})
                        for row in rows)
        submitted_at = (T0 + timedelta(seconds=seconds)).astimezone(zone)
        entries.append(Entry(application_id, amount, submitted_at, reviews))
    return criteria, rules, entries


# --- oracles ------------------------------------------------------------------------------

def total_of(review):
    return sum(s for s in review.scores.values() if s is not None)


def review_passes(review, criteria, rules):
    return total_of(review) >= rules.pass_mark_half_points and all(
        c.min_half_points is None
        or (review.scores.get(c.code) is not None and review.scores[c.code] >= c.min_half_points)
        for c in criteria)


def expected_divergent(reviews, criteria, rules):
    return len({review_passes(r, criteria, rules) for r in reviews}) > 1 or any(
        (max(total_of(a), total_of(b)) - min(total_of(a), total_of(b))) * 100
        > rules.divergence_threshold_percent * max(total_of(a), total_of(b))
        for a, b in combinations(reviews, 2))


def expected_counted(reviews, criteria, rules):
    divergent = expected_divergent(reviews, criteria, rules)
    if rules.divergence_policy == "mean_all" or len(reviews) < 3 or not divergent:
        return list(reviews)
    gaps = {(a.review_id, b.review_id): abs(total_of(a) - total_of(b))
            for a, b in combinations(reviews, 2)}
    closest = [pair for pair, gap in gaps.items() if gap == min(gaps.values())]
    return list(reviews) if len(closest) > 1 else [r for r in reviews if r.review_id in closest[0]]


def expected_means(reviews, criteria):
    means = {}
    for c in criteria:
        scores = [r.scores[c.code] for r in reviews if r.scores.get(c.code) is not None]
        means[c.code] = Fraction(sum(scores), len(scores)) if scores else None
    return means


def expected_pass(means, criteria, rules):
    total = sum(m for m in means.values() if m is not None)
    return total >= rules.pass_mark_half_points and all(
        c.min_half_points is None or (means[c.code] is not None and means[c.code] >= c.min_half_points)
        for c in criteria)


def order_key(ranked, entry, rules):
    """Ascending order = rank order, straight from the design's wording."""
    means = ranked.aggregate.per_criterion
    key = [-ranked.aggregate.weighted_total]
    for name in rules.tie_break_keys:
        if name == "submitted_at":
            key.append(entry.submitted_at)
        else:  # higher mean first; an unscored criterion after every score
            key.append((0, -means[name]) if means[name] is not None else (1, 0))
    return key + [entry.application_id]


# --- properties ---------------------------------------------------------------------------

@SETTINGS
@given(calls())
def test_divergence_aggregate_and_pass_follow_the_rules(call):
    criteria, rules, entries = call
    for r in rank(entries, criteria, rules):
        entry = next(e for e in entries if e.application_id == r.application_id)
        assert is_divergent(entry.reviews, criteria, rules) == expected_divergent(entry.reviews, criteria, rules)
        counted = expected_counted(entry.reviews, criteria, rules)
        means = expected_means(counted, criteria)
        assert r.aggregate.counted_review_ids == tuple(x.review_id for x in counted)
        assert r.aggregate.per_criterion == means
        assert r.aggregate.total == sum(m for m in means.values() if m is not None)
        assert r.aggregate.weighted_total == sum(c.weight * means[c.code] for c in criteria
                                                 if means[c.code] is not None)
        assert r.passed == expected_pass(means, criteria, rules) == (not r.failures)


@SETTINGS
@given(calls())
def test_ranking_is_a_strict_total_order_consistent_with_the_keys(call):
    criteria, rules, entries = call
    result = rank(entries, criteria, rules)
    passing = [r for r in result if r.passed]
    assert [r.rank for r in passing] == list(range(1, len(passing) + 1))
    assert all(r.rank is None for r in result if not r.passed)
    assert [r.application_id for r in result if not r.passed] == sorted(
        r.application_id for r in result if not r.passed)
    entry_of = {e.application_id: e for e in entries}
    names = ["weighted_total", *rules.tie_break_keys, "application_id"]
    for above, below in zip(passing, passing[1:]):
        key_above = order_key(above, entry_of[above.application_id], rules)
        key_below = order_key(below, entry_of[below.application_id], rules)
        assert key_above < key_below
        first_difference = next(n for n, a, b in zip(names, key_above, key_below) if a != b)
        expected = None if first_difference == "weighted_total" else first_difference
        assert below.tie_broken_by == expected
    if passing:
        assert passing[0].tie_broken_by is None


@SETTINGS
@given(calls().flatmap(lambda call: st.tuples(st.just(call), st.permutations(call[2]))))
def test_ranking_does_not_depend_on_input_order(call_and_shuffled):
    (criteria, rules, entries), shuffled = call_and_shuffled
    assert rank_and_allocate(shuffled, criteria, rules) == rank_and_allocate(entries, criteria, rules)


@SETTINGS
@given(calls())
def test_allocation_never_exceeds_the_budget_and_follows_the_policy(call):
    criteria, rules, entries = call
    result = rank_and_allocate(entries, criteria, rules)
    funded = [r for r in result if r.decision == "funded"]
    assert sum(r.amount_cents for r in funded) <= rules.budget_cents
    assert all(r.decision in ("funded", "reserve") if r.passed else r.decision == "rejected"
               for r in result)
    remaining = rules.budget_cents
    for r in sorted((r for r in result if r.passed), key=lambda r: r.rank):
        if r.decision == "funded":
            remaining -= r.amount_cents
        else:  # nobody is left in reserve who would have fitted when their turn came
            assert r.amount_cents > remaining or rules.allocation_policy == "strict"
    reserve = [r for r in result if r.decision == "reserve"]
    if rules.allocation_policy == "strict" and reserve:
        first_reserve = min(reserve, key=lambda r: r.rank)
        assert all(f.rank < first_reserve.rank for f in funded)
        spent = sum(r.amount_cents for r in funded)
        assert first_reserve.amount_cents > rules.budget_cents - spent


@SETTINGS
@given(calls(), st.tuples(*[WEIGHT] * len(CODES)))
def test_weights_never_change_pass_or_fail(call, new_weights):
    criteria, rules, entries = call
    reweighted = [Criterion(c.code, c.max_half_points, c.min_half_points, w)
                  for c, w in zip(criteria, new_weights)]
    before = {(r.application_id, r.passed, r.failures) for r in rank(entries, criteria, rules)}
    after = {(r.application_id, r.passed, r.failures) for r in rank(entries, reweighted, rules)}
    assert before == after


@SETTINGS
@given(st.integers(0, 20_000), st.sampled_from([1, 2, 3, 4, 6, 8, 40, 100, 200, 400, 997]))
def test_display_points_rounds_half_up_to_hundredths(numerator, denominator):
    half_points = Fraction(numerator, denominator)
    hundredths = int(half_points * 50 + Fraction(1, 2))  # points x 100, half up (non-negative)
    assert Fraction(display_points(half_points)) == Fraction(hundredths, 100)
