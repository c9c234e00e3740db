"""LLM motivation notes steer MOTE's scores at test time."""

from __future__ import annotations

import numpy as np
import torch

from m3rec.data import leave_one_out
from m3rec.encoders.notes import embed_notes
from m3rec.encoders.recommender import MoteRecommender
from m3rec.ranking.training_data import train_data
from tests.encoders.helpers import SETTINGS, bag_of_words, topic_dataset


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
    model = MoteRecommender(embed=bag_of_words, **cfg).fit(
        train_data(
            topics, split, 0, valid_users=SETTINGS.valid_users, n_negatives=SETTINGS.n_negatives
        )
    )
    users = np.array([1, 2])  # user 1 follows "tent" items, user 2 "novel" items
    hists = [split.test_history[u][-1:] for u in users]
    before = model.score(users, hists, None)
    model.use_notes({1: ["lipstick lipstick lipstick"]})
    after = model.score(users, hists, None)
    np.testing.assert_array_equal(after[1], before[1])  # no notes: unchanged
    lipstick = np.arange(0, 20)  # items 0..19 are the "lipstick" topic
    assert after[0, lipstick].mean() > before[0, lipstick].mean() + 0.05
    refit = model.fit(
        train_data(
            topics, split, 0, valid_users=SETTINGS.valid_users, n_negatives=SETTINGS.n_negatives
        )
    )  # a new encoder drops the notes
    np.testing.assert_array_equal(refit.score(users, hists, None), before)
