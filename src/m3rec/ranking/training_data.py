"""What a model may learn from one split: training sequences, item text and traits, and
sampled validation cases for early stopping."""

from __future__ import annotations

import numpy as np

from m3rec.data.splits import IndexedDataset, Split
from m3rec.data.traits import metadata_trait_texts
from m3rec.ranking.candidates import N_NEGATIVES, sampled_candidates
from m3rec.ranking.contract import EvalCases, TrainData

VALID_USERS = 1000


def train_data(
    data: IndexedDataset,
    split: Split,
    seed: int,
    *,
    valid_users: int = VALID_USERS,
    n_negatives: int = N_NEGATIVES,
) -> TrainData:
    """Return what models may learn from, with up to VALID_USERS sampled validation cases."""
    users = split.valid_users()
    if len(users) > valid_users:
        rng = np.random.default_rng([seed, 0x7A11D])
        users = np.sort(rng.choice(users, size=valid_users, replace=False))
    valid = None
    if len(users):
        valid = EvalCases(
            users,
            [split.valid_history[u] for u in users],
            sampled_candidates(split, users, seed, n_negatives, stage="valid"),
        )
    traits = metadata_trait_texts(data.items) if data.items else None
    return TrainData(
        split.n_users, split.n_items, split.train, data.item_texts, valid, data.name, traits
    )
