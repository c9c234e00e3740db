"""The harness on the real MovieLens 100K: sane orderings and the protocol's invariants."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from m3rec.data import index_dataset, load_dataset
from m3rec.eval.harness import EvalSettings, make_split, run_evaluation
from m3rec.ranking.candidates import sampled_candidates

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("M3REC_SHARED_DATA", REPO.parent / "shared" / "data"))

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def ml100k():
    folder = SHARED / "ml-100k"
    if not (folder / "u.data").is_file():
        pytest.skip(f"real data {folder} not present (set M3REC_SHARED_DATA)")
    return index_dataset(load_dataset(folder))


def test_neighbours_beat_popularity_and_full_is_harder(ml100k):
    settings = EvalSettings(models=("pop", "itemknn"), protocols=("sampled", "full"), seeds=1)
    rows = {(r["model"], r["protocol"]): r for r in run_evaluation(ml100k, settings).rows()}
    pop, knn = rows[("pop", "sampled")]["metrics"], rows[("itemknn", "sampled")]["metrics"]
    assert 0.3 < pop["HR@10"] < 0.7  # popularity is strong but far from perfect on MovieLens
    assert knn["HR@10"] > pop["HR@10"] + 0.02
    assert rows[("itemknn", "full")]["metrics"]["HR@10"] < knn["HR@10"] / 3
    assert rows[("pop", "sampled")]["n_users"] == 943


def test_cold_start_hides_history_and_keeps_candidates(ml100k):
    settings = EvalSettings(models=("pop",), cold_ks=(1,), seeds=1)
    warm = make_split(ml100k, settings, 0, seed=0)
    cold = make_split(ml100k, settings, 1, seed=0)
    users = np.flatnonzero(cold.cold)
    assert len(users) == 188  # a fifth of 943 users
    for u in users:
        assert len(cold.train[u]) == 1 and cold.train[u][0] == ml100k.sequences[u][-2]
    a = sampled_candidates(warm, users, seed=0)
    b = sampled_candidates(cold, users, seed=0)
    assert np.array_equal(a, b)  # cold-start changes what models see, not the candidates
