"""Properties of app.ranking over generated calls.

The oracles below recompute what they check from the reviews with plain Fraction arithmetic,
written from DESIGN.md section 3, not from the module's helpers.
"""
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.ranking import Criterion, Entry, Review, Rules, display_points, rank, rank_and_allocate

SETTINGS = settings(max_examples=200, deadline=None)
T0 = datetime(2022, 4, 4, 12, 0, tzinfo=timezone.utc)


# Strategies built once: building them inside every draw costs more than the test itself.
SCORES = [st.sampled_from([None, *range(maximum + 1)]) for maximum in range(11)]
MINIMUMS = [st.none() | st.integers(0, maximum) for maximum in range(11)]
WEIGHTS = st.fractions(min_value=0, max_value=3, max_denominator=4)
AMOUNTS = st.sampled_from([0, 100_000, 300_000, 460_000, 700_000])
SECONDS = st.integers(0, 2)
ZONES = st.sampled_from([timezone.utc, timezone(timedelta(hours=3))])


@st.composite
def criteria_lists(draw):
    criteria = []
    for i in range(draw(st.integers(1, 4))):
        maximum = draw(st.integers(0, 10))
        criteria.append(Criterion(f"c{i}", maximum, draw(MINIMUMS[maximum]), draw(WEIGHTS)))
    return criteria


@st.composite
def calls(draw, criteria=criteria_lists()):
    """(criteria, rules, entries) with few distinct values, so that ties are common."""
    criteria = draw(criteria)
    codes = [c.code for c in criteria]
    rules = Rules(
        pass_mark_half_points=draw(st.integers(0, sum(c.max_half_points for c in criteria))),
        divergence_threshold_percent=draw(st.integers(0, 100)),
        divergence_policy=draw(st.sampled_from(["mean_all", "closest_two"])),
        tie_break_keys=tuple(draw(st.lists(st.sampled_from(codes + ["submitted_at"]), unique=True, max_size=3))),
        allocation_policy=draw(st.sampled_from(["strict", "skip"])),
        budget_cents=draw(st.integers(0, 2_000_000)),
    )
    ids = draw(st.lists(st.integers(1, 50), unique=True, max_size=8))
    one_review = st.tuples(*(SCORES[c.max_half_points] for c in criteria))
    score_rows = draw(st.lists(st.lists(one_review, min_size=1, max_size=3),
                               min_size=len(ids), max_size=len(ids)))
    review_ids = iter(range(1, 10**6))
    entries = []
    for application_id, rows in zip(ids, score_rows):
        reviews = tuple(Review(next(review_ids), dict(zip(codes, row))) for row in rows)
        submitted_at = (T0 + timedelta(seconds=draw(SECONDS))).astimezone(draw(ZONES))
        entries.append(Entry(application_id, draw(AMOUNTS), submitted_at, reviews))
    return criteria, rules, entries


# --- oracles ------------------------------------------------------------------------------

def total_of(review):
    return sum(s for s in review.scores.values() if s is not None)


def review_passes(review, criteria, rules):
    return total_of(review) >= rules.pass_mark_half_points and all(
        c.min_half_points is None
        or (review.scores.get(c.code) is not None and review.scores[c.code] >= c.min_half_points)
        for c in criteria)


def expected_counted(reviews, criteria, rules):
    divergent = len({review_passes(r, criteria, rules) for r in reviews}) > 1 or any(
        (max(total_of(a), total_of(b)) - min(total_of(a), total_of(b))) * 100
        > rules.divergence_threshold_percent * max(total_of(a), total_of(b))
        for a, b in combinations(reviews, 2))
    if rules.divergence_policy == "mean_all" or len(reviews) < 3 or not divergent:
        return list(reviews)
    gaps = {(a.review_id, b.review_id): abs(total_of(a) - total_of(b)) for a, b in combinations(reviews, 2)}
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
def test_aggregate_and_pass_follow_the_rules(call):
    criteria, rules, entries = call
    for r in rank(entries, criteria, rules):
        entry = next(e for e in entries if e.application_id == r.application_id)
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
        key_above, key_below = order_key(above, entry_of[above.application_id], rules), \
            order_key(below, entry_of[below.application_id], rules)
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
@given(calls(), st.lists(st.fractions(min_value=0, max_value=5, max_denominator=6), min_size=4, max_size=4))
def test_weights_never_change_pass_or_fail(call, new_weights):
    criteria, rules, entries = call
    reweighted = [Criterion(c.code, c.max_half_points, c.min_half_points, w)
                  for c, w in zip(criteria, new_weights)]
    before = {(r.application_id, r.passed, r.failures) for r in rank(entries, criteria, rules)}
    after = {(r.application_id, r.passed, r.failures) for r in rank(entries, reweighted, rules)}
    assert before == after


@SETTINGS
@given(st.fractions(min_value=0, max_value=200, max_denominator=1000))
def test_display_points_rounds_half_up_to_hundredths(half_points):
    hundredths = int(half_points * 50 + Fraction(1, 2))  # points x 100, half up (non-negative)
    assert Fraction(display_points(half_points)) == Fraction(hundredths, 100)
