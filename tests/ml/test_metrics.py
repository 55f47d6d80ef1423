import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ml import metrics

# A small table with ties, used by several tests.
#   row   0    1    2    3    4    5
#   y     1    0    1    0    0    1
#   s    0.9  0.8  0.8  0.3  0.3  0.1
# Stable ranking by descending score: rows 0, 1, 2, 3, 4, 5 (row 1 before row 2: input order).
Y = [1, 0, 1, 0, 0, 1]
S = [0.9, 0.8, 0.8, 0.3, 0.3, 0.1]


def test_roc_auc_counts_ties_as_half():
    # Positive/negative pairs (9): 0.9 beats 0.8, 0.3, 0.3 -> 3; 0.8 ties 0.8 (0.5) and beats
    # 0.3, 0.3 -> 2.5; 0.1 beats none -> 0. AUC = 5.5 / 9.
    assert metrics.roc_auc(Y, S) == pytest.approx(5.5 / 9)


def test_pr_auc_is_average_precision_over_distinct_thresholds():
    # threshold 0.9: P 1/1, R 1/3; 0.8: P 2/3, R 2/3; 0.3: P 2/5, R 2/3; 0.1: P 3/6, R 3/3
    # AP = 1/3 * 1 + 1/3 * 2/3 + 0 * 2/5 + 1/3 * 1/2 = 13/18
    assert metrics.pr_auc(Y, S) == pytest.approx(13 / 18)


def test_brier():
    # (0.1² + 0.8² + 0.2² + 0.3² + 0.3² + 0.9²) / 6 = (0.01+0.64+0.04+0.09+0.09+0.81) / 6
    assert metrics.brier(Y, S) == pytest.approx(1.68 / 6)


def test_precision_recall_lift_at_half():
    # ceil(0.5 * 6) = 3 rows: 0, 1, 2 -> y 1, 0, 1. 3 positives in all, base rate 1/2.
    assert metrics.precision_at_k(Y, S, 0.5) == pytest.approx(2 / 3)
    assert metrics.recall_at_k(Y, S, 0.5) == pytest.approx(2 / 3)
    assert metrics.lift_at_k(Y, S, 0.5) == pytest.approx((2 / 3) / 0.5)


def test_tie_at_the_cut_is_broken_by_input_order():
    # ceil(6 / 3) = 2 rows. Rows 1 (y=0) and 2 (y=1) tie at 0.8; row 1 comes first.
    assert metrics.precision_at_k(Y, S, 1 / 3) == 0.5
    # given the same rows with the tied pair swapped, the positive comes first
    swapped_y = [1, 1, 0, 0, 0, 1]
    assert metrics.precision_at_k(swapped_y, S, 1 / 3) == 1.0


def test_top_k_count_ignores_floating_point_noise():
    # 0.1 * 30 is 3.0000000000000004 in floating point; ceil would give 4 without rounding.
    assert metrics.top_k_count(30, 0.1) == 3
    assert metrics.top_k_count(6, 0.1) == 1  # ceil(0.6)
    assert metrics.top_k_count(5, 0.01) == 1  # at least one row


def test_top_k_rejects_fractions_outside_zero_one():
    with pytest.raises(ValueError, match="k must be a fraction"):
        metrics.precision_at_k(Y, S, 1.5)


def test_expected_calibration_error_equal_width_bins():
    # bins: 0.9 -> [0.9,1]: |0.9 - 1| = 0.1 (1 row); 0.8, 0.8 -> [0.8,0.9): |0.8 - 0.5| = 0.3
    # (2 rows); 0.3, 0.3 -> [0.3,0.4): |0.3 - 0| = 0.3 (2 rows); 0.1 -> [0.1,0.2): 0.9 (1 row)
    # ECE = (0.1 + 2 * 0.3 + 2 * 0.3 + 0.9) / 6 = 2.2 / 6
    assert metrics.expected_calibration_error(Y, S) == pytest.approx(2.2 / 6)


def test_expected_calibration_error_puts_one_in_the_last_bin():
    assert metrics.expected_calibration_error([1, 0], [1.0, 0.0]) == 0.0


def test_calibration_deciles_equal_count_groups_by_ascending_score():
    # ascending stable order: rows 5 (0.1), 3 (0.3), 4 (0.3), 1 (0.8), 2 (0.8), 0 (0.9)
    groups = metrics.calibration_deciles(Y, S, groups=3)
    assert groups == [
        metrics.CalibrationBin(mean_predicted=pytest.approx(0.2), observed_rate=0.5, n=2),
        metrics.CalibrationBin(mean_predicted=pytest.approx(0.55), observed_rate=0.0, n=2),
        metrics.CalibrationBin(mean_predicted=pytest.approx(0.85), observed_rate=1.0, n=2),
    ]


def test_calibration_deciles_with_fewer_rows_than_groups_gives_one_row_each():
    assert [g.n for g in metrics.calibration_deciles(Y, S)] == [1] * 6


def test_psi_by_hand():
    # expected [1,2,3,4], 2 bins split at the median 2.5: shares 0.5, 0.5
    # actual [1,1,1,4]: shares 0.75, 0.25
    # PSI = (0.75-0.5) ln(0.75/0.5) + (0.25-0.5) ln(0.25/0.5) = 0.25 ln 1.5 + 0.25 ln 2 = 0.25 ln 3
    assert metrics.psi([1, 2, 3, 4], [1, 1, 1, 4], bins=2) == pytest.approx(0.25 * math.log(3))


def test_psi_of_identical_distributions_is_zero():
    values = np.arange(100.0)
    assert metrics.psi(values, values) == pytest.approx(0.0)


def test_simulated_days_earlier_by_hand():
    # given four inspections on Jan 1, 2, 3, 10; positives are rows 2 and 3
    dates = np.array(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-10"], "datetime64[D]")
    y = [0, 0, 1, 1]
    scores = [0.1, 0.5, 0.9, 0.5]
    # ranking: row 2 (0.9), row 1 (0.5), row 3 (0.5, after row 1), row 0 -> Jan 1, 2, 3, 10
    assert (
        metrics.reordered_dates(dates, scores).tolist()
        == (
            np.array(["2024-01-10", "2024-01-02", "2024-01-01", "2024-01-03"], "datetime64[D]")
        ).tolist()
    )
    # row 2: Jan 3 -> Jan 1 = 2 days; row 3: Jan 10 -> Jan 3 = 7 days; mean 4.5
    assert metrics.simulated_days_earlier(dates, y, scores) == 4.5


def test_first_half_share_by_hand():
    dates = np.array(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-10"], "datetime64[D]")
    # cumulative counts 1, 2, 3, 4 against n/2 = 2: only Jan 1 is strictly below.
    # actual: positives on Jan 3 and Jan 10 -> 0 of 2; re-ordered: Jan 1 and Jan 3 -> 1 of 2
    assert metrics.first_half_share(dates, [0, 0, 1, 1], [0.1, 0.5, 0.9, 0.5]) == (0.0, 0.5)


def test_first_half_share_excludes_the_date_that_straddles_the_midpoint():
    # dates [1, 1, 2, 3]: cumulative 2, 3, 4 against n/2 = 2 -> no date is in the first half,
    # even though the perfect order puts the positive on Jan 1.
    dates = np.array(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03"], "datetime64[D]")
    assert metrics.first_half_share(dates, [0, 0, 0, 1], [0, 0, 0, 1]) == (0.0, 0.0)


def test_first_half_share_counts_whole_days():
    # dates 1,1,2,5,5,6: cumulative 2, 3, 5, 6 against 3 -> only day 1 (2 < 3) is first half.
    dates = np.array(
        ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-05", "2024-01-05", "2024-01-06"],
        "datetime64[D]",
    )
    y = [0, 1, 0, 1, 0, 0]
    scores = [0.0, 0.9, 0.0, 0.8, 0.0, 0.0]
    # actual: row 1 on day 1 (in), row 3 on day 5 (out) -> 1/2
    # re-ordered: row 1 -> day 1, row 3 -> day 1 -> 2/2
    assert metrics.first_half_share(dates, y, scores) == (0.5, 1.0)


def test_no_positives_gives_nan():
    dates = np.array(["2024-01-01", "2024-01-02"], "datetime64[D]")
    assert math.isnan(metrics.simulated_days_earlier(dates, [0, 0], [0.1, 0.2]))
    assert all(math.isnan(v) for v in metrics.first_half_share(dates, [0, 0], [0.1, 0.2]))
    assert math.isnan(metrics.roc_auc([0, 0], [0.1, 0.2]))


def test_mismatched_lengths_and_non_binary_labels_are_rejected():
    with pytest.raises(ValueError, match="same length"):
        metrics.roc_auc([0, 1], [0.1])
    with pytest.raises(ValueError, match="only 0 and 1"):
        metrics.brier([0, 2], [0.1, 0.2])


def test_ranking_report_leaves_brier_out_for_non_probability_scores():
    report = metrics.ranking_report(Y, [5, 4, 4, 1, 1, 0], 0.5)
    assert math.isnan(report["brier"]) and math.isnan(report["ece"])
    assert report["precision_at_k"] == pytest.approx(2 / 3)


schedules = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 30), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.floats(0, 1), min_size=n, max_size=n),
    )
)


@given(schedules)
def test_perfect_ordering_is_never_beaten(schedule):
    days, y, scores = schedule
    assume(sum(y) > 0)
    dates = np.datetime64("2024-01-01") + np.array(days)
    perfect = np.array(y, dtype=float)
    assert metrics.simulated_days_earlier(dates, y, perfect) >= metrics.simulated_days_earlier(
        dates, y, scores
    )
    assert (
        metrics.first_half_share(dates, y, perfect)[1]
        >= metrics.first_half_share(dates, y, scores)[1]
    )


@given(schedules)
def test_reordering_uses_exactly_the_dates_actually_used(schedule):
    days, _, scores = schedule
    dates = np.datetime64("2024-01-01") + np.array(days)
    assert sorted(metrics.reordered_dates(dates, scores).tolist()) == sorted(dates.tolist())


@given(schedules, st.floats(0.01, 1.0))
def test_precision_and_recall_are_shares(schedule, k):
    _, y, scores = schedule
    assert 0.0 <= metrics.precision_at_k(y, scores, k) <= 1.0
    if sum(y):
        assert metrics.recall_at_k(y, scores, k) <= metrics.recall_at_k(y, scores, 1.0) == 1.0
