"""The graph's `encode` step: MOTE turns a user's history and motivations into a ranking."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from m3rec.data import Dataset, index_dataset

if TYPE_CHECKING:  # torch loads only when a checkpoint does
    from m3rec.encoders.checkpoint import Fingerprint
    from m3rec.encoders.recommender import MoteRecommender


class MoteScorer:
    """A trained MOTE checkpoint bound to the catalogue it was trained on."""

    def __init__(
        self,
        model: MoteRecommender,
        item_ids: list[str],
        user_ids: list[str],
        fingerprint: Fingerprint | None = None,
    ) -> None:
        self.model, self.item_ids, self.fingerprint = model, item_ids, fingerprint
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
        scorer = cls(model, indexed.item_ids, indexed.user_ids, ckpt.fingerprint)
        scorer.known = dict(enumerate(indexed.sequences))
        return scorer

    @cached_property
    def index_key(self) -> str:
        """Return the key of this checkpoint's item vector index: a retrained one gets a new key.

        It hashes the data and item texts the checkpoint was trained on (its fingerprint, else
        the item ids), the encoder config (less threads and device, which say where it runs)
        and the trained weights themselves.
        """
        fp = self.fingerprint
        data = [fp.data_hash, fp.text_encoder, fp.text_hash] if fp else [_digest(self.item_ids)]
        config = self.model.cfg.model_dump(mode="json", exclude={"threads", "device"})
        h = hashlib.sha256(json.dumps([data, config], sort_keys=True).encode())
        for name, tensor in sorted(self.model.encoder.state_dict().items()):
            h.update(name.encode() + b"\x00")
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return f"mote-{h.hexdigest()[:32]}"

    def item_vectors(self) -> np.ndarray:
        """Return every catalogue item's MOTE trait vector (n_items, dim), float32."""
        vectors = self.model.encoder.unit(self.model.item_vecs)  # as the cosine reads them
        return np.asarray(vectors.detach().cpu().numpy(), dtype=np.float32)

    def user_vectors(self, user_id: str, history: list[str]) -> np.ndarray:
        """Return the motivation vectors (slots, dim) MOTE scores USER_ID with from HISTORY."""
        import torch

        from m3rec.encoders.mote import user_vectors as pool_users

        cfg, users = self.model.cfg, self._user_ids(user_id)
        with torch.no_grad():
            vecs = pool_users(
                self.model.encoder,
                self.model.item_vecs,
                [self._read(history)],
                cfg.max_notes,
                users,
            )
        return np.asarray(self.model.encoder.unit(vecs[0]).cpu().numpy(), dtype=np.float32)

    def history_scores(self, user_id: str, history: list[str], item_ids: list[str]) -> np.ndarray:
        """Return MOTE's exact scores of ITEM_IDS for USER_ID from HISTORY (no notes term)."""
        missing = [i for i in item_ids if i not in self.index]
        if missing:
            from m3rec.encoders.errors import EncoderError

            raise EncoderError(f"item {missing[0]} is not in the checkpoint's catalogue")
        if not item_ids:
            return np.zeros(0, dtype=np.float32)
        candidates = np.array([[self.index[i] for i in item_ids]], dtype=np.int64)
        ids = self._user_ids(user_id)
        scores = self.model.history_scores([self._read(history)], candidates, ids)
        return np.asarray(scores[0].cpu().numpy(), dtype=np.float32)

    def seen_items(self, user_id: str, history: list[str]) -> set[str]:
        """Return the items never recommended to USER_ID: the HISTORY, and every item of a
        known user's data."""
        known = self.known.get(self.users.get(user_id, -1))
        return set(history) | ({self.item_ids[i] for i in known} if known is not None else set())

    def _read(self, items: list[str]) -> np.ndarray:
        return np.array([self.index[i] for i in items if i in self.index], dtype=np.int64)

    def _user_ids(self, user_id: str) -> np.ndarray | None:
        """Return the user index MOTE's id embeddings need (None without them); refuse a user
        they never saw."""
        if not self.model.cfg.user_ids:
            return None
        user = self.users.get(user_id, -1)
        if user < 0:
            from m3rec.encoders.errors import EncoderError

            raise EncoderError(
                f"user {user_id} is not in the checkpoint's training data, and the checkpoint "
                "uses user-id embeddings; retrain with --set user_ids=false"
            )
        return np.array([user])


def _digest(items: list[str]) -> str:
    h = hashlib.sha256()
    for item in items:
        h.update(item.encode("utf-8", "surrogatepass") + b"\x00")
    return h.hexdigest()[:32]
