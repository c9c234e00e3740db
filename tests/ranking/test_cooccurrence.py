"""Co-consumption candidates: counts, popularity normalisation, exclusion, ties and caps."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from m3rec.ranking.cooccurrence import CoConsumption


def seqs(*rows: list[int]) -> list[np.ndarray]:
    return [np.array(r, dtype=np.int64) for r in rows]


def test_similarity_is_shared_users_over_root_popularity() -> None:
    cooc = CoConsumption(seqs([0, 1, 2], [0, 1], [1, 3], [2, 2, 0]), 5, shrink=0.0)
    assert cooc.popularity.tolist() == [3, 3, 2, 1, 0]  # a repeat counts once
    sim = cooc.similarity.toarray()
    assert sim[0, 1] == pytest.approx(2 / math.sqrt(3 * 3))
    assert sim[0, 2] == pytest.approx(2 / math.sqrt(3 * 2))
    assert sim[1, 3] == pytest.approx(1 / math.sqrt(3 * 1))
    assert np.allclose(sim, sim.T) and np.all(np.diag(sim) == 0) and sim[4].sum() == 0


def test_a_blockbuster_does_not_swamp_a_specific_neighbour() -> None:
    # Item 0 is in every history; items 1 and 2 are always consumed together, by 3 users.
    rows = [[0, 1, 2]] * 3 + [[0, 3 + u] for u in range(30)]
    cooc = CoConsumption(seqs(*rows), 40)
    assert cooc.candidates(np.array([1]), 2, np.array([1])).tolist() == [2, 0]


def test_candidates_skip_excluded_and_unrelated_items() -> None:
    cooc = CoConsumption(seqs([0, 1, 2], [0, 1, 3], [4, 5]), 7)
    found = cooc.candidates(np.array([0]), 10, exclude=np.array([0, 2]))
    assert found.tolist() == [1, 3]  # 2 excluded; 4, 5 and 6 share no user with item 0
    assert cooc.candidates(np.array([0]), 1, exclude=np.array([0])).tolist() == [1]
    assert cooc.candidates(np.array([6]), 10, exclude=np.array([6])).tolist() == []
    assert cooc.candidates(np.array([], dtype=np.int64), 10, np.array([])).tolist() == []


def test_ties_are_broken_by_item_index() -> None:
    cooc = CoConsumption(seqs([5, 0], [5, 3], [5, 1]), 6)
    first = cooc.candidates(np.array([5]), 3, np.array([5]))
    assert first.tolist() == [0, 1, 3]
    assert cooc.candidates(np.array([5]), 3, np.array([5])).tolist() == first.tolist()


def test_only_the_most_recent_items_of_a_history_count() -> None:
    long = list(range(10))
    cooc = CoConsumption(seqs(long, [0, 20], [9, 21]), 22, recent=3)
    assert cooc.popularity[0] == 1 and cooc.popularity[9] == 2  # the long user's 0 is too old
    assert cooc.candidates(np.array([0]), 5, np.array([0])).tolist() == [20]
    # A query reads only its last 3 items: 0 is too old to bring in 20.
    assert 20 not in cooc.candidates(np.array([0, 7, 8, 9]), 30, np.array([])).tolist()


def test_builds_a_movielens_1m_sized_matrix_in_seconds() -> None:
    rng = np.random.default_rng(0)
    n_users, n_items = 6_040, 3_706
    lengths = rng.integers(20, 300, size=n_users)
    popular = rng.zipf(1.3, size=int(lengths.sum())) % n_items
    sequences = np.split(popular, np.cumsum(lengths)[:-1])
    started = time.perf_counter()
    cooc = CoConsumption(sequences, n_items)
    assert time.perf_counter() - started < 10.0
    found = cooc.candidates(sequences[0], 100, sequences[0])
    assert len(found) == 100 and not set(found.tolist()) & set(sequences[0].tolist())
