"""The harness end to end: no leakage into models, reproducible results, the results shape."""

from __future__ import annotations

from typing import Self

import numpy as np
import pytest

from m3rec.eval.baselines import ModelConfig, Recommender, TrainData, build_model
from m3rec.eval.harness import EvalSettings, run_evaluation
from m3rec.ranking.metrics import METRICS


class SpyConfig(ModelConfig):
    """Nothing to set."""


class Spy(Recommender):
    """Records what the harness shows it; scores the candidate ids (arbitrary but fixed)."""

    name = "spy"
    config_class = SpyConfig

    def fit(self, data: TrainData, on_epoch=None) -> Self:
        self.train = data
        self.seen: dict[int, list[np.ndarray]] = {}
        self.fitted = True
        return self

    def score(self, users, histories, candidates):
        for u, h in zip(users, histories, strict=True):
            self.seen.setdefault(int(u), []).append(h.copy())
        if candidates is None:
            return np.tile(np.arange(self.train.n_items, dtype=float), (len(users), 1))
        return candidates.astype(float)


def test_cold_users_are_seen_only_through_their_cut(topics):
    spies: list[Spy] = []

    def factory(name: str, seed: int) -> Recommender:
        spies.append(Spy())
        return spies[-1]

    settings = EvalSettings(
        models=("pop",), protocols=("sampled", "full"), cold_ks=(2,), seeds=2, cold_users=20
    )
    result = run_evaluation(topics, settings, model_factory=factory)
    assert len(spies) == 2
    for spy, record in zip(spies, result.records, strict=True):
        assert len(record.users) == 20
        for u in record.users:
            full = topics.sequences[u]
            visible = full[-3:-1].tolist()
            assert spy.train.sequences[u].tolist() == visible
            assert all(h.tolist() == visible for h in spy.seen[u])
            assert u not in spy.train.valid.users  # validation would show one more item
        # Nobody's test item is in what the model trained on.
        for u in range(topics.n_users):
            if len(topics.sequences[u]) >= 3:
                assert len(spy.train.sequences[u]) <= len(topics.sequences[u]) - 1
    # Different seeds draw different cold users.
    assert result.records[0].users.tolist() != result.records[1].users.tolist()


def test_results_rows_have_the_issue_shape_and_reproduce(topics):
    settings = EvalSettings(
        models=("pop", "itemknn"), protocols=("sampled", "full"), cold_ks=(0, 1), seeds=2
    )
    doc = run_evaluation(topics, settings).to_json()
    again = run_evaluation(topics, settings).to_json()
    assert doc["results"] == [
        {
            **r,
            "fit_seconds": a["fit_seconds"],
            "score_seconds": a["score_seconds"],
            "peak_rss_mb": a["peak_rss_mb"],
        }
        for r, a in zip(again["results"], doc["results"], strict=True)
    ]
    assert doc["dataset"] == "topics"
    assert len(doc["results"]) == 2 * 2 * 2
    row = doc["results"][0]
    assert {"model", "protocol", "cold_k", "metrics", "std", "n_users", "seeds"} <= set(row)
    assert list(row["metrics"]) == list(METRICS) and row["seeds"] == [0, 1]
    by = {(r["model"], r["protocol"], r["cold_k"]): r for r in doc["results"]}
    # The topic data is learnable by neighbours, not by popularity.
    assert (
        by[("itemknn", "sampled", 0)]["metrics"]["HR@10"]
        > by[("pop", "sampled", 0)]["metrics"]["HR@10"]
    )
    assert by[("itemknn", "sampled", 0)]["best_baseline"]
    assert by[("pop", "sampled", 0)]["paired_test"]["against"] == "itemknn"
    assert by[("pop", "sampled", 0)]["paired_test"]["p_value"] < 0.01
    assert by[("itemknn", "sampled", 0)]["paired_test"]["against"] == "pop"
    assert by[("pop", "sampled", 0)]["n_users"] == 160
    assert by[("pop", "sampled", 1)]["n_users"] == 32  # default cold sample: a fifth of users
    # Full ranking is harder than 50-negative sampling.
    assert (
        by[("itemknn", "full", 0)]["metrics"]["NDCG@10"]
        <= by[("itemknn", "sampled", 0)]["metrics"]["NDCG@10"]
    )


def test_users_option_samples_a_seeded_subset(topics):
    settings = EvalSettings(models=("pop",), users=30, seeds=2)
    result = run_evaluation(topics, settings)
    a, b = result.records
    assert len(a.users) == 30 and len(b.users) == 30
    again = run_evaluation(topics, settings).records[0]
    assert a.users.tolist() == again.users.tolist()


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="protocol"):
        EvalSettings(models=("pop",), protocols=("random",))
    with pytest.raises(KeyError, match="unknown model"):
        EvalSettings(models=("nope",))
    with pytest.raises(ValueError, match="cold-k"):
        EvalSettings(models=("pop",), cold_ks=(-1,))
    with pytest.raises(ValueError, match="seeds"):
        EvalSettings(models=("pop",), seeds=0)


def test_build_model_applies_overrides():
    model = build_model("sasrec", seed=4, epochs=3)
    assert model.config.seed == 4 and model.config.epochs == 3
