"""MAR's scorer: a real MOTE checkpoint on a real MovieLens slice is loaded only for its data."""

from __future__ import annotations

from pathlib import Path

import pytest

from m3rec.agents.encode import MoteScorer
from m3rec.data import load_dataset
from m3rec.encoders.checkpoint import CheckpointError
from m3rec.encoders.pipeline import train_mote
from tests.conftest import SMALL_MOTE

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "ml-latest-slice"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("mote") / "mote.pt"
    overrides = SMALL_MOTE
    train_mote(load_dataset(SLICE), path, overrides=overrides)
    return path


def test_a_checkpoint_of_other_data_is_refused(checkpoint) -> None:
    other = load_dataset(SLICE.parent / "amazon-beauty-slice")
    with pytest.raises(CheckpointError, match="trained on dataset"):
        MoteScorer.load(checkpoint, other)


def test_the_checkpoints_own_data_loads_and_scores_unseen_items(checkpoint) -> None:
    dataset = load_dataset(SLICE)
    scorer = MoteScorer.load(checkpoint, dataset)
    user = max(dataset.histories, key=lambda u: len(dataset.histories[u]))
    history = [e.item_id for e in dataset.histories[user]][-5:]
    unseen = [i for i in scorer.item_ids if i not in scorer.seen_items(user, history)][:20]
    scores = scorer.history_scores(user, history, unseen)
    assert scores.shape == (20,) and bool((scores == scores).all())
