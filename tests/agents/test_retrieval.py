"""MAR's retrieve step: a real MOTE checkpoint on a real MovieLens slice, real Chroma."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from m3rec.agents.encode import MoteScorer
from m3rec.agents.retrieval import ensure_item_index, retrieve_with_sources
from m3rec.data import index_dataset, load_dataset
from m3rec.data.histories import evaluation_history
from m3rec.encoders.pipeline import train_mote
from m3rec.ranking.cooccurrence import CoConsumption
from m3rec.settings import StoreSettings
from m3rec.store import memory_store, open_store
from tests.conftest import SMALL_MOTE

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "ml-latest-slice"
SMALL = {"n_vector": 20, "n_cf": 10}  # the slice has 319 items: keep the sets well below it


def candidates(*args, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    """Return only the candidate ids of a retrieval."""
    return retrieve_with_sources(*args, **kwargs).candidates


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(SLICE)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embeddings")


def train(dataset, out: Path, cache: Path, seed: int) -> Path:
    overrides = {**SMALL_MOTE, "slots": 2}
    train_mote(dataset, out, seed=seed, overrides=overrides, cache_dir=cache)
    return out


@pytest.fixture(scope="module")
def checkpoint(dataset, cache, tmp_path_factory) -> Path:
    return train(dataset, tmp_path_factory.mktemp("mote") / "mote.pt", cache, seed=0)


@pytest.fixture(scope="module")
def scorer(dataset, checkpoint, cache) -> MoteScorer:
    return MoteScorer.load(checkpoint, dataset, cache_dir=cache)


@pytest.fixture(scope="module")
def cooc(dataset) -> CoConsumption:
    indexed = index_dataset(dataset)
    return CoConsumption(indexed.sequences, indexed.n_items)


def history_of(dataset, user: str) -> list[str]:
    return [h.item_id for h in evaluation_history(dataset, user)]


@pytest.mark.parametrize("user", ["1", "4"])
def test_no_item_the_user_has_is_a_candidate(dataset, scorer, cooc, user) -> None:
    history = history_of(dataset, user)
    found = candidates(scorer, memory_store(), cooc, user, history, **SMALL)
    everything = {e.item_id for e in dataset.histories[user]}  # the held-out items too
    assert found and not set(found) & everything
    assert len(found) == len(set(found))


@pytest.mark.parametrize("user", ["2", "4"])
def test_the_exact_mote_top_items_are_candidates(dataset, scorer, cooc, user) -> None:
    history = history_of(dataset, user)
    seen = scorer.seen_items(user, history)
    unseen = [i for i in scorer.item_ids if i not in seen]
    exact = scorer.history_scores(user, history, unseen)
    top = {unseen[j] for j in np.argsort(-exact, kind="stable")[:20]}
    found = set(candidates(scorer, memory_store(), cooc, user, history, **SMALL))
    assert len(top & found) >= 18  # 20 nearest per slot cover the best-slot top 20 (HNSW aside)
    assert len(found) < len(unseen)  # not the whole catalogue


def test_retrieval_is_deterministic(dataset, scorer, cooc) -> None:
    store, history = memory_store(), history_of(dataset, "3")
    first = candidates(scorer, store, cooc, "3", history, **SMALL)
    assert candidates(scorer, store, cooc, "3", history, **SMALL) == first
    assert candidates(scorer, memory_store(), cooc, "3", history, **SMALL) == first


def test_both_sources_contribute(dataset, scorer, cooc) -> None:
    history = history_of(dataset, "2")
    found = retrieve_with_sources(scorer, memory_store(), cooc, "2", history, **SMALL)
    assert 0 < len(found.cf) <= 10 and len(found.vector) >= 20
    assert found.candidates == list(dict.fromkeys(found.vector + found.cf))
    scores = scorer.history_scores("2", history, list(found.vector))
    assert scores[0] == pytest.approx(scores.max(), abs=1e-5)  # best cosine first


def test_a_motivation_query_brings_in_its_own_neighbours(dataset, scorer, cooc) -> None:
    user, history = "2", history_of(dataset, "2")
    store = memory_store()
    plain = candidates(scorer, store, cooc, user, history, **SMALL)
    seen = scorer.seen_items(user, history)
    outsider = next(i for i in reversed(scorer.item_ids) if i not in seen and i not in plain)
    query = scorer.item_vectors()[scorer.index[outsider]][None, :]
    with_query = candidates(scorer, store, cooc, user, history, query, **SMALL)
    assert outsider in with_query and set(plain) <= set(with_query)
    with pytest.raises(ValueError, match="dimensions"):
        candidates(scorer, store, cooc, user, history, np.ones((1, 7)), **SMALL)


def test_a_user_outside_the_data_is_served_from_their_history(dataset, scorer, cooc) -> None:
    history = history_of(dataset, "2")[:5]
    found = candidates(scorer, memory_store(), cooc, "newcomer", history, **SMALL)
    assert found and not set(found) & set(history)
    assert scorer.seen_items("newcomer", history) == set(history)


def test_a_second_store_and_scorer_reuse_the_index(
    dataset, checkpoint, cache, cooc, tmp_path
) -> None:
    history = history_of(dataset, "3")
    first_scorer = MoteScorer.load(checkpoint, dataset, cache_dir=cache)
    first_store = open_store(StoreSettings(path=tmp_path / "store"))
    assert ensure_item_index(first_scorer, first_store)  # built on first use
    first = candidates(first_scorer, first_store, cooc, "3", history, **SMALL)
    again = MoteScorer.load(checkpoint, dataset, cache_dir=cache)
    store = open_store(StoreSettings(path=tmp_path / "store"))
    assert again.index_key == first_scorer.index_key
    assert not ensure_item_index(again, store)  # found whole: not rebuilt
    assert store.item_index_size(again.index_key) == len(again.item_ids)
    assert candidates(again, store, cooc, "3", history, **SMALL) == first


def test_a_retrained_checkpoint_gets_its_own_index(
    dataset, scorer, checkpoint, cache, cooc, tmp_path
) -> None:
    other = MoteScorer.load(train(dataset, tmp_path / "other.pt", cache, seed=1), dataset)
    assert other.index_key != scorer.index_key
    store = memory_store()
    assert ensure_item_index(scorer, store) and ensure_item_index(other, store)
    assert not ensure_item_index(scorer, store)  # the first index is still whole
