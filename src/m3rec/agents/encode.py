"""The graph's `encode` step: MOTE turns a user's history and motivations into a ranking."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from m3rec.data import Dataset, index_dataset
from m3rec.schemas import ScoredItem

if TYPE_CHECKING:  # torch loads only when a checkpoint does
    from m3rec.encoders.recommender import MoteRecommender


class MoteScorer:
    """A trained MOTE checkpoint bound to the catalogue it was trained on."""

    def __init__(self, model: MoteRecommender, item_ids: list[str], user_ids: list[str]) -> None:
        self.model, self.item_ids = model, item_ids
        self.index = {item: i for i, item in enumerate(item_ids)}
        self.users = {user: i for i, user in enumerate(user_ids)}
        self.known: dict[int, np.ndarray] = {}  # each known user's items: never recommended

    @classmethod
    def load(
        cls,
        checkpoint: Path,
        dataset: Dataset,
        *,
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> MoteScorer:
        """Load CHECKPOINT; refuse it unless it was trained on DATASET (one-line error).

        Item texts are embedded through the cache in CACHE_DIR (settings.paths.embeddings_dir);
        scoring runs on THREADS torch threads (settings.torch.threads).
        """
        from m3rec.data.traits import metadata_trait_texts
        from m3rec.encoders.checkpoint import fingerprint, load_checkpoint
        from m3rec.encoders.recommender import MoteRecommender

        indexed = index_dataset(dataset)
        expected = fingerprint(
            indexed.name, indexed.item_ids, indexed.sequences, indexed.item_texts
        )
        ckpt = load_checkpoint(checkpoint, expected)

        traits = metadata_trait_texts(indexed.items)
        model = MoteRecommender.from_checkpoint(
            ckpt, indexed.item_texts, item_traits=traits, cache_dir=cache_dir, threads=threads
        )
        scorer = cls(model, indexed.item_ids, indexed.user_ids)
        scorer.known = dict(enumerate(indexed.sequences))
        return scorer

    def rank(
        self, user_id: str, history: list[str], notes: list[str], top_k: int
    ) -> list[ScoredItem]:
        """Return the TOP_K best items for USER_ID with this HISTORY (item ids, oldest first)
        and these motivation NOTES. Items in the history, or anywhere in a known user's data,
        are never recommended."""
        user = self.users.get(user_id, -1)
        read = np.array([self.index[i] for i in history if i in self.index], dtype=np.int64)
        seen = np.union1d(read, self.known.get(user, read))
        if user < 0 and self.model.cfg.user_ids:
            from m3rec.encoders.errors import EncoderError

            raise EncoderError(
                f"user {user_id} is not in the checkpoint's training data, and the checkpoint "
                "uses user-id embeddings; retrain with --set user_ids=false"
            )
        self.model.use_notes({user: notes} if notes else {})
        scores = self.model.score(np.array([user]), [read], None)[0]
        scores[seen] = -np.inf
        top = np.argsort(-scores, kind="stable")[: min(top_k, len(scores) - len(seen))]
        return [ScoredItem(self.item_ids[i], float(scores[i])) for i in top]
