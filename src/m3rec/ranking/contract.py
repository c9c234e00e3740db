"""The recommender interface every model implements, and what it may learn from."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse

logger = logging.getLogger(__name__)

# Called after each training epoch: (epoch, total epochs, logged values such as loss).
EpochCallback = Callable[[int, int, dict[str, float]], None]


class ModelConfig(BaseModel):
    """Base of every model's typed configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    seed: int = Field(default=0, description="seed of every random draw (--seed)")


@dataclass(frozen=True)
class EvalCases:
    """Ranking cases: each user's visible history, candidates (-1 pads) and the target column 0."""

    users: np.ndarray
    histories: list[np.ndarray]
    candidates: np.ndarray


@dataclass
class TrainData:
    """All a model may learn from: per-user training sequences, item text, validation cases."""

    n_users: int
    n_items: int
    sequences: list[np.ndarray]
    item_texts: list[str]
    valid: EvalCases | None = None
    dataset_name: str = ""
    item_traits: list[str] | None = None  # the needs each item serves, as text (no LLM)
    _matrix: sparse.csr_matrix | None = field(default=None, repr=False)

    def user_item_matrix(self) -> sparse.csr_matrix:
        """Return the binary users x items matrix of training interactions."""
        if self._matrix is None:
            rows = np.repeat(np.arange(self.n_users), [len(s) for s in self.sequences])
            cols = np.concatenate(self.sequences) if self.sequences else np.zeros(0, np.int64)
            m = sparse.csr_matrix(
                (np.ones(len(cols), dtype=np.float32), (rows, cols)),
                shape=(self.n_users, self.n_items),
            )
            m.data[:] = 1.0  # repeated interactions count once
            self._matrix = m
        return self._matrix

    def item_counts(self) -> np.ndarray:
        """Return how many training interactions each item has."""
        cols = np.concatenate(self.sequences) if self.sequences else np.zeros(0, np.int64)
        return np.bincount(cols, minlength=self.n_items)

    def mean_length(self) -> float:
        """Return the mean training sequence length."""
        return float(np.mean([len(s) for s in self.sequences])) if self.sequences else 0.0


class Recommender(ABC):
    """Fit on training data, then score candidates for users given their visible history."""

    name: ClassVar[str]
    config_class: ClassVar[type[ModelConfig]]
    is_baseline: ClassVar[bool] = True

    def __init__(self, config: ModelConfig | None = None, **overrides: Any) -> None:
        base = config or self.config_class()
        if overrides:
            base = self.config_class.model_validate({**base.model_dump(), **overrides})
        self.config = base
        self.fitted = False

    @abstractmethod
    def fit(self, data: TrainData, on_epoch: EpochCallback | None = None) -> Self:
        """Learn from `data`; return self."""

    @abstractmethod
    def score(
        self, users: np.ndarray, histories: list[np.ndarray], candidates: np.ndarray | None
    ) -> np.ndarray:
        """Return scores (users x candidates), or (users x all items) when candidates is None.

        `histories` is each user's visible history: all the model may know of them at test time.
        Candidate entries of -1 are padding; their scores are ignored.
        """

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError(f"{self.name}: call fit() before score()")


def gather(full_scores: np.ndarray, candidates: np.ndarray | None) -> np.ndarray:
    """Pick candidate columns from a (users x items) score matrix; -1 pads score 0."""
    if candidates is None:
        return full_scores
    safe = np.where(candidates >= 0, candidates, 0)
    return np.take_along_axis(full_scores, safe, axis=1)


def ndcg10_on(model: Recommender, cases: EvalCases, batch_size: int = 512) -> float:
    """Return NDCG@10 of `model` on sampled validation cases (ties counted pessimistically)."""
    total = 0.0
    for start in range(0, len(cases.users), batch_size):
        sl = slice(start, start + batch_size)
        cand = cases.candidates[sl]
        scores = model.score(cases.users[sl], cases.histories[sl], cand)
        valid = cand >= 0
        target = scores[:, :1]
        rank = ((scores >= target) & valid).sum(axis=1) - 1
        total += float(np.where(rank < 10, 1.0 / np.log2(rank + 2.0), 0.0).sum())
    return total / max(1, len(cases.users))
