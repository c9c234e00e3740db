"""One contract, run against every baseline; plus model-specific checks."""

from __future__ import annotations

import hashlib
from typing import ClassVar

import numpy as np
import pydantic
import pytest

from m3rec.data import leave_one_out
from m3rec.eval.baselines import BASELINES, build_model
from m3rec.eval.harness import EvalSettings, rank_users
from m3rec.ranking.candidates import sampled_candidates
from m3rec.ranking.metrics import metrics_from_ranks
from m3rec.ranking.training_data import train_data


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in encoder: hashed word counts."""
    out = np.zeros((len(texts), 64), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.split():
            out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1
    return out


def make(name: str, seed: int = 0, **overrides):
    if name == "textsim":
        from m3rec.eval.baselines.textsim import TextSim

        return TextSim(seed=seed, embed=bag_of_words, **overrides)
    return build_model(name, seed, **overrides)


SETTINGS = EvalSettings(models=("pop",), n_negatives=50, valid_users=80)


@pytest.fixture(scope="module")
def split(topics):
    return leave_one_out(topics)


@pytest.fixture(scope="class")
def fitted(request, topics, split):
    cls = request.cls
    return make(cls.name, **cls.overrides).fit(
        train_data(
            topics, split, 0, valid_users=SETTINGS.valid_users, n_negatives=SETTINGS.n_negatives
        )
    )


class RecommenderContract:
    """What every recommender in the harness must do."""

    name: str
    overrides: ClassVar[dict] = {}
    min_hr10: float | None = 0.5  # on the topic data, where random gets about 0.2
    random_init = False  # whether the seed changes the fitted model

    def test_score_before_fit_raises(self):
        model = make(self.name, **self.overrides)
        with pytest.raises(RuntimeError, match="fit"):
            model.score(np.array([0]), [np.array([1, 2])], np.array([[1, 2]]))

    def test_sampled_and_full_scores_agree(self, fitted, split):
        users = split.test_users()[:10]
        hists = [split.test_history[u] for u in users]
        cand = sampled_candidates(split, users, seed=0, n_negatives=20)
        sampled = fitted.score(users, hists, cand)
        full = fitted.score(users, hists, None)
        assert sampled.shape == cand.shape and full.shape == (10, split.n_items)
        assert np.all(np.isfinite(sampled)) and np.all(np.isfinite(full))
        np.testing.assert_allclose(sampled, np.take_along_axis(full, cand, 1), rtol=1e-4, atol=1e-5)

    def test_padding_candidates_do_not_break_scoring(self, fitted, split):
        users = split.test_users()[:2]
        cand = np.array([[3, 4, -1, -1], [5, -1, -1, -1]])
        scores = fitted.score(users, [split.test_history[u] for u in users], cand)
        assert scores.shape == (2, 4)

    def test_same_seed_same_scores(self, topics, split):
        short = {**self.overrides, **({"epochs": 3} if "epochs" in self.overrides else {})}
        users = split.test_users()[:20]
        hists = [split.test_history[u] for u in users]
        scores = [
            make(self.name, seed=seed, **short)
            .fit(
                train_data(
                    topics,
                    split,
                    0,
                    valid_users=SETTINGS.valid_users,
                    n_negatives=SETTINGS.n_negatives,
                )
            )
            .score(users, hists, None)
            for seed in (5, 5, 6)
        ]
        np.testing.assert_allclose(scores[0], scores[1], rtol=1e-5, atol=1e-6)
        if self.random_init:
            assert not np.allclose(scores[0], scores[2])

    def test_learns_the_topics(self, fitted, split):
        if self.min_hr10 is None:
            pytest.skip("this model has no signal to learn on balanced toy data")
        users = split.test_users()
        ranks = rank_users(fitted, split, users, "sampled", 0, SETTINGS)
        assert metrics_from_ranks(ranks)["HR@10"].mean() > self.min_hr10

    def test_unknown_setting_is_refused(self):
        with pytest.raises(pydantic.ValidationError):
            make(self.name, no_such_setting=1)


class TestPop(RecommenderContract):
    name = "pop"
    min_hr10 = None

    def test_scores_are_training_counts(self, fitted, split):
        counts = np.bincount(np.concatenate(split.train), minlength=split.n_items)
        assert fitted.score(np.array([0]), [np.array([1])], None)[0].tolist() == counts.tolist()


class TestItemKNN(RecommenderContract):
    name = "itemknn"

    def test_neighbours_are_pruned(self, fitted):
        nnz_per_row = np.diff(fitted.sim.indptr)
        assert nnz_per_row.max() <= fitted.config.neighbours

    def test_pruning_to_one_neighbour(self, topics, split):
        model = make("itemknn", neighbours=1).fit(
            train_data(
                topics, split, 0, valid_users=SETTINGS.valid_users, n_negatives=SETTINGS.n_negatives
            )
        )
        assert np.diff(model.sim.indptr).max() == 1


class TestBPRMF(RecommenderContract):
    random_init = True
    name = "bprmf"
    overrides: ClassVar[dict] = {
        "epochs": 40,
        "batch_size": 256,
        "lr": 0.02,
        "dim": 16,
        "eval_every": 5,
        "threads": 1,
    }


class TestSASRec(RecommenderContract):
    random_init = True
    name = "sasrec"
    overrides: ClassVar[dict] = {
        "epochs": 30,
        "batch_size": 32,
        "lr": 0.005,
        "dim": 32,
        "eval_every": 5,
        "threads": 1,
    }
    min_hr10 = 0.8  # the next item follows from the last one: a sequence model must get it

    def test_history_order_matters(self, fitted, split):
        u = split.test_users()[:1]
        h = split.test_history[u[0]]
        a = fitted.score(u, [h], None)
        b = fitted.score(u, [h[::-1].copy()], None)
        assert not np.allclose(a, b)

    def test_global_torch_rng_is_left_alone(self, topics, split):
        import torch

        torch.manual_seed(123)
        expected = torch.rand(3)
        torch.manual_seed(123)
        make("sasrec", epochs=1, dim=8, threads=1).fit(
            train_data(
                topics, split, 0, valid_users=SETTINGS.valid_users, n_negatives=SETTINGS.n_negatives
            )
        )
        assert torch.equal(torch.rand(3), expected)


class TestLightGCN(RecommenderContract):
    random_init = True
    name = "lightgcn"
    overrides: ClassVar[dict] = {
        "epochs": 40,
        "batch_size": 256,
        "lr": 0.02,
        "dim": 16,
        "eval_every": 5,
        "threads": 1,
    }


class TestTextSim(RecommenderContract):
    name = "textsim"


def test_every_baseline_has_a_contract_test():
    tested = {cls.name for cls in RecommenderContract.__subclasses__()}
    assert tested == set(BASELINES)


def test_textsim_with_the_real_sentence_encoder(tmp_path, topics):
    from m3rec.embeddings import embed_texts
    from m3rec.eval.baselines.textsim import TextSim

    split = leave_one_out(topics)
    model = TextSim(embed=lambda t: embed_texts(t, cache_dir=tmp_path)).fit(
        train_data(
            topics, split, 0, valid_users=SETTINGS.valid_users, n_negatives=SETTINGS.n_negatives
        )
    )
    assert model.vectors.shape == (topics.n_items, 384)
    assert len(list(tmp_path.glob("*.npy"))) == 1  # cached for the next run
    users = split.test_users()
    ranks = rank_users(model, split, users, "sampled", 0, SETTINGS)
    assert metrics_from_ranks(ranks)["HR@10"].mean() > 0.5
