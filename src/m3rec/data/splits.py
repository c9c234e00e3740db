"""Chronological leave-one-out splits and cold-start truncation, on integer-indexed data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from m3rec.data.errors import DataError
from m3rec.data.histories import MIN_EVAL_LENGTH, evaluation_window
from m3rec.data.types import Dataset, Item


@dataclass(frozen=True)
class IndexedDataset:
    """A dataset as integer indices: users 0..U-1, items 0..I-1 (items that occur in histories)."""

    name: str
    user_ids: list[str]
    item_ids: list[str]
    sequences: list[np.ndarray]
    item_texts: list[str]
    items: list[Item] = field(default_factory=list, repr=False)  # the catalogue, in index order

    @property
    def n_users(self) -> int:
        """Return the number of users."""
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        """Return the number of items that occur in some history."""
        return len(self.item_ids)


def index_dataset(ds: Dataset) -> IndexedDataset:
    """Map user and item ids to dense integers, keeping each history's time order."""
    used = sorted({x.item_id for h in ds.histories.values() for x in h}, key=_natural_key)
    index = {item: i for i, item in enumerate(used)}
    users = sorted(ds.histories, key=_natural_key)
    sequences = [
        np.fromiter((index[x.item_id] for x in ds.histories[u]), dtype=np.int64) for u in users
    ]
    items = [ds.items[i] for i in used]
    return IndexedDataset(ds.name, users, used, sequences, [item.text() for item in items], items)


def _natural_key(value: str) -> tuple[int, int | str]:
    return (0, int(value)) if value.isdigit() else (1, value)


@dataclass(frozen=True)
class Split:
    """What models may train on, and the validation and test cases, for one cold-start setting.

    `train[u]` is all a model may learn from user u. Warm users: their history minus the last two
    items; the validation case is (train, second to last), the test case is (history minus last,
    last). Cold users: their visible history is the k items just before the test item; it is both
    their training data and their test history, and the rest of their history is never shown.
    Users with fewer than three interactions only train.
    """

    n_users: int
    n_items: int
    cold_k: int
    train: list[np.ndarray]
    valid_history: list[np.ndarray]
    valid_target: np.ndarray
    test_history: list[np.ndarray]
    test_target: np.ndarray
    cold: np.ndarray
    touched: list[np.ndarray]

    def test_users(self) -> np.ndarray:
        """Return the users with a test case."""
        return np.flatnonzero(self.test_target >= 0)

    def valid_users(self) -> np.ndarray:
        """Return the users with a validation case (warm users only)."""
        return np.flatnonzero(self.valid_target >= 0)


def eligible_users(data: IndexedDataset) -> np.ndarray:
    """Return the users with enough history for a validation and a test case."""
    lengths = np.array([len(s) for s in data.sequences])
    return np.flatnonzero(lengths >= MIN_EVAL_LENGTH)


def choose_cold_users(data: IndexedDataset, n: int, seed: int) -> np.ndarray:
    """Draw `n` eligible users, seeded, to be simulated as cold-start users."""
    pool = eligible_users(data)
    if n > len(pool):
        raise DataError(f"asked for {n} cold-start users but only {len(pool)} have 3+ interactions")
    rng = np.random.default_rng([seed, 0xC01D])
    return np.sort(rng.choice(pool, size=n, replace=False))


def leave_one_out(
    data: IndexedDataset, cold_k: int = 0, cold_users: np.ndarray | None = None
) -> Split:
    """Split each history chronologically; cut `cold_users` to their last `cold_k` visible items."""
    if cold_k < 0:
        raise DataError(f"cold_k must be 0 (no cut) or a positive count, got {cold_k}")
    n = data.n_users
    cold = np.zeros(n, dtype=bool)
    if cold_k > 0 and cold_users is not None and len(cold_users):
        cold[np.asarray(cold_users)] = True
    empty = np.zeros(0, dtype=np.int64)
    train, valid_hist, test_hist = [], [], []
    valid_t = np.full(n, -1, dtype=np.int64)
    test_t = np.full(n, -1, dtype=np.int64)
    for u, seq in enumerate(data.sequences):
        if len(seq) < MIN_EVAL_LENGTH:
            if cold[u]:
                raise DataError(
                    f"user {data.user_ids[u]} has too few interactions to be cold-start"
                )
            train.append(seq)
            valid_hist.append(empty)
            test_hist.append(empty)
            continue
        test_t[u] = seq[-1]
        if cold[u]:
            visible = seq[evaluation_window(len(seq), "test", cold_k)]
            train.append(visible)
            valid_hist.append(empty)
            test_hist.append(visible)
        else:
            before_valid = seq[evaluation_window(len(seq), "valid")]
            train.append(before_valid)
            valid_hist.append(before_valid)
            valid_t[u] = seq[-2]
            test_hist.append(seq[evaluation_window(len(seq), "test")])
    touched = [np.unique(s) for s in data.sequences]
    return Split(
        n, data.n_items, cold_k, train, valid_hist, valid_t, test_hist, test_t, cold, touched
    )
