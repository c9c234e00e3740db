"""Item vector indexes in real Chroma (in memory, on a folder, on a server): exact cosine, kept
apart."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from m3rec.embeddings import load_text_encoder
from m3rec.settings import StoreSettings
from m3rec.store import MotivationStore, memory_store, open_store
from tests.conftest import ChromaServer

DIM = 24  # not MiniLM's 384: an embedding function run on these would fail loudly


def random_items(n: int, seed: int, prefix: str = "i") -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    return [f"{prefix}{j}" for j in range(n)], rng.standard_normal((n, DIM)).astype(np.float32)


def brute_force(ids: list[str], items: np.ndarray, queries: np.ndarray, k: int):
    units = items / np.linalg.norm(items, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    sims = q @ units.T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return [[(ids[j], float(sims[r, j])) for j in row] for r, row in enumerate(top)]


class ItemIndexContract:
    """What every store's item vector index must do; subclasses say how to open a store."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> MotivationStore:
        raise NotImplementedError

    def test_nearest_items_are_the_exact_cosine_neighbours(self, store: MotivationStore) -> None:
        ids, vectors = random_items(300, seed=1)
        store.put_item_vectors("mote-a", ids, vectors)
        queries = np.random.default_rng(2).standard_normal((5, DIM)).astype(np.float32)
        found = store.nearest_items("mote-a", queries, k=20)
        expected = brute_force(ids, vectors, queries, 20)
        assert store.item_index_size("mote-a") == 300
        assert [[i for i, _ in row] for row in found] == [[i for i, _ in row] for row in expected]
        got = np.array([[s for _, s in row] for row in found])
        want = np.array([[s for _, s in row] for row in expected])
        np.testing.assert_allclose(got, want, atol=1e-5)
        assert all(np.all(np.diff(row) <= 1e-7) for row in got)  # best first

    def test_a_large_index_is_added_in_batches_and_stays_near_exact(
        self, store: MotivationStore
    ) -> None:
        ids, vectors = random_items(1_234, seed=3)
        store.put_item_vectors("big", ids, vectors)
        assert store.item_index_size("big") == 1_234
        queries = np.random.default_rng(4).standard_normal((10, DIM)).astype(np.float32)
        found = store.nearest_items("big", queries, k=50)
        expected = brute_force(ids, vectors, queries, 50)
        recall = np.mean(
            [
                len({i for i, _ in f} & {i for i, _ in e}) / 50
                for f, e in zip(found, expected, strict=True)
            ]
        )
        assert recall >= 0.95

    def test_putting_an_index_again_replaces_its_contents(self, store: MotivationStore) -> None:
        store.put_item_vectors("k", *random_items(200, seed=5, prefix="old"))
        ids, vectors = random_items(30, seed=6, prefix="new")
        store.put_item_vectors("k", ids, vectors)
        assert store.item_index_size("k") == 30
        found = store.nearest_items("k", vectors[:2], k=100)
        assert [len(row) for row in found] == [30, 30]  # k beyond the index: all of it
        assert {i for row in found for i, _ in row} == set(ids)
        assert [row[0][0] for row in found] == ids[:2]  # each vector's nearest item is itself

    def test_two_index_keys_are_kept_apart(self, store: MotivationStore) -> None:
        a_ids, a = random_items(40, seed=7, prefix="a")
        b_ids, b = random_items(60, seed=8, prefix="b")
        long_key = "checkpoint/" + "x" * 200 + " with spaces..and dots"
        store.put_item_vectors("mote-a", a_ids, a)
        store.put_item_vectors(long_key, b_ids, b)
        assert store.item_index_size("mote-a") == 40 and store.item_index_size(long_key) == 60
        assert {i for i, _ in store.nearest_items("mote-a", b[:1], k=100)[0]} == set(a_ids)
        assert {i for i, _ in store.nearest_items(long_key, a[:1], k=100)[0]} == set(b_ids)
        assert store.count("notes") == 0 and store.count("traits") == 0

    def test_a_missing_index_is_empty(self, store: MotivationStore) -> None:
        assert store.item_index_size("never-built") == 0
        queries = np.ones((2, DIM), dtype=np.float32)
        assert store.nearest_items("never-built", queries, k=5) == [[], []]

    def test_mismatched_ids_and_vectors_are_refused(self, store: MotivationStore) -> None:
        ids, vectors = random_items(10, seed=9)
        with pytest.raises(ValueError, match="one vector row per item"):
            store.put_item_vectors("k", ids[:9], vectors)

    def test_the_text_embedding_model_is_never_used(self, store: MotivationStore) -> None:
        before = load_text_encoder.cache_info()
        ids, vectors = random_items(50, seed=10)
        store.put_item_vectors("k", ids, vectors)
        store.nearest_items("k", vectors[:3], k=5)
        after = load_text_encoder.cache_info()
        assert (after.hits, after.misses) == (before.hits, before.misses)


class TestMemoryItemIndex(ItemIndexContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> MotivationStore:
        return memory_store()

    def test_two_memory_stores_do_not_share_an_index(self, store: MotivationStore) -> None:
        store.put_item_vectors("k", *random_items(20, seed=11))
        assert memory_store().item_index_size("k") == 0


class TestFolderItemIndex(ItemIndexContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> MotivationStore:
        return open_store(StoreSettings(path=tmp_path / "store"))

    def test_an_index_outlives_its_store(self, store: MotivationStore, tmp_path: Path) -> None:
        ids, vectors = random_items(80, seed=12)
        store.put_item_vectors("k", ids, vectors)
        again = open_store(StoreSettings(path=tmp_path / "store"))
        assert again.item_index_size("k") == 80
        assert again.nearest_items("k", vectors[5:6], k=1)[0][0][0] == ids[5]


class TestServerItemIndex(ItemIndexContract):
    @pytest.fixture
    def store(self, chroma_server: ChromaServer) -> MotivationStore:
        database = f"test_{uuid.uuid4().hex[:12]}"
        return open_store(StoreSettings(url=chroma_server.url, database=database))


def test_clients_that_build_and_read_one_index_at_once_never_see_it_gone(
    chroma_server: ChromaServer,
) -> None:
    """What 8 `recommend` processes starting together on one server do (the load test found
    the index dropped under its readers when each rebuilt it)."""
    from concurrent.futures import ThreadPoolExecutor

    settings = StoreSettings(url=chroma_server.url, database=f"test_{uuid.uuid4().hex[:12]}")
    ids, vectors = random_items(600, seed=5)
    expected = brute_force(ids, vectors, vectors[:3], k=5)

    def build_then_read(_: int) -> list[list[str]]:
        client = open_store(settings)
        found = []
        for _round in range(3):
            if client.item_index_size("k") != len(ids):
                client.put_item_vectors("k", ids, vectors)
            found.append(
                [[i for i, _s in row] for row in client.nearest_items("k", vectors[:3], 5)]
            )
        return found

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(build_then_read, range(4)))
    want = [[i for i, _s in row] for row in expected]
    assert all(rounds == [want] * 3 for rounds in results)
