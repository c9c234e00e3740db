"""MOTE checkpoints: a round trip scores the same; mismatched data or encoders are refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from m3rec.encoders.checkpoint import (
    CheckpointError,
    fingerprint,
    load_checkpoint,
    save_checkpoint,
)
from m3rec.encoders.recommender import MoteRecommender
from m3rec.errors import M3recError
from tests.encoders.helpers import bag_of_words, loo_train_data, topic_dataset


@pytest.fixture(scope="module")
def topics():
    return topic_dataset()


@pytest.fixture(scope="module")
def trained(topics):
    torch.set_num_threads(1)
    tdata = loo_train_data(topics)
    cfg = {"dim": 16, "batch_size": 64, "threads": 1, "epochs": 3, "slots": 2}
    return MoteRecommender(embed=bag_of_words, **cfg).fit(tdata)


def fp_of(data):
    return fingerprint(data.name, data.item_ids, data.sequences, data.item_texts, "bow-64")


def test_round_trip_scores_the_same(tmp_path, topics, trained):
    path = tmp_path / "mote.pt"
    save_checkpoint(path, trained.to_checkpoint(fp_of(topics)))
    ckpt = load_checkpoint(path, fp_of(topics))
    assert ckpt.config == trained.config and ckpt.metrics["best_epoch"] == trained.best_epoch
    loaded = MoteRecommender.from_checkpoint(ckpt, topics.item_texts, embed=bag_of_words)
    users = np.arange(5)
    hists = [topics.sequences[u][:-1] for u in users]
    expected = trained.score(users, hists, None)
    np.testing.assert_array_equal(loaded.score(users, hists, None), expected)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: dataclasses.replace(d, name="other"), "dataset 'topics', not 'other'"),
        (
            lambda d: dataclasses.replace(d, sequences=[s[:-1] for s in d.sequences]),
            "other topics data",
        ),
        (
            lambda d: dataclasses.replace(d, item_texts=[t.upper() for t in d.item_texts]),
            "other item texts",
        ),
    ],
)
def test_mismatched_data_is_refused(tmp_path, topics, trained, change, named):
    path = tmp_path / "mote.pt"
    save_checkpoint(path, trained.to_checkpoint(fp_of(topics)))
    with pytest.raises(CheckpointError, match="retrain") as caught:
        load_checkpoint(path, fp_of(change(topics)))
    message = str(caught.value)
    assert named in message and "\n" not in message
    assert isinstance(caught.value, M3recError)


def test_another_text_encoder_is_refused(tmp_path, topics, trained):
    path = tmp_path / "mote.pt"
    save_checkpoint(path, trained.to_checkpoint(fp_of(topics)))
    other = fingerprint(topics.name, topics.item_ids, topics.sequences, topics.item_texts)
    with pytest.raises(CheckpointError, match="text encoder bow-64, not sentence-transformers"):
        load_checkpoint(path, other)


def test_missing_and_corrupt_files_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "absent.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable MOTE checkpoint"):
        load_checkpoint(bad)
    other = tmp_path / "other.pt"
    torch.save({"weights": {}}, other)
    with pytest.raises(CheckpointError, match="not a readable MOTE checkpoint"):
        load_checkpoint(other)
