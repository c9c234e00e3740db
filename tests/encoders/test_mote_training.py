"""MOTE training: seeded determinism, early stopping, callbacks, the global RNG left alone."""

from __future__ import annotations

import pytest
import torch

from m3rec.encoders.recommender import MoteRecommender
from m3rec.encoders.training import valid_ndcg10
from tests.encoders.helpers import bag_of_words, loo_train_data, topic_dataset

SMALL = {"dim": 16, "batch_size": 64, "threads": 1, "epochs": 3}


@pytest.fixture(scope="module")
def tdata():
    topics = topic_dataset()
    return loo_train_data(topics)


def fit(tdata, seed=0, **overrides):
    model = MoteRecommender(seed=seed, embed=bag_of_words, **{**SMALL, **overrides})
    return model.fit(tdata)


def test_two_seeded_runs_give_identical_weights(tdata):
    a, b, c = (fit(tdata, seed).encoder.state_dict() for seed in (3, 3, 4))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_multi_slot_user_ids_run_is_deterministic_too(tdata):
    opts = {"slots": 2, "user_ids": True}
    a, b = (fit(tdata, 1, **opts).encoder.state_dict() for _ in range(2))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_best_validation_weights_are_kept(tdata):
    model = fit(tdata, epochs=6, patience=2)
    result = model.result
    assert 1 <= result.best_epoch <= result.epochs_run
    best = max(h["valid_ndcg10"] for h in result.history)
    assert result.best_valid_ndcg10 == best
    again = valid_ndcg10(model.encoder, model.item_text, tdata.valid, model.cfg)
    assert again == pytest.approx(best)


def test_progress_reaches_the_callback_and_loss_falls(tdata):
    seen = []
    MoteRecommender(embed=bag_of_words, **{**SMALL, "epochs": 4, "patience": 10}).fit(
        tdata, lambda epoch, total, logs: seen.append((epoch, total, logs))
    )
    assert [(e, t) for e, t, _ in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert seen[-1][2]["loss"] < seen[0][2]["loss"]
    assert all("valid_ndcg10" in logs for _, _, logs in seen)


def test_global_torch_rng_is_left_alone(tdata):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit(tdata, epochs=1)
    assert torch.equal(torch.rand(3), expected)
