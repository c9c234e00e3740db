"""LLM motivation notes from a real Chroma store steer MOTE's scores at test time."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from m3rec.data import leave_one_out
from m3rec.encoders.notes import embed_notes, notes_from_store
from m3rec.encoders.recommender import MoteRecommender
from m3rec.eval.harness import train_data
from m3rec.store import open_store
from tests.encoders.helpers import SETTINGS, bag_of_words, topic_dataset


def motivation(label: str, strength: float, last_seen: str | None) -> dict:
    return {
        "label": label,
        "description": f"wants {label}",
        "strength": strength,
        "evidence": ["1"],
        "first_seen": last_seen,
        "last_seen": last_seen,
    }


def profile(*motivations: dict) -> dict:
    return {"motivations": list(motivations), "summary": "s", "shift": "none"}


@pytest.fixture(scope="module")
def store():
    store = open_store(None)
    ctx = {"dataset": "topics", "cold_k": 2}
    newer, older = motivation("guitar", 0.4, "2001-03-01"), motivation("novel", 0.9, "2001-01-01")
    store.put_profile("a", "u1", profile(newer, older), "s", ctx)
    store.put_profile("b", "u2", profile(motivation("tent", 0.5, None)), "s", ctx)
    cold1 = {**ctx, "cold_k": 1}
    store.put_profile("c", "u3", profile(motivation("lipstick", 1, None)), "s", cold1)
    other = {"dataset": "ml-1m", "cold_k": 2}
    store.put_profile("d", "u4", profile(motivation("tent", 1, None)), "s", other)
    store.put_profile("e", "nobody", profile(motivation("tent", 1, None)), "s", ctx)
    valid = {**ctx, "stage": "valid"}
    store.put_profile("f", "u1", profile(motivation("drums", 1, None)), "s", valid)
    return store


def test_notes_are_read_for_one_dataset_and_cut_oldest_first(store):
    users = ["u0", "u1", "u2", "u3", "u4"]
    notes = notes_from_store(store, "topics", users, cold_k=2)
    assert notes == {1: ["novel: wants novel", "guitar: wants guitar"], 2: ["tent: wants tent"]}
    assert notes_from_store(store, "topics", users, cold_k=1) == {3: ["lipstick: wants lipstick"]}


def test_validation_profiles_are_kept_apart_from_test_profiles(store):
    users = ["u0", "u1", "u2"]
    assert notes_from_store(store, "topics", users, 2, stage="valid") == {1: ["drums: wants drums"]}
    assert "drums: wants drums" not in notes_from_store(store, "topics", users, 2)[1]


def test_embed_notes_splits_one_batch_back_per_user():
    out = embed_notes({4: ["a b", "c"], 9: [], 2: ["d"]}, bag_of_words)
    assert sorted(out) == [2, 4] and out[4].shape == (2, 64) and out[2].shape == (1, 64)
    np.testing.assert_array_equal(out[2], bag_of_words(["d"]))


def test_a_note_pulls_the_ranking_towards_its_motivation():
    torch.set_num_threads(1)
    topics = topic_dataset()
    split = leave_one_out(topics)
    cfg = {"dim": 16, "batch_size": 64, "threads": 1, "epochs": 8, "item_ids": False}
    cfg |= {"notes_weight": 0.5}
    model = MoteRecommender(embed=bag_of_words, **cfg).fit(train_data(topics, split, SETTINGS, 0))
    users = np.array([1, 2])  # user 1 follows "tent" items, user 2 "novel" items
    hists = [split.test_history[u][-1:] for u in users]
    before = model.score(users, hists, None)
    model.use_notes({1: ["lipstick lipstick lipstick"]})
    after = model.score(users, hists, None)
    np.testing.assert_array_equal(after[1], before[1])  # no notes: unchanged
    lipstick = np.arange(0, 20)  # items 0..19 are the "lipstick" topic
    assert after[0, lipstick].mean() > before[0, lipstick].mean() + 0.05
    refit = model.fit(train_data(topics, split, SETTINGS, 0))  # a new encoder drops the notes
    np.testing.assert_array_equal(refit.score(users, hists, None), before)
