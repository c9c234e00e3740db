"""Each epoch logs its whole wall time, validation included, beside the training steps' time."""

from __future__ import annotations

import time

import pytest

import m3rec.encoders.training as training
from m3rec.data import leave_one_out
from m3rec.encoders.recommender import MoteRecommender
from m3rec.ranking.training_data import train_data
from tests.encoders.helpers import bag_of_words, topic_dataset

SLOW_VALIDATION = 0.2


def test_epoch_seconds_include_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    validate = training.valid_ndcg10

    def slow_validation(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(SLOW_VALIDATION)
        return validate(*args, **kwargs)

    monkeypatch.setattr(training, "valid_ndcg10", slow_validation)
    topics = topic_dataset()
    data = train_data(topics, leave_one_out(topics), 0)
    model = MoteRecommender(embed=bag_of_words, dim=8, epochs=3, patience=3, batch_size=64)
    started = time.perf_counter()
    model.fit(data)
    elapsed = time.perf_counter() - started
    history = model.result.history
    assert [e["epoch"] for e in history] == [1.0, 2.0, 3.0]
    for entry in history:
        assert {"loss", "epoch_seconds", "valid_ndcg10", "seconds"} <= entry.keys()
        assert entry["seconds"] >= entry["epoch_seconds"] + SLOW_VALIDATION
    assert sum(e["seconds"] for e in history) <= elapsed
