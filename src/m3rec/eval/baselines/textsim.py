"""Text similarity: the visible history's mean sentence embedding against each candidate's text."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import ClassVar, Self

import numpy as np

from m3rec.ranking.contract import EpochCallback, ModelConfig, Recommender, TrainData


class TextSimConfig(ModelConfig):
    """TextSim has nothing to train; the encoder is all-MiniLM-L6-v2 unless one is injected."""


class TextSim(Recommender):
    """Cosine between the mean embedding of the history items' text and each candidate's text."""

    name = "textsim"
    config_class = TextSimConfig
    embeds_text: ClassVar[bool] = True  # the harness hands it the embedding cache folder

    def __init__(
        self,
        config: TextSimConfig | None = None,
        *,
        embed: Callable[[list[str]], np.ndarray] | None = None,
        cache_dir: Path | None = None,
        **overrides: object,
    ) -> None:
        """Embed with EMBED, else with all-MiniLM-L6-v2 cached in CACHE_DIR (None: no cache)."""
        super().__init__(config, **overrides)
        self._embed = embed
        self.cache_dir = cache_dir

    def fit(self, data: TrainData, on_epoch: EpochCallback | None = None) -> Self:
        """Embed every item's text once (cached on disk in the cache folder, if given)."""
        if self._embed is None:
            from m3rec.embeddings import embed_texts

            self._embed = partial(embed_texts, cache_dir=self.cache_dir)
        vectors = np.asarray(self._embed(list(data.item_texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = vectors / np.where(norms > 0, norms, 1.0)
        self.fitted = True
        return self

    def score(
        self, users: np.ndarray, histories: list[np.ndarray], candidates: np.ndarray | None
    ) -> np.ndarray:
        """Return cosine similarities between the history profile and the candidates."""
        self._check_fitted()
        profile = self.user_profiles(users, histories)
        if candidates is None:
            return profile @ self.vectors.T
        safe = np.where(candidates >= 0, candidates, 0)
        return np.einsum("bd,bcd->bc", profile, self.vectors[safe])

    def user_profiles(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        """Return each user's unit profile (n, dim): the mean embedding of their history items."""
        profile = np.zeros((len(histories), self.vectors.shape[1]), dtype=np.float32)
        for row, hist in enumerate(histories):
            if len(hist):
                profile[row] = self.vectors[hist].mean(axis=0)
        norms = np.linalg.norm(profile, axis=1, keepdims=True)
        return profile / np.where(norms > 0, norms, 1.0)


def unit(vector: np.ndarray) -> np.ndarray:
    """Return VECTOR scaled to length 1 (a zero vector stays zero)."""
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
