"""Popularity and item-based k-nearest-neighbour recommenders."""

from __future__ import annotations

from typing import Self

import numpy as np
from pydantic import Field
from scipy import sparse

from m3rec.ranking.contract import EpochCallback, ModelConfig, Recommender, TrainData, gather


class PopConfig(ModelConfig):
    """Popularity has nothing to tune."""


class Pop(Recommender):
    """Score an item by how many training users interacted with it."""

    name = "pop"
    config_class = PopConfig

    def fit(self, data: TrainData, on_epoch: EpochCallback | None = None) -> Self:
        """Count each item's training users."""
        self.counts = np.asarray(data.user_item_matrix().sum(axis=0), dtype=np.float64).ravel()
        self.fitted = True
        return self

    def score(
        self, users: np.ndarray, histories: list[np.ndarray], candidates: np.ndarray | None
    ) -> np.ndarray:
        """Return each candidate's training count."""
        self._check_fitted()
        if candidates is None:
            return np.broadcast_to(self.counts, (len(users), len(self.counts))).copy()
        return self.counts[np.where(candidates >= 0, candidates, 0)]


class ItemKNNConfig(ModelConfig):
    """Item-item cosine neighbourhoods."""

    neighbours: int = Field(default=200, ge=1, description="neighbours kept per item")
    shrinkage: float = Field(default=10.0, ge=0, description="shrinks similarities of rare pairs")


class ItemKNN(Recommender):
    """Score a candidate by its summed cosine similarity to the items in the visible history."""

    name = "itemknn"
    config_class = ItemKNNConfig

    def fit(self, data: TrainData, on_epoch: EpochCallback | None = None) -> Self:
        """Build the pruned item-item cosine similarity matrix from co-occurrence."""
        cfg = self.config
        assert isinstance(cfg, ItemKNNConfig)
        x = data.user_item_matrix().astype(np.float32)
        co = (x.T @ x).tocsr()
        co.setdiag(0)
        co.eliminate_zeros()
        norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel())
        co = co.tocoo()
        denom = norms[co.row] * norms[co.col] + cfg.shrinkage
        sim = sparse.csr_matrix(
            (co.data / denom, (co.row, co.col)), shape=(data.n_items, data.n_items)
        )
        self.sim = _top_k_rows(sim, cfg.neighbours)  # sim[h, c]: c among h's k nearest
        self.n_items = data.n_items
        self.fitted = True
        return self

    def score(
        self, users: np.ndarray, histories: list[np.ndarray], candidates: np.ndarray | None
    ) -> np.ndarray:
        """Sum the similarities between each candidate and the visible history."""
        self._check_fitted()
        rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
        cols = np.concatenate(histories) if histories else np.zeros(0, np.int64)
        hist = sparse.csr_matrix(
            (np.ones(len(cols), dtype=np.float32), (rows, cols)),
            shape=(len(histories), self.n_items),
        )
        hist.data[:] = 1.0
        full = (hist @ self.sim).toarray()
        return gather(full, candidates)


def _top_k_rows(m: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """Keep the k largest entries of each row."""
    m = m.tocsr()
    m.sort_indices()
    indptr, data, indices = m.indptr, m.data, m.indices
    keep = np.zeros(len(data), dtype=bool)
    for r in range(m.shape[0]):
        lo, hi = indptr[r], indptr[r + 1]
        if hi - lo <= k:
            keep[lo:hi] = True
        else:
            top = np.argpartition(-data[lo:hi], k - 1)[:k]
            keep[lo + top] = True
    row_of = np.repeat(np.arange(m.shape[0]), np.diff(indptr))
    return sparse.csr_matrix((data[keep], (row_of[keep], indices[keep])), shape=m.shape)
