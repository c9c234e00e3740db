"""MAR's alignment in MOTE's space, on a real checkpoint trained on a real MovieLens slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from m3rec.agents.encode import MoteScorer
from m3rec.data import load_dataset
from m3rec.encoders.alignment import MotivationSpace
from m3rec.encoders.pipeline import train_mote
from tests.conftest import SMALL_MOTE

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "ml-latest-slice"


@pytest.fixture(scope="module")
def space(tmp_path_factory):  # type: ignore[no-untyped-def]
    dataset = load_dataset(SLICE)
    path = tmp_path_factory.mktemp("mote") / "mote.pt"
    train_mote(dataset, path, overrides=SMALL_MOTE)
    scorer = MoteScorer.load(path, dataset)
    return dataset, scorer, MotivationSpace(scorer.model)


def _genre_items(dataset, scorer, genre: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array(
        [
            scorer.index[i]
            for i, item in dataset.items.items()
            if genre in item.fields.get("genres", "")
        ]
    )


def test_a_motivation_is_closer_to_the_items_that_serve_it(space) -> None:  # type: ignore[no-untyped-def]
    dataset, scorer, mar = space
    notes = [
        "a mood or escape, late-night scares: wants to be frightened by horror and monsters",
        "a social occasion, family film night: animated films to watch with the kids",
    ]
    vectors = mar.motivation_vectors(notes)
    assert vectors.shape == (2, 16)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    horror, kids = (
        _genre_items(dataset, scorer, "Horror"),
        _genre_items(dataset, scorer, "Children"),
    )
    assert len(horror) and len(kids)
    on_horror = mar.align(vectors, horror).cosines.mean(axis=1)
    on_kids = mar.align(vectors, kids).cosines.mean(axis=1)
    assert on_horror[0] > on_horror[1] and on_kids[1] > on_kids[0]


def test_each_candidate_keeps_its_best_motivation_and_that_cosine(space) -> None:  # type: ignore[no-untyped-def]
    _dataset, scorer, mar = space
    vectors = mar.motivation_vectors(["learning, history lessons: war films", "comedy nights"])
    items = np.arange(min(30, len(scorer.item_ids)))
    got = mar.align(vectors, items)
    assert got.cosines.shape == (2, len(items))
    assert np.array_equal(got.best, got.cosines.argmax(axis=0))
    assert np.allclose(got.strength, got.cosines.max(axis=0))
    empty = mar.align(mar.motivation_vectors([]), items)
    assert empty.cosines.shape == (0, len(items)) and not empty.strength.any()


def test_the_harness_scores_mar_alignment_as_recommend_does(space) -> None:  # type: ignore[no-untyped-def]
    from m3rec.encoders.alignment import aligned_scores

    _dataset, scorer, mar = space
    model = scorer.model
    notes = ["a mood or escape, late-night scares: wants to be frightened by horror"]
    user, history = 0, [np.array([1, 2, 3])]
    candidates = np.array([[5, 6, 7, 8, -1]])
    model.use_notes({user: notes})
    plain = model.score(np.array([user]), history, candidates)
    model.config = model.cfg.model_copy(update={"align_weight": 0.5})
    try:
        with_align = model.score(np.array([user]), history, candidates)
    finally:
        model.config = model.cfg.model_copy(update={"align_weight": 0.0})
        model.use_notes({})
    items = np.where(candidates[0] >= 0, candidates[0], 0)
    strength = mar.align(mar.motivation_vectors(notes), items).strength
    assert np.allclose(with_align[0], aligned_scores(plain[0], strength, 0.5), atol=1e-6)
    assert not np.allclose(with_align, plain)
