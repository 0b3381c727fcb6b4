"""Worked cases for app.ranking on a PuMPuRS-like call.

Ten criteria of at most 5 points (10 half-points) each, pass mark 30 points (60 half-points),
minimum 3 points (6 half-points) on 2.2, 2.4.1 and 2.4.3. Every expected value below is
worked out by hand in the comment or the test name; all numbers are half-points.
"""
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest

from app.ranking import (
    Criterion,
    Entry,
    Review,
    Rules,
    aggregate,
    allocate,
    counted_reviews,
    display_points,
    is_divergent,
    pass_failures,
    passes,
    rank,
    rank_and_allocate,
    review_passes,
    review_total,
)

CODES = ("1.1", "1.2", "2.1", "2.2", "2.3", "2.4.1", "2.4.2", "2.4.3", "3.1", "3.2")
MINIMUMS = {"2.2": 6, "2.4.1": 6, "2.4.3": 6}
CRITERIA = tuple(Criterion(code, 10, MINIMUMS.get(code)) for code in CODES)
T0 = datetime(2022, 4, 4, 12, 0, tzinfo=timezone.utc)
LUMP_SUM = 460_000

_review_ids = iter(range(1, 10**6))


def review(default, changes=None, review_id=None):
    """Every criterion scored `default`, except those in `changes`."""
    scores = {code: default for code in CODES}
    scores.update(changes or {})
    return Review(review_id if review_id is not None else next(_review_ids), scores)


def rules(**overrides):
    values = dict(pass_mark_half_points=60, tie_break_keys=("2.2", "2.4.3", "submitted_at"))
    values.update(overrides)
    return Rules(**values)


def entry(application_id, *reviews, amount=LUMP_SUM, submitted_at=T0):
    return Entry(application_id, amount, submitted_at, tuple(reviews))


def by_id(results):
    return {r.application_id: r for r in results}


# --- "not applicable" is missing, never zero ---------------------------------------------

def test_review_total_skips_not_applicable():
    assert review_total(review(7, {"1.1": None})) == 63  # 9 x 7


def test_not_applicable_is_left_out_of_the_mean_not_counted_as_zero():
    agg = aggregate([review(7, {"1.1": None}), review(7, {"1.1": 4})], CRITERIA, rules())
    assert agg.per_criterion["1.1"] == 4  # only one evaluator scored it; zero would give 2
    assert agg.total == 9 * 7 + 4


def test_criterion_nobody_scored_has_no_mean_and_adds_nothing():
    agg = aggregate([review(7, {"1.1": None}), review(7, {"1.1": None})], CRITERIA, rules())
    assert agg.per_criterion["1.1"] is None
    assert agg.total == 63
    assert passes(agg, CRITERIA, rules())


def test_not_applicable_on_a_criterion_with_a_minimum_fails_that_minimum():
    reviews = [review(10, {"2.2": None}), review(10, {"2.2": None})]
    agg = aggregate(reviews, CRITERIA, rules())
    assert agg.total == 90
    assert pass_failures(agg, CRITERIA, rules()) == ["minimum:2.2"]
    assert not review_passes(reviews[0], CRITERIA, rules())


# --- pass ---------------------------------------------------------------------------------

def test_exactly_at_the_pass_mark_and_at_every_minimum_passes():
    reviews = [review(6), review(6)]  # 10 x 6 = 60, every minimum exactly 6
    agg = aggregate(reviews, CRITERIA, rules())
    assert agg.total == 60
    assert pass_failures(agg, CRITERIA, rules()) == []
    assert passes(agg, CRITERIA, rules())
    assert review_passes(reviews[0], CRITERIA, rules())


def test_half_a_half_point_below_the_pass_mark_fails():
    agg = aggregate([review(6), review(6, {"1.1": 5})], CRITERIA, rules())  # (60 + 59) / 2
    assert agg.total == Fraction(119, 2)
    assert pass_failures(agg, CRITERIA, rules()) == ["total_below_pass_mark"]


def test_a_criterion_minimum_fails_a_high_total():
    agg = aggregate([review(10, {"2.2": 5}), review(10, {"2.2": 6})], CRITERIA, rules())
    assert agg.per_criterion["2.2"] == Fraction(11, 2)  # 2.75 points < 3
    assert agg.total == 90 + Fraction(11, 2)
    assert pass_failures(agg, CRITERIA, rules()) == ["minimum:2.2"]


def test_a_minimum_met_exactly_by_the_mean_passes():
    agg = aggregate([review(8, {"2.2": 5}), review(8, {"2.2": 7})], CRITERIA, rules())
    assert agg.per_criterion["2.2"] == 6
    assert passes(agg, CRITERIA, rules())


def test_every_failure_is_reported_total_first_then_criteria_in_order():
    agg = aggregate([review(5, {"2.4.3": 4, "2.2": 2})], CRITERIA, rules())  # 8 x 5 + 4 + 2 = 46
    assert pass_failures(agg, CRITERIA, rules()) == [
        "total_below_pass_mark", "minimum:2.2", "minimum:2.4.1", "minimum:2.4.3"]


def test_weights_change_the_ranking_but_never_passing():
    weighted = tuple(Criterion(c.code, 10, c.min_half_points, Fraction(2) if c.code == "3.2" else 1)
                     for c in CRITERIA)
    entries = [
        entry(1, review(6, {"3.2": 10, "1.1": 1})),  # 59: weighted 69, still fails
        entry(2, review(7, {"3.2": 10, "1.1": 4}), submitted_at=T0 + timedelta(hours=1)),  # 70
        entry(3, review(7), submitted_at=T0),  # 70
    ]
    plain = rank(entries, CRITERIA, rules())
    assert [(r.application_id, r.tie_broken_by) for r in plain] == [
        (3, None), (2, "submitted_at"), (1, None)]
    heavy = rank(entries, weighted, rules())
    assert by_id(heavy)[2].aggregate.weighted_total == 80  # 70 + 10 once more
    assert by_id(heavy)[3].aggregate.weighted_total == 77
    assert [(r.application_id, r.tie_broken_by) for r in heavy] == [(2, None), (3, None), (1, None)]
    assert by_id(heavy)[1].aggregate.weighted_total == 69
    assert by_id(heavy)[1].failures == ("total_below_pass_mark",)
    assert by_id(heavy)[1].rank is None


# --- divergence ---------------------------------------------------------------------------

def test_difference_of_exactly_the_threshold_is_not_divergent():
    assert not is_divergent([review(10), review(7)], CRITERIA, rules())  # 30 of 100 = 30 %


def test_difference_above_the_threshold_is_divergent():
    # 100 and 69 both pass; 31 > 30 % of 100
    assert is_divergent([review(10), review(7, {"1.1": 6})], CRITERIA, rules())


def test_threshold_is_per_call():
    reviews = [review(10), review(7, {"1.1": 6})]
    assert not is_divergent(reviews, CRITERIA, rules(divergence_threshold_percent=40))


def test_any_pair_counts_not_only_neighbours():
    # 100-80 and 80-69 are within 30 %, 100-69 is not
    assert not is_divergent([review(8), review(7, {"1.1": 6})], CRITERIA, rules())
    assert is_divergent([review(10), review(8), review(7, {"1.1": 6})], CRITERIA, rules())


def test_divergence_among_failing_reviews_uses_the_threshold_too():
    assert is_divergent([review(4), review(2)], CRITERIA, rules())  # 20 > 30 % of 40
    assert not is_divergent([review(5), review(4)], CRITERIA, rules())  # 10 <= 30 % of 50


def test_pass_fail_disagreement_on_the_pass_mark_is_divergent():
    # 62 and 58 are well within 30 %, but one passes and one fails
    assert is_divergent([review(6, {"1.1": 8}), review(6, {"1.1": 4})], CRITERIA, rules())


def test_pass_fail_disagreement_on_a_minimum_is_divergent():
    same_total = [review(7), review(7, {"2.2": 5, "1.1": 9})]  # both 70; the second fails 2.2
    assert review_total(same_total[0]) == review_total(same_total[1]) == 70
    assert is_divergent(same_total, CRITERIA, rules())


# --- closest_two vs mean_all --------------------------------------------------------------

def three_divergent_reviews():
    low = review(7, {"1.1": 6, "1.2": 6, "2.1": 6, "3.2": 6}, review_id=3)  # 66
    return [review(10, review_id=1), review(7, review_id=2), low]  # 100, 70, 66


def test_closest_two_counts_only_the_closest_pair():
    agg = aggregate(three_divergent_reviews(), CRITERIA, rules(divergence_policy="closest_two"))
    assert agg.counted_review_ids == (2, 3)  # 70 and 66 differ by 4; 100 is 30 and 34 away
    assert agg.total == 68
    assert agg.per_criterion["1.1"] == Fraction(13, 2)
    assert agg.per_criterion["2.2"] == 7


def test_mean_all_counts_every_review():
    agg = aggregate(three_divergent_reviews(), CRITERIA, rules(divergence_policy="mean_all"))
    assert agg.counted_review_ids == (1, 2, 3)
    assert agg.total == Fraction(236, 3)
    assert agg.per_criterion["1.1"] == Fraction(23, 3)


def test_equally_close_pairs_give_the_mean_of_all():
    reviews = [review(10, review_id=1), review(8, review_id=2), review(6, review_id=3)]
    assert is_divergent(reviews, CRITERIA, rules())  # 100 vs 60
    agg = aggregate(reviews, CRITERIA, rules(divergence_policy="closest_two"))
    assert agg.counted_review_ids == (1, 2, 3)  # 100-80 and 80-60 are both 20 apart
    assert agg.total == 80


def test_closest_two_applies_only_to_divergent_applications():
    reviews = [review(7), review(7), review(6)]  # all pass, 10 <= 30 % of 70
    selected = counted_reviews(reviews, CRITERIA, rules(divergence_policy="closest_two"))
    assert selected == tuple(reviews)
    assert aggregate(reviews, CRITERIA, rules(divergence_policy="closest_two")).total == Fraction(200, 3)


def test_closest_two_needs_a_third_review():
    reviews = [review(10), review(6)]
    assert is_divergent(reviews, CRITERIA, rules())
    assert aggregate(reviews, CRITERIA, rules(divergence_policy="closest_two")).total == 80


# --- ranking and ties ---------------------------------------------------------------------

def tied_at_70(application_id, changes, submitted_at=T0):
    reviews = (review(7, changes), review(7, changes))
    assert review_total(reviews[0]) == 70
    return entry(application_id, *reviews, submitted_at=submitted_at)


def test_ties_are_broken_by_each_key_in_turn_and_the_key_is_recorded():
    later = T0 + timedelta(seconds=1)
    entries = [
        entry(1, review(7, {"1.1": 8})),  # 71: first, no tie
        tied_at_70(10, {"2.2": 10, "2.4.3": 6, "1.1": 5}),
        tied_at_70(11, {"2.2": 9, "2.4.3": 10, "1.1": 2}),
        tied_at_70(12, {"2.2": 9, "2.4.3": 9, "1.1": 3}),
        tied_at_70(13, {"2.2": 9, "2.4.3": 9, "1.1": 3}, submitted_at=later),
        tied_at_70(14, {"2.2": 9, "2.4.3": 9, "1.1": 3}, submitted_at=later),
        tied_at_70(15, {"2.2": 9, "2.4.3": 9, "1.1": 3}, submitted_at=later),
    ]
    result = rank(list(reversed(entries)), CRITERIA, rules())
    assert [(r.rank, r.application_id, r.tie_broken_by) for r in result] == [
        (1, 1, None),
        (2, 10, None),  # 70 < 71: not a tie
        (3, 11, "2.2"),  # 9 < 10 on 2.2, although 2.4.3 is higher
        (4, 12, "2.4.3"),
        (5, 13, "submitted_at"),
        (6, 14, "application_id"),
        (7, 15, "application_id"),
    ]


def test_the_order_of_tie_break_keys_is_the_calls():
    entries = [tied_at_70(10, {"2.2": 10, "2.4.3": 6, "1.1": 5}),
               tied_at_70(11, {"2.2": 9, "2.4.3": 10, "1.1": 2})]
    result = rank(entries, CRITERIA, rules(tie_break_keys=("2.4.3", "2.2")))
    assert [(r.application_id, r.tie_broken_by) for r in result] == [(11, None), (10, "2.4.3")]


def test_earlier_submission_wins_whatever_the_time_zone():
    riga_summer = timezone(timedelta(hours=3))
    entries = [tied_at_70(20, {}, submitted_at=datetime(2022, 4, 4, 14, 59, tzinfo=riga_summer)),  # 11:59 UTC
               tied_at_70(21, {}, submitted_at=T0)]  # 12:00 UTC
    result = rank(entries, CRITERIA, rules(tie_break_keys=("submitted_at",)))
    assert [(r.application_id, r.tie_broken_by) for r in result] == [(20, None), (21, "submitted_at")]


def test_means_are_compared_exactly():
    a = entry(1, review(7), review(7, {"1.1": 8}))  # (70 + 71) / 2 = 141/2, 2.2 mean 7
    b = entry(2, review(7, {"2.2": 8, "1.1": 5}), review(7, {"1.1": 9}))  # (69 + 72) / 2, 2.2 mean 15/2
    c = entry(3, review(7), review(7), review(7, {"1.1": 8}))  # 211/3, just below 141/2
    result = rank([a, b, c], CRITERIA, rules())
    assert [(r.application_id, r.tie_broken_by) for r in result] == [(2, None), (1, "2.2"), (3, None)]
    assert result[0].aggregate.weighted_total == result[1].aggregate.weighted_total == Fraction(141, 2)


def test_failing_entries_follow_in_application_id_order_rejected_with_reasons():
    entries = [entry(9, review(5)), entry(4, review(7)), entry(3, review(10, {"2.4.1": 4}))]
    result = rank_and_allocate(entries, CRITERIA, rules(budget_cents=10 * LUMP_SUM))
    assert [(r.application_id, r.rank, r.decision) for r in result] == [
        (4, 1, "funded"), (3, None, "rejected"), (9, None, "rejected")]
    assert result[1].failures == ("minimum:2.4.1",)
    assert result[2].failures == ("total_below_pass_mark", "minimum:2.2", "minimum:2.4.1", "minimum:2.4.3")
    assert not result[2].passed and result[0].passed


# --- allocation ---------------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["strict", "skip"])
def test_budget_used_exactly(policy):
    entries = [entry(i, review(score)) for i, score in enumerate([8, 10, 7, 9], start=1)]
    result = rank_and_allocate(entries, CRITERIA, rules(budget_cents=1_380_000, allocation_policy=policy))
    assert [(r.rank, r.application_id, r.decision) for r in result] == [
        (1, 2, "funded"), (2, 4, "funded"), (3, 1, "funded"), (4, 3, "reserve")]


def entries_with_differing_amounts():
    amounts_by_total = {9: 400_000, 8: 700_000, 7: 300_000, 6: 300_000}
    entries = [entry(i, review(score), amount=amounts_by_total[score])
               for i, score in enumerate([9, 8, 7, 6], start=1)]
    entries.append(entry(5, review(6, {"1.1": 7, "1.2": 7, "2.1": 7, "2.3": 7, "3.1": 7, "3.2": 6}),
                         amount=100_000))  # 65: between the 70 and the 60
    entries.append(entry(6, review(5), amount=1))  # fails
    return entries


def test_strict_stops_at_the_first_that_does_not_fit():
    result = rank_and_allocate(entries_with_differing_amounts(), CRITERIA,
                               rules(budget_cents=1_000_000, allocation_policy="strict"))
    # 400k funded, 600k left; 700k does not fit, so every later one waits
    assert [(r.application_id, r.decision) for r in result] == [
        (1, "funded"), (2, "reserve"), (3, "reserve"), (5, "reserve"), (4, "reserve"), (6, "rejected")]


def test_skip_funds_later_ones_that_fit():
    result = rank_and_allocate(entries_with_differing_amounts(), CRITERIA,
                               rules(budget_cents=1_000_000, allocation_policy="skip"))
    # 400k (600k left); 700k skipped; 300k (300k left); 100k (200k left); 300k does not fit
    assert [(r.application_id, r.decision) for r in result] == [
        (1, "funded"), (2, "reserve"), (3, "funded"), (5, "funded"), (4, "reserve"), (6, "rejected")]


def test_allocate_keeps_the_given_order_and_only_sets_decisions():
    ranked = rank(entries_with_differing_amounts(), CRITERIA, rules(budget_cents=1_000_000))
    allocated = allocate(list(reversed(ranked)), rules(budget_cents=1_000_000))
    assert [r.application_id for r in allocated] == [r.application_id for r in reversed(ranked)]
    assert [r.rank for r in allocated] == [r.rank for r in reversed(ranked)]


def test_nothing_to_rank():
    assert rank_and_allocate([], CRITERIA, rules(budget_cents=LUMP_SUM)) == []


def test_no_budget_funds_nothing():
    result = rank_and_allocate([entry(1, review(8))], CRITERIA, rules(budget_cents=0))
    assert result[0].decision == "reserve"


# --- display and validation ---------------------------------------------------------------

@pytest.mark.parametrize("half_points, shown", [
    (7, "3.5"),
    (Fraction(61, 3), "10.17"),  # 10.1666... points
    (10, "5"),
    (0, "0"),
    (Fraction(1, 4), "0.13"),  # 0.125 points: half up, not half even
    (Fraction(136, 3), "22.67"),
    (Fraction(1, 100), "0.01"),  # 0.005 points
    (Fraction(1, 101), "0"),  # just under 0.005 points
])
def test_display_points(half_points, shown):
    assert display_points(half_points) == shown


@pytest.mark.parametrize("make", [
    lambda: rank([entry(1, review(7)), entry(1, review(8))], CRITERIA, rules()),
    lambda: rank([entry(1, review(7))], CRITERIA, rules(tie_break_keys=("9.9",))),
    lambda: aggregate([review(7, {"1.1": 11})], CRITERIA, rules()),
    lambda: aggregate([review(7, {"4.4": 1})], CRITERIA, rules()),
    lambda: entry(1, review(7), submitted_at=datetime(2022, 4, 4, 12, 0)),
    lambda: rules(allocation_policy="greedy"),
    lambda: rules(divergence_policy="median"),
    lambda: Criterion("1.1", 10, 12),
    lambda: Criterion("1.1", 10, weight=0.5),
], ids=["duplicate id", "unknown tie key", "score above maximum", "unknown criterion",
        "naive datetime", "allocation policy", "divergence policy", "minimum above maximum",
        "float weight"])
def test_invalid_input_is_refused(make):
    with pytest.raises(ValueError):
        make()
