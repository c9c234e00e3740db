"""Candidates: negatives never touched, seeds reproduce them, full ranking masks the history."""

from __future__ import annotations

import numpy as np

from m3rec.data import leave_one_out
from m3rec.data.splits import IndexedDataset
from m3rec.ranking.candidates import full_mask, sample_negatives, sampled_candidates


def dataset(n_users: int = 40, n_items: int = 300, seed: int = 0) -> IndexedDataset:
    rng = np.random.default_rng(seed)
    seqs = [rng.choice(n_items, size=rng.integers(3, 40), replace=False) for _ in range(n_users)]
    return IndexedDataset(
        "rand",
        [str(u) for u in range(n_users)],
        [str(i) for i in range(n_items)],
        seqs,
        [""] * n_items,
    )


def test_sampled_negatives_exclude_every_touched_item():
    data = dataset()
    split = leave_one_out(data, cold_k=1, cold_users=np.array([0, 1, 2]))
    users = split.test_users()
    cand = sampled_candidates(split, users, seed=3)
    assert cand.shape == (len(users), 100)
    for row, u in enumerate(users):
        assert cand[row, 0] == data.sequences[u][-1]
        negs = cand[row, 1:]
        assert len(set(negs.tolist())) == 99
        # Even items hidden from a cold user are never drawn as negatives.
        assert not set(negs.tolist()) & set(data.sequences[u].tolist())


def test_same_seed_same_candidates_for_any_subset_and_cold_k():
    data = dataset()
    warm = leave_one_out(data)
    cold = leave_one_out(data, cold_k=2, cold_users=np.array([5, 6]))
    users = warm.test_users()
    a = sampled_candidates(warm, users, seed=7)
    assert np.array_equal(a, sampled_candidates(warm, users, seed=7))
    assert not np.array_equal(a, sampled_candidates(warm, users, seed=8))
    sub = users[::3][::-1]
    b = sampled_candidates(cold, sub, seed=7)
    for row, u in enumerate(sub):
        assert np.array_equal(b[row], a[np.flatnonzero(users == u)[0]])


def test_validation_candidates_differ_from_test_ones():
    split = leave_one_out(dataset())
    users = split.valid_users()
    valid = sampled_candidates(split, users, seed=0, stage="valid")
    test = sampled_candidates(split, users, seed=0)
    assert (valid[:, 0] == split.valid_target[users]).all()
    assert not np.array_equal(valid[:, 1:], test[:, 1:])


def test_small_catalogue_pads_with_minus_one():
    rng = np.random.default_rng(0)
    negs = sample_negatives(np.arange(95), 100, 99, rng)
    assert sorted(negs.tolist()) == [95, 96, 97, 98, 99]


def test_full_mask_hides_visible_history_but_keeps_the_target():
    hist = [np.array([0, 2]), np.array([1, 3])]
    mask = full_mask(hist, np.array([4, 3]), 5)
    assert mask.tolist() == [[False, True, False, True, True], [True, False, True, True, True]]
