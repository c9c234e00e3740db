"""Collaborative candidates: items co-consumed with a user's history (item-item cosine)."""

from __future__ import annotations

import numpy as np
from scipy import sparse

COOC_RECENT = 50  # the most recent items of a history that count, in the matrix and in a query
COOC_SHRINK = 10.0  # shrinks the similarity of pairs that few users share (as ItemKNN does)


class CoConsumption:
    """Item-item co-consumption: the users two items share, over the root of their popularity.

    Built once from every user's indexed sequence, each cut to its most recent RECENT items,
    so one very long history cannot dominate. Two items score
    shared / (sqrt(pop_i * pop_j) + SHRINK): cosine between their user sets, shrunk for rare
    pairs, so a blockbuster is not every item's neighbour.
    """

    def __init__(
        self,
        sequences: list[np.ndarray],
        n_items: int,
        *,
        recent: int = COOC_RECENT,
        shrink: float = COOC_SHRINK,
    ) -> None:
        self.n_items, self.recent = n_items, recent
        tails = [np.unique(np.asarray(s, dtype=np.int64)[-recent:]) for s in sequences]
        cols = np.concatenate(tails) if tails else np.zeros(0, dtype=np.int64)
        rows = np.repeat(np.arange(len(tails)), [len(t) for t in tails])
        x = sparse.csr_matrix(
            (np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(tails), n_items)
        )
        self.popularity = np.asarray(x.sum(axis=0), dtype=np.float64).ravel()
        co = (x.T @ x).tocoo()
        off = co.row != co.col
        row, col, shared = co.row[off], co.col[off], co.data[off]
        norm = np.sqrt(self.popularity[row] * self.popularity[col]) + shrink
        self.similarity = sparse.csr_matrix(
            ((shared / norm).astype(np.float32), (row, col)), shape=(n_items, n_items)
        )

    def scores(self, history: np.ndarray) -> np.ndarray:
        """Return each item's summed similarity (n_items,) to the last RECENT distinct items of
        HISTORY (item indices, oldest first)."""
        tail = np.asarray(history, dtype=np.int64)[-self.recent :]
        tail = np.unique(tail[(tail >= 0) & (tail < self.n_items)])
        if not len(tail):
            return np.zeros(self.n_items, dtype=np.float32)
        return np.asarray(self.similarity[tail].sum(axis=0), dtype=np.float32).ravel()

    def candidates(self, history: np.ndarray, n: int, exclude: np.ndarray) -> np.ndarray:
        """Return up to N item indices co-consumed with HISTORY, best first (ties: lower index
        first), none in EXCLUDE; items no user shares with the history are never returned."""
        scores = self.scores(history)
        exclude = np.asarray(exclude, dtype=np.int64)
        scores[exclude[(exclude >= 0) & (exclude < self.n_items)]] = 0.0
        found = np.flatnonzero(scores > 0)
        order = np.lexsort((found, -scores[found]))
        return found[order[: max(n, 0)]]
