"""`rank` aggregates entries whose reviews scored every criterion without a Python loop per score (the 100,000-
application benchmark of DESIGN 6.3). Here every generated review scores every criterion, so that path is taken;
its means, totals, counted reviews and failure codes must be those of the design, recomputed by the oracles of
test_ranking_properties, and the same as the one-entry functions `aggregate` and `pass_failures` give."""
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ranking import Criterion, Entry, Review, Rules, aggregate, pass_failures, rank
from tests.unit.test_ranking_properties import CODES, T0, WEIGHT, expected_counted, expected_means

FULL_SCORE = st.integers(0, 6)
CRITERION = st.tuples(st.integers(0, 6), st.sampled_from([None, None, 0, 1, 2, 3, 4]), WEIGHT)


@st.composite
def full_calls(draw):
    drawn = draw(st.lists(CRITERION, min_size=2, max_size=len(CODES)))
    criteria = [Criterion(code, maximum, None if minimum is None else min(minimum, maximum), weight)
                for code, (maximum, minimum, weight) in zip(CODES, drawn)]
    maximum_total = sum(c.max_half_points for c in criteria)
    rules = Rules(pass_mark_half_points=maximum_total * draw(st.sampled_from([0, 30, 50])) // 100,
                  divergence_threshold_percent=draw(st.sampled_from([0, 20, 50])),
                  divergence_policy=draw(st.sampled_from(["mean_all", "closest_two"])))
    entries = []
    for application_id in range(1, draw(st.integers(1, 6)) + 1):
        rows = draw(st.lists(st.tuples(*[FULL_SCORE] * len(criteria)), min_size=1, max_size=4))
        reviews = tuple(Review(application_id * 10 + k, {c.code: min(s, c.max_half_points)
                                                         for c, s in zip(criteria, row)})
                        for k, row in enumerate(rows))
        entries.append(Entry(application_id, 100_000, T0, reviews))
    return criteria, rules, entries


def expected_failures(means, criteria, rules):
    failures = ["total_below_pass_mark"] if sum(means.values()) < rules.pass_mark_half_points else []
    return tuple(failures + [f"minimum:{c.code}" for c in criteria
                             if c.min_half_points is not None and means[c.code] < c.min_half_points])


@settings(max_examples=300, deadline=None)
@given(full_calls())
def test_fully_scored_entries_rank_as_the_design_says(call):
    criteria, rules, entries = call
    for r in rank(entries, criteria, rules):
        entry = next(e for e in entries if e.application_id == r.application_id)
        counted = expected_counted(entry.reviews, criteria, rules)
        means = expected_means(counted, criteria)
        assert r.aggregate.counted_review_ids == tuple(x.review_id for x in counted)
        assert r.aggregate.per_criterion == means
        assert r.aggregate.total == sum(means.values())
        assert r.aggregate.weighted_total == sum(c.weight * means[c.code] for c in criteria)
        assert r.failures == expected_failures(means, criteria, rules)
        general = aggregate(entry.reviews, criteria, rules)
        assert r.aggregate == general
        assert list(r.failures) == pass_failures(general, criteria, rules)


def test_a_score_out_of_range_is_still_refused():
    criteria = [Criterion("a", 4), Criterion("b", 4)]
    entry = Entry(1, 0, T0, (Review(1, {"a": 5, "b": 1}),))
    try:
        rank([entry], criteria, Rules(pass_mark_half_points=0))
    except ValueError as error:
        assert "a score 5 outside 0..4" in str(error)
    else:
        raise AssertionError("a score above the maximum was accepted")


def test_an_unknown_criterion_is_still_refused():
    criteria = [Criterion("a", 4), Criterion("b", 4)]
    entry = Entry(1, 0, T0, (Review(1, {"a": 1, "b": 1, "c": 1}),))
    try:
        rank([entry], criteria, Rules(pass_mark_half_points=0))
    except ValueError as error:
        assert "unknown criterion 'c'" in str(error)
    else:
        raise AssertionError("a score of an unknown criterion was accepted")
