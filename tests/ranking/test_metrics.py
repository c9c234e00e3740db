"""Metrics against hand-computed values; ranks, ties, seed aggregation and the paired test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from m3rec.ranking.metrics import (
    METRICS,
    mean_metrics,
    metrics_from_ranks,
    paired_test,
    paired_z,
    summarize_seeds,
    target_ranks,
)


def test_hand_computed_metrics():
    m = mean_metrics(metrics_from_ranks(np.array([0, 4, 9, 19, 25])))
    assert list(m) == list(METRICS)
    assert m["HR@5"] == pytest.approx(2 / 5)
    assert m["HR@10"] == pytest.approx(3 / 5)
    assert m["HR@20"] == pytest.approx(4 / 5)
    assert m["NDCG@5"] == pytest.approx((1 + 1 / math.log2(6)) / 5)
    assert m["NDCG@10"] == pytest.approx((1 + 1 / math.log2(6) + 1 / math.log2(11)) / 5)
    assert m["NDCG@20"] == pytest.approx(
        (1 + 1 / math.log2(6) + 1 / math.log2(11) + 1 / math.log2(21)) / 5
    )
    assert m["MRR"] == pytest.approx((1 + 1 / 5 + 1 / 10 + 1 / 20 + 1 / 26) / 5)
    # Literal values, so a shared mistake in formula and test cannot hide.
    assert m["NDCG@10"] == pytest.approx(0.335184, abs=1e-6)
    assert m["MRR"] == pytest.approx(0.277692, abs=1e-6)


def test_target_rank_counts_only_masked_in_candidates():
    rng = np.random.default_rng(0)
    scores = np.array([[0.5, 0.9, 0.1, 0.7], [0.9, 0.5, 0.1, 0.7]])
    assert target_ranks(scores, np.array([0, 0]), None, rng).tolist() == [2, 0]
    mask = np.array([[True, False, True, True], [True, True, True, True]])
    assert target_ranks(scores, np.array([0, 2]), mask, rng).tolist() == [1, 3]


def test_ties_are_broken_at_random_not_in_the_targets_favour():
    rng = np.random.default_rng(0)
    ranks = target_ranks(np.zeros((4000, 100)), np.zeros(4000, dtype=int), None, rng)
    assert ranks.min() == 0 and ranks.max() == 99
    assert abs(ranks.mean() - 49.5) < 1.5
    hr10 = metrics_from_ranks(ranks)["HR@10"].mean()
    assert abs(hr10 - 0.10) < 0.02  # a constant scorer is as good as random, no better
    again = target_ranks(
        np.zeros((4000, 100)), np.zeros(4000, dtype=int), None, np.random.default_rng(0)
    )
    assert again.tolist() == ranks.tolist()


def test_nan_scores_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        target_ranks(np.array([[np.nan, 1.0]]), np.array([0]), None, np.random.default_rng(0))


def test_seed_summary_uses_sample_std():
    mean, std = summarize_seeds([{"HR@10": 0.2}, {"HR@10": 0.4}])
    assert mean["HR@10"] == pytest.approx(0.3)
    assert std["HR@10"] == pytest.approx(math.sqrt(0.02))
    _, one = summarize_seeds([{"HR@10": 0.2}])
    assert one["HR@10"] == 0.0


def test_paired_test_detects_a_consistent_gain_and_not_noise():
    rng = np.random.default_rng(0)
    base = rng.random(300)
    better = paired_test(base + 0.05 + 0.01 * rng.random(300), base)
    assert better["p_value"] < 1e-10 and better["mean_diff"] > 0.04
    same = paired_test(base, base.copy())
    assert same["p_value"] == 1.0
    noise = paired_test(base + rng.normal(0, 0.01, 300), base)
    assert noise["p_value"] > 0.001
    with pytest.raises(ValueError, match="same users"):
        paired_test(base, base[:10])


def test_paired_z_is_the_mean_difference_over_its_standard_error():
    a, b = np.array([0.5, 0.7, 0.2, 0.9]), np.array([0.4, 0.4, 0.3, 0.6])
    diff = a - b
    assert paired_z(a, b) == pytest.approx(diff.mean() / (diff.std(ddof=1) / 2))
    assert paired_z(a, a) == 0.0
    assert paired_z(a + 0.25, a) > 1e6  # every pair gains the same: (almost) no noise
