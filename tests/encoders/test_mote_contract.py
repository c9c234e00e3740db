"""MOTE passes the contract every recommender in the evaluation harness passes."""

from __future__ import annotations

from typing import ClassVar

import pytest

from m3rec.eval.baselines import REGISTRY
from tests.encoders.helpers import contract, topic_dataset

split = contract.split
fitted = contract.fitted


@pytest.fixture(scope="session")
def topics():
    return topic_dataset()


@pytest.fixture(autouse=True, scope="module")
def mote_registered():
    """Register MOTE by name for the contract's factory, as the harness will."""
    before = dict(REGISTRY)
    REGISTRY["mote"] = "m3rec.encoders.recommender:MoteRecommender"
    yield
    REGISTRY.clear()
    REGISTRY.update(before)


class TestMote(contract.RecommenderContract):
    name = "mote"
    random_init = True
    # The real MiniLM encoder (embeddings cached on disk after the first run).
    overrides: ClassVar[dict] = {"epochs": 8, "dim": 16, "batch_size": 64, "threads": 1}
    min_hr10 = 0.8
