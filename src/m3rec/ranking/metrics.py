"""Ranking metrics from the target's rank, seed aggregation and the paired test."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

CUTOFFS = (5, 10, 20)
METRICS: tuple[str, ...] = (
    *(f"HR@{k}" for k in CUTOFFS),
    *(f"NDCG@{k}" for k in CUTOFFS),
    "MRR",
)


def target_ranks(
    scores: np.ndarray,
    target_col: np.ndarray,
    mask: np.ndarray | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """Return each row's 0-based target rank among the masked-in candidates.

    Ties are broken uniformly at random (seeded): a target tied with t other candidates is placed
    at a uniform position among them, so a constant scorer gets the random-ranking expectation
    rather than a flattering or a punishing rank.
    """
    if not np.all(np.isfinite(scores[mask] if mask is not None else scores)):
        raise ValueError("a model returned NaN or infinite scores for a candidate")
    rows = np.arange(len(scores))
    target = scores[rows, target_col][:, None]
    valid = np.ones_like(scores, dtype=bool) if mask is None else mask
    greater = ((scores > target) & valid).sum(axis=1)
    ties = ((scores == target) & valid).sum(axis=1) - 1
    return greater + rng.integers(0, ties + 1)


def metrics_from_ranks(ranks: np.ndarray) -> dict[str, np.ndarray]:
    """Return per-user HR@k, NDCG@k and MRR for 0-based target ranks."""
    ranks = np.asarray(ranks)
    gain = 1.0 / np.log2(ranks + 2.0)
    out = {f"HR@{k}": (ranks < k).astype(float) for k in CUTOFFS}
    out |= {f"NDCG@{k}": np.where(ranks < k, gain, 0.0) for k in CUTOFFS}
    out["MRR"] = 1.0 / (ranks + 1.0)
    return out


def mean_metrics(per_user: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Return the mean of each per-user metric."""
    return {name: float(np.mean(values)) for name, values in per_user.items()}


def summarize_seeds(
    per_seed: Sequence[Mapping[str, float]],
) -> tuple[dict[str, float], dict[str, float]]:
    """Return the mean and the sample standard deviation (ddof=1; 0 for one seed) over seeds."""
    names = list(per_seed[0])
    mean = {n: float(np.mean([s[n] for s in per_seed])) for n in names}
    ddof = 1 if len(per_seed) > 1 else 0
    std = {n: float(np.std([s[n] for s in per_seed], ddof=ddof)) for n in names}
    return mean, std


BOOTSTRAP_RESAMPLES = 2000


def bootstrap_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Return the percentile bootstrap interval of the mean of VALUES (2,000 resamples, fixed
    seed: the same values always give the same interval)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(0xB007)
    means = values[rng.integers(0, len(values), (BOOTSTRAP_RESAMPLES, len(values)))].mean(1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return (float(lo), float(hi))


def paired_test(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """Compare paired per-user values of two models: Wilcoxon signed-rank, two-sided, and the
    bootstrap 95% interval of the mean difference."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired test needs the same users in the same order for both models")
    diff = a - b
    result: dict[str, Any] = {
        "test": "wilcoxon",
        "mean_diff": float(diff.mean()) if len(diff) else 0.0,
        "mean_diff_ci95": list(bootstrap_ci(diff)),
    }
    if not np.any(diff):
        result["p_value"] = 1.0
        return result
    res = stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    p = float(res.pvalue)
    result["p_value"] = p if math.isfinite(p) else 1.0
    return result


def paired_z(a: np.ndarray, b: np.ndarray) -> float:
    """Return the mean of the paired differences A - B over its standard error (0 when there is
    no difference at all; infinite, with the difference's sign, when every pair differs alike)."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    mean = float(diff.mean())
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
    if se == 0.0:
        return 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
    return mean / se
