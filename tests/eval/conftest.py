"""Shared eval fixtures: a structured toy dataset that a working recommender can learn."""

from __future__ import annotations

import numpy as np
import pytest

from m3rec.data.splits import IndexedDataset

WORDS = ("lipstick", "tent", "novel", "guitar")
ITEMS_PER_TOPIC = 20


def topic_dataset(n_users: int = 160, seed: int = 0) -> IndexedDataset:
    """Users each follow one topic, walking its items in a fixed cyclic order."""
    rng = np.random.default_rng(seed)
    n_items = len(WORDS) * ITEMS_PER_TOPIC
    seqs = []
    for u in range(n_users):
        topic = u % len(WORDS)
        start, length = rng.integers(0, ITEMS_PER_TOPIC), rng.integers(6, 15)
        seqs.append(topic * ITEMS_PER_TOPIC + (start + np.arange(length)) % ITEMS_PER_TOPIC)
    texts = [f"{WORDS[i // ITEMS_PER_TOPIC]} number {i % ITEMS_PER_TOPIC}" for i in range(n_items)]
    users = [f"u{u}" for u in range(n_users)]
    return IndexedDataset("topics", users, [str(i) for i in range(n_items)], seqs, texts)


@pytest.fixture(scope="session")
def topics() -> IndexedDataset:
    """Return the toy topic dataset."""
    return topic_dataset()
