"""Candidate sets: sampled (target + uniform negatives never touched) and full ranking."""

from __future__ import annotations

from typing import Literal

import numpy as np

from m3rec.data.splits import Split

Protocol = Literal["sampled", "full"]
PROTOCOLS: tuple[str, ...] = ("sampled", "full")
N_NEGATIVES = 99
_STAGE = {"test": 1, "valid": 2}


def sample_negatives(
    touched: np.ndarray, n_items: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw `n` distinct items uniformly from those not in `touched` (fewer if fewer exist)."""
    available = n_items - len(touched)
    n = min(n, available)
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if available < 4 * n:  # dense user: draw from the explicit complement
        pool = np.setdiff1d(np.arange(n_items), touched, assume_unique=True)
        return rng.choice(pool, size=n, replace=False)
    picked: list[int] = []
    seen = set(touched.tolist())
    while len(picked) < n:
        for x in rng.integers(0, n_items, size=2 * (n - len(picked))).tolist():
            if x not in seen:
                seen.add(x)
                picked.append(x)
                if len(picked) == n:
                    break
    return np.asarray(picked, dtype=np.int64)


def sampled_candidates(
    split: Split,
    users: np.ndarray,
    seed: int,
    n_negatives: int = N_NEGATIVES,
    stage: Literal["test", "valid"] = "test",
) -> np.ndarray:
    """Return a (users, 1 + n_negatives) array: target in column 0, then negatives; -1 pads.

    Negatives come from items the user never touched in their whole history, drawn with a
    generator seeded by (seed, stage, user), so every model, every cold_k and every subset of
    users sees the same candidates for a given seed and user.
    """
    targets = split.test_target if stage == "test" else split.valid_target
    out = np.full((len(users), 1 + n_negatives), -1, dtype=np.int64)
    for row, u in enumerate(users):
        if targets[u] < 0:
            raise ValueError(f"user index {u} has no {stage} case")
        rng = np.random.default_rng([seed, _STAGE[stage], int(u)])
        negs = sample_negatives(split.touched[u], split.n_items, n_negatives, rng)
        out[row, 0] = targets[u]
        out[row, 1 : 1 + len(negs)] = negs
    return out


def full_mask(histories: list[np.ndarray], targets: np.ndarray, n_items: int) -> np.ndarray:
    """Return a (users, n_items) mask of candidates: every item not in the visible history.

    The target is always a candidate, even when the user met it before (repeat consumption).
    """
    mask = np.ones((len(histories), n_items), dtype=bool)
    for row, hist in enumerate(histories):
        mask[row, hist] = False
    mask[np.arange(len(histories)), targets] = True
    return mask
