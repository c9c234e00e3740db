"""An 'auto' maxpool_weight: chosen after training on the validation users, only where its gain
over 0 is clear of the noise, kept in the checkpoint, shared with the models that take the same
fit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pydantic
import pytest

from m3rec.data import index_dataset, load_dataset
from m3rec.encoders.checkpoint import fingerprint
from m3rec.encoders.config import MAXPOOL_GRID, MoteConfig
from m3rec.encoders.recommender import MoteRecommender
from m3rec.encoders.training import (
    choose_maxpool_weight,
    pick_maxpool_weight,
    valid_ndcg10,
    valid_user_ndcg10,
)
from tests.encoders.helpers import TESTS, bag_of_words, loo_train_data

# Real purchases (25 users), where the weights score apart; the toy topics rank perfectly at all.
BEAUTY = TESTS / "fixtures" / "data" / "amazon-beauty-slice"
SMALL = {"dim": 16, "batch_size": 64, "threads": 1, "epochs": 3}


@pytest.fixture(scope="module")
def beauty():
    return index_dataset(load_dataset(BEAUTY))


@pytest.fixture(scope="module")
def tdata(beauty):
    return loo_train_data(beauty)


@pytest.fixture(scope="module")
def best_mean(tdata):
    """'auto' without the noise rule: the weight with the best mean is taken, however small
    its lead (on 25 users a lead is never two standard errors)."""
    return MoteRecommender(embed=bag_of_words, maxpool_min_z=0, **SMALL).fit(tdata)


def test_auto_is_the_default_and_the_command_line_word():
    assert MoteConfig().maxpool_weight is None and MoteConfig().maxpool_min_z == 2.0
    assert MoteConfig.model_validate({"maxpool_weight": "auto"}).maxpool_weight is None
    assert MoteConfig.model_validate({"maxpool_weight": 0.5}).maxpool_weight == 0.5
    with pytest.raises(pydantic.ValidationError):
        MoteConfig.model_validate({"maxpool_weight": -0.5})


def test_without_the_noise_rule_auto_takes_the_best_validation_ndcg(tdata, best_mean):
    chosen = best_mean.cfg.maxpool_weight
    assert chosen in MAXPOOL_GRID
    scan = {
        w: valid_ndcg10(best_mean.encoder, best_mean.item_text, tdata.valid, best_mean.cfg, w)
        for w in MAXPOOL_GRID
    }
    choice = best_mean.maxpool_choice
    assert choice is not None and choice.valid_ndcg10 == scan and choice.min_z == 0
    assert scan[chosen] == max(scan.values())
    assert all(scan[w] < scan[chosen] for w in MAXPOOL_GRID if w < chosen)  # the smaller on a tie
    assert len(set(scan.values())) > 1  # the weights were told apart: the choice could go wrong
    assert best_mean.run_report() == {"maxpool_weight_chosen": {str(chosen): 1}}


def test_the_default_keeps_0_unless_the_paired_gain_is_two_standard_errors(tdata, best_mean):
    valid, enc, text = tdata.valid, best_mean.encoder, best_mean.item_text
    cfg = best_mean.cfg.model_copy(update={"maxpool_weight": None, "maxpool_min_z": 2.0})
    choice = choose_maxpool_weight(enc, text, valid, cfg)
    per_user = {w: valid_user_ndcg10(enc, text, valid, cfg, w) for w in MAXPOOL_GRID}
    for w, z in choice.gain_z.items():
        diff = per_user[w] - per_user[0.0]
        assert z == pytest.approx(diff.mean() / (diff.std(ddof=1) / np.sqrt(len(diff))))
    assert choice.valid_ndcg10 == {w: float(v.mean()) for w, v in per_user.items()}
    clear = [0.0] + [w for w, z in choice.gain_z.items() if z >= 2.0]
    assert choice.weight == max(clear, key=lambda w: (choice.valid_ndcg10[w], -w))
    assert best_mean.cfg.maxpool_weight > 0 and max(choice.gain_z.values()) < 2.0
    assert choice.weight == 0.0  # the best mean's lead on 25 users is not clear of its noise


def test_a_clear_gain_is_taken_and_a_noisy_larger_one_is_not():
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, 2000)
    per_user = {
        0.0: base,
        0.25: base + 0.01 + rng.normal(0, 0.05, 2000),  # mean +0.01, about 9 standard errors
        0.5: base + 0.02 + rng.normal(0, 1.0, 2000),  # mean +0.02, under one standard error
        1.0: base - 0.01,
    }
    choice = pick_maxpool_weight(per_user, min_z=2.0)
    assert choice.weight == 0.25 and choice.gain_z[0.25] > 2 > choice.gain_z[0.5]
    assert choice.gain_z[1.0] < -1e6  # every user loses the same: almost no noise, a sure loss
    assert pick_maxpool_weight(per_user, min_z=0.0).weight == 0.5  # the best mean, noise or not


def test_a_tie_takes_the_smaller_weight(tdata, best_mean):
    valid = tdata.valid
    one_item = dataclasses.replace(valid, histories=[h[-1:] for h in valid.histories])
    choice = choose_maxpool_weight(best_mean.encoder, best_mean.item_text, one_item, best_mean.cfg)
    assert len(set(choice.valid_ndcg10.values())) == 1  # one item: the term is 0 for everyone
    assert set(choice.gain_z.values()) == {0.0} and choice.weight == 0.0


def test_without_validation_users_auto_adds_no_term(tdata):
    model = MoteRecommender(embed=bag_of_words, **{**SMALL, "epochs": 1})
    model.fit(dataclasses.replace(tdata, valid=None))
    assert model.cfg.maxpool_weight == 0.0


def test_a_fixed_weight_stays_and_nothing_is_scanned(tdata):
    model = MoteRecommender(embed=bag_of_words, maxpool_weight=0.25, **SMALL).fit(tdata)
    assert model.cfg.maxpool_weight == 0.25
    assert model.maxpool_choice is None and model.run_report() == {}


def test_a_model_taking_the_fit_takes_its_choice_too_unless_its_rule_differs(tdata):
    shared: dict[str, MoteRecommender] = {}
    first, second = (MoteRecommender(embed=bag_of_words, maxpool_min_z=0, **SMALL) for _ in "ab")
    strict = MoteRecommender(embed=bag_of_words, **SMALL)
    for model in (first, second, strict):
        model.shared_fits = shared
        model.fit(tdata)
    assert second.fit_from == "mote" and second.maxpool_choice is first.maxpool_choice
    assert second.cfg.maxpool_weight == first.cfg.maxpool_weight > 0
    assert strict.fit_from == "mote" and strict.maxpool_choice is not None
    assert strict.maxpool_choice.min_z == 2.0 and strict.cfg.maxpool_weight == 0.0


def test_the_chosen_weight_travels_in_the_checkpoint(beauty, tdata, best_mean):
    fp = fingerprint(beauty.name, beauty.item_ids, beauty.sequences, beauty.item_texts, "bow-64")
    ckpt = best_mean.to_checkpoint(fp)
    assert ckpt.config.maxpool_weight == best_mean.cfg.maxpool_weight > 0  # so the scores show it
    loaded = MoteRecommender.from_checkpoint(
        ckpt, beauty.item_texts, item_traits=tdata.item_traits, embed=bag_of_words
    )
    valid = tdata.valid
    np.testing.assert_array_equal(
        loaded.score(valid.users, valid.histories, valid.candidates),
        best_mean.score(valid.users, valid.histories, valid.candidates),
    )
