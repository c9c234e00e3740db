"""Train MOTE on a dataset end to end: index, split, fit, fingerprint, save, and report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from math import isfinite
from pathlib import Path
from statistics import fmean
from typing import Any

import pydantic

from m3rec.data import Dataset, index_dataset, leave_one_out
from m3rec.encoders.checkpoint import fingerprint, save_checkpoint
from m3rec.encoders.config import MoteConfig
from m3rec.encoders.errors import EncoderError
from m3rec.encoders.recommender import MoteRecommender
from m3rec.encoders.training import MaxpoolChoice, TrainResult, check_device
from m3rec.ranking.contract import EpochCallback
from m3rec.ranking.training_data import VALID_USERS, train_data

# Called as item texts are embedded: (texts embedded so far, texts in all).
EmbedProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrainOutcome:
    """A finished MOTE training run: where the checkpoint went and what the run did."""

    checkpoint: Path
    dataset: str
    users: int
    items: int
    seed: int
    config: MoteConfig
    result: TrainResult
    train_seconds: float
    maxpool_choice: MaxpoolChoice | None  # what an 'auto' maxpool_weight chose, and why

    @property
    def seconds_per_epoch(self) -> float:
        """Return the mean wall time of one epoch, validation included (embedding excluded)."""
        seconds = [entry["seconds"] for entry in self.result.history]
        return fmean(seconds) if seconds else 0.0

    def _maxpool_fields(self) -> dict[str, Any]:
        """Return what an 'auto' maxpool_weight scanned: each weight's validation NDCG@10 and
        its paired gain over 0 in standard errors (empty for a fixed weight)."""
        choice = self.maxpool_choice
        scan, gain_z = (choice.valid_ndcg10, choice.gain_z) if choice else ({}, {})
        return {
            "maxpool_min_z": self.config.maxpool_min_z,
            "maxpool_valid_ndcg10": {str(w): v for w, v in scan.items()},
            # a gain the same for every user has no noise: its z is infinite, null in JSON
            "maxpool_gain_z": {str(w): z if isfinite(z) else None for w, z in gain_z.items()},
        }

    def as_dict(self) -> dict[str, Any]:
        """Return the run as the JSON document `m3rec train --json` prints."""
        result = self.result
        return {
            "checkpoint": str(self.checkpoint),
            "dataset": self.dataset,
            "users": self.users,
            "items": self.items,
            "device": self.config.device,
            "torch_threads": self.config.threads,
            "seed": self.seed,
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch,
            "member_best_epochs": result.member_best_epochs or [result.best_epoch],
            "valid_ndcg10": result.best_valid_ndcg10,
            "maxpool_weight": self.config.maxpool_weight,
            **self._maxpool_fields(),
            "train_seconds": round(self.train_seconds, 3),
            "seconds_per_epoch": round(self.seconds_per_epoch, 3),
            "epochs": result.history,
            "notes": "history items' text and traits (no LLM notes used in training)",
            "config": self.config.model_dump(),
        }


def _mote_model(
    seed: int, overrides: dict[str, Any], embed: Callable[[list[str]], Any] | None = None
) -> MoteRecommender:
    """Return an untrained MOTE with SEED and OVERRIDES (any MoteConfig field), on a device
    torch can use here, embedding item texts with EMBED; an invalid setting is one
    `EncoderError` line."""
    try:
        model = MoteRecommender(seed=seed, embed=embed, **overrides)
    except pydantic.ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise EncoderError(f"invalid MOTE setting {where}: {err['msg']}") from None
    check_device(model.cfg.device)
    return model


def train_mote(
    dataset: Dataset,
    out: Path,
    *,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    valid_users: int = VALID_USERS,
    cache_dir: Path | None = None,
    on_embed: EmbedProgress | None = None,
    on_epoch: EpochCallback | None = None,
) -> TrainOutcome:
    """Train MOTE on DATASET's leave-one-out training split, early-stopped on up to VALID_USERS
    validation users, and save the checkpoint (with the data's fingerprint) to OUT.

    CACHE_DIR holds the item-text embeddings; ON_EMBED and ON_EPOCH report progress.
    """
    from m3rec.embeddings import embed_texts

    embed = partial(embed_texts, cache_dir=cache_dir, on_progress=on_embed)
    model = _mote_model(seed, overrides or {}, embed)
    indexed = index_dataset(dataset)
    data = train_data(indexed, leave_one_out(indexed), seed, valid_users=valid_users)
    started = time.perf_counter()
    model.fit(data, on_epoch)
    seconds = time.perf_counter() - started
    fp = fingerprint(indexed.name, indexed.item_ids, indexed.sequences, indexed.item_texts)
    save_checkpoint(out, model.to_checkpoint(fp))
    return TrainOutcome(
        checkpoint=out,
        dataset=indexed.name,
        users=indexed.n_users,
        items=indexed.n_items,
        seed=seed,
        config=model.cfg,
        result=model.result,
        train_seconds=seconds,
        maxpool_choice=model.maxpool_choice,
    )
