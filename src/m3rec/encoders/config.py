"""MOTE's typed configuration: model shape, training and cold-start augmentation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from m3rec.ranking.contract import ModelConfig
from m3rec.settings import MOTE_BATCH_SIZE, MOTE_DIM, MOTE_EPOCHS, MOTE_NEGATIVES, TORCH_THREADS

# Settings that change how a fitted encoder scores, never how it trains (MoteConfig's and those
# of the models built on it): models that differ only in these can share one fit.
SCORING_ONLY = (
    "notes_weight",
    "align_weight",
    "maxpool_weight",
    "maxpool_min_z",
    "rerank_top",
    "history_shown",
)
# The maxpool weights an 'auto' maxpool_weight chooses from, on validation users.
MAXPOOL_GRID = (0.0, 0.25, 0.5, 1.0)


class MoteConfig(ModelConfig):
    """MOTE hyperparameters: model shape, InfoNCE training, cold-start augmentation."""

    dim: int = Field(
        default=MOTE_DIM, ge=2, description="size of the shared motivation/trait space"
    )
    slots: int = Field(default=1, ge=1, description="interest slots per user; max at scoring")
    dropout: float = Field(default=0.1, ge=0, lt=1, description="dropout in the item tower")
    max_notes: int = Field(default=10, ge=1, description="most recent notes or items pooled")
    order_layers: int = Field(
        default=0, ge=0, description="self-attention layers that read the notes in order (0: none)"
    )
    recency: bool = Field(
        default=True,
        description="a learned decay that weighs recent notes more (False: the time-weighting "
        "ablation, every note weighed by its content alone)",
    )
    item_ids: bool = Field(default=True, description="learn item-id embeddings (warm signal)")
    traits: bool = Field(
        default=True, description="embed each item's metadata traits with its text"
    )
    notes_weight: float = Field(
        default=0.0,
        ge=0,
        description="weight of the cosine between a user's LLM notes and an item's text, "
        "added to the MOTE score for users with notes (tune it on validation users)",
    )
    maxpool_weight: float | None = Field(
        default=None,
        ge=0,
        description="weight of the best cosine, in MOTE's space, between a candidate and any one "
        "of the user's max_notes most recent items, added to the score: the history item nearest "
        "the candidate speaks for it (a max-pool beside the attention pool); users with one item "
        "get none. 'auto' (the default, stored as null): after training, the weight of "
        f"{', '.join(map(str, MAXPOOL_GRID))} with the best validation NDCG@10 among 0 and the "
        "weights whose paired gain over 0 reaches maxpool_min_z standard errors (0 without "
        "validation users); a number fixes it",
    )
    maxpool_train: float = Field(
        default=0.0,
        ge=0,
        description="weight of the nearest-history-item cosine in training's scores (as "
        "maxpool_weight adds it at scoring), so the space is learned for it; 0: not in training",
    )
    maxpool_min_z: float = Field(
        default=2.0,
        ge=0,
        description="how many standard errors of its paired per-user gain an 'auto' "
        "maxpool_weight above 0 must lead 0 by on the validation users; 0 takes the best mean",
    )
    align_weight: float = Field(
        default=0.0,
        ge=0,
        description="MAR's alignment term: weight of the cosine, in MOTE's space, between a "
        "candidate's traits and the user's best-served LLM motivation, for users with notes "
        "(tune it on validation users: scripts/bench/mote_notes.py --term align)",
    )
    members: int = Field(
        default=1,
        ge=1,
        description="encoders trained from different seeds (seed, seed + 1000, ...) and scored "
        "as one by the mean of their cosines: an ensemble; training takes MEMBERS times longer",
    )
    user_ids: bool = Field(default=False, description="learn user-id embeddings (warm signal)")
    epochs: int = Field(default=MOTE_EPOCHS, ge=1, description="most epochs (--epochs)")
    batch_size: int = Field(
        default=MOTE_BATCH_SIZE, ge=2, description="training pairs per step (--batch-size)"
    )
    lr: float = Field(default=2e-3, gt=0, description="Adam learning rate")
    weight_decay: float = Field(default=0.0, ge=0, description="Adam weight decay")
    temperature: float = Field(default=0.1, gt=0, description="InfoNCE softmax temperature")
    negatives: int = Field(
        default=MOTE_NEGATIVES,
        ge=0,
        description="uniform negatives shared by a batch, beside in-batch ones; at or above the "
        "number of items, every item (a full softmax)",
    )
    note_dropout: float = Field(
        default=0.1, ge=0, lt=1, description="chance to drop each note but the most recent"
    )
    short_history: float = Field(
        default=0.3, ge=0, le=1, description="share of examples cut to their last 1..short_max"
    )
    short_max: int = Field(default=2, ge=1, description="most items a cut example keeps")
    pairs_per_epoch: int | None = Field(
        default=None, ge=1, description="(user, next item) pairs drawn per epoch; None: all"
    )
    patience: int = Field(default=3, ge=1, description="validation checks without gain")
    eval_every: int = Field(default=1, ge=1, description="epochs between validation checks")
    threads: int = Field(
        default=TORCH_THREADS,
        ge=1,
        description="torch threads (the [torch] threads setting); results depend on it",
    )
    device: Literal["cpu", "cuda"] = Field(default="cpu", description="cpu or cuda (--device)")

    @field_validator("maxpool_weight", mode="before")
    @classmethod
    def _auto_is_chosen(cls, value: object) -> object:
        return None if value == "auto" else value
