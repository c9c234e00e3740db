"""MOTE on a real slice of MovieLens 100K: a few epochs beat random and popularity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from m3rec.data import Dataset, index_dataset, leave_one_out, load_dataset
from m3rec.encoders.recommender import MoteRecommender
from m3rec.eval.baselines import build_model
from m3rec.eval.harness import EvalSettings
from m3rec.ranking.metrics import metrics_from_ranks, target_ranks
from m3rec.ranking.training_data import train_data
from tests.encoders.helpers import SHARED

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def ml100k_slice():
    folder = SHARED / "ml-100k"
    if not (folder / "u.data").is_file():
        pytest.skip(f"real data {folder} not present (set M3REC_SHARED_DATA)")
    full = load_dataset(folder)
    users = sorted(full.histories, key=int)[:400]
    part = Dataset(full.name, full.items, {u: full.histories[u] for u in users})
    return index_dataset(part)


def valid_hr10(model, cases) -> float:
    scores = model.score(cases.users, cases.histories, cases.candidates)
    col = np.zeros(len(cases.users), dtype=np.int64)
    ranks = target_ranks(scores, col, cases.candidates >= 0, np.random.default_rng(0))
    return float(metrics_from_ranks(ranks)["HR@10"].mean())


def test_a_few_epochs_beat_random_and_popularity(ml100k_slice):
    torch.set_num_threads(1)
    settings = EvalSettings(models=("pop",), valid_users=400)
    tdata = train_data(
        ml100k_slice,
        leave_one_out(ml100k_slice),
        0,
        valid_users=settings.valid_users,
        n_negatives=settings.n_negatives,
    )
    assert tdata.valid is not None and len(tdata.valid.users) == 400
    mote = MoteRecommender(epochs=4, dim=32, threads=1, patience=4).fit(tdata)
    pop = build_model("pop").fit(tdata)
    mote_hr, pop_hr = valid_hr10(mote, tdata.valid), valid_hr10(pop, tdata.valid)
    assert pop_hr > 0.2  # random ranking gets 0.1 among 100 candidates
    assert mote_hr > pop_hr + 0.1, (mote_hr, pop_hr)
