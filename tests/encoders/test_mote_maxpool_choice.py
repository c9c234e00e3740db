"""An 'auto' maxpool_weight: chosen after training on the validation users, kept in the
checkpoint, shared with the models that take the same fit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pydantic
import pytest

from m3rec.data import index_dataset, load_dataset
from m3rec.encoders.checkpoint import fingerprint
from m3rec.encoders.config import MAXPOOL_GRID, MoteConfig
from m3rec.encoders.recommender import MoteRecommender
from m3rec.encoders.training import choose_maxpool_weight, valid_ndcg10
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
def auto(tdata):
    return MoteRecommender(embed=bag_of_words, **SMALL).fit(tdata)


def test_auto_is_the_default_and_the_command_line_word():
    assert MoteConfig().maxpool_weight is None
    assert MoteConfig.model_validate({"maxpool_weight": "auto"}).maxpool_weight is None
    assert MoteConfig.model_validate({"maxpool_weight": 0.5}).maxpool_weight == 0.5
    with pytest.raises(pydantic.ValidationError):
        MoteConfig.model_validate({"maxpool_weight": -0.5})


def test_auto_takes_the_grid_weight_with_the_best_validation_ndcg(tdata, auto):
    chosen = auto.cfg.maxpool_weight
    assert chosen in MAXPOOL_GRID
    scan = {
        w: valid_ndcg10(auto.encoder, auto.item_text, tdata.valid, auto.cfg, maxpool_weight=w)
        for w in MAXPOOL_GRID
    }
    assert auto.maxpool_choice is not None and auto.maxpool_choice.valid_ndcg10 == scan
    assert scan[chosen] == max(scan.values())
    assert all(scan[w] < scan[chosen] for w in MAXPOOL_GRID if w < chosen)  # the smaller on a tie
    assert len(set(scan.values())) > 1  # the weights were told apart: the choice could go wrong
    assert auto.run_report() == {"maxpool_weight_chosen": {str(chosen): 1}}


def test_a_tie_takes_the_smaller_weight(tdata, auto):
    valid = tdata.valid
    one_item = dataclasses.replace(valid, histories=[h[-1:] for h in valid.histories])
    choice = choose_maxpool_weight(auto.encoder, auto.item_text, one_item, auto.cfg)
    assert len(set(choice.valid_ndcg10.values())) == 1  # one item: the term is 0 for everyone
    assert choice.weight == 0.0


def test_without_validation_users_auto_adds_no_term(tdata):
    model = MoteRecommender(embed=bag_of_words, **{**SMALL, "epochs": 1})
    model.fit(dataclasses.replace(tdata, valid=None))
    assert model.cfg.maxpool_weight == 0.0


def test_a_fixed_weight_stays_and_nothing_is_scanned(tdata):
    model = MoteRecommender(embed=bag_of_words, maxpool_weight=0.25, **SMALL).fit(tdata)
    assert model.cfg.maxpool_weight == 0.25
    assert model.maxpool_choice is None and model.run_report() == {}


def test_a_model_taking_the_fit_takes_its_choice_too(tdata):
    shared: dict[str, MoteRecommender] = {}
    first, second = (MoteRecommender(embed=bag_of_words, **SMALL) for _ in range(2))
    for model in (first, second):
        model.shared_fits = shared
        model.fit(tdata)
    assert second.fit_from == "mote" and second.maxpool_choice is first.maxpool_choice
    assert second.cfg.maxpool_weight == first.cfg.maxpool_weight


def test_the_chosen_weight_travels_in_the_checkpoint(beauty, tdata, auto):
    fp = fingerprint(beauty.name, beauty.item_ids, beauty.sequences, beauty.item_texts, "bow-64")
    ckpt = auto.to_checkpoint(fp)
    assert ckpt.config.maxpool_weight == auto.cfg.maxpool_weight > 0  # so the scores show it
    loaded = MoteRecommender.from_checkpoint(
        ckpt, beauty.item_texts, item_traits=tdata.item_traits, embed=bag_of_words
    )
    valid = tdata.valid
    np.testing.assert_array_equal(
        loaded.score(valid.users, valid.histories, valid.candidates),
        auto.score(valid.users, valid.histories, valid.candidates),
    )
