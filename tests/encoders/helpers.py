"""Shared test data for MOTE: the eval toy topics, its contract class and a stand-in encoder."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("M3REC_SHARED_DATA", TESTS.parents[0].parent / "shared" / "data"))


def _load(name: str, path: Path) -> ModuleType:
    # A private copy: subclassing it does not enter eval's own list of contract-tested baselines.
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


eval_conftest = _load("_mote_eval_conftest", TESTS / "eval" / "conftest.py")
contract = _load("_mote_eval_contract", TESTS / "eval" / "test_eval_baselines.py")
topic_dataset = eval_conftest.topic_dataset
bag_of_words = contract.bag_of_words
SETTINGS = contract.SETTINGS


def loo_train_data(dataset: Any) -> Any:
    """Return DATASET's leave-one-out training data, seed 0, with the toy harness's validation
    users and negatives (SETTINGS)."""
    from m3rec.data import leave_one_out
    from m3rec.ranking.training_data import train_data

    return train_data(
        dataset,
        leave_one_out(dataset),
        0,
        valid_users=SETTINGS.valid_users,
        n_negatives=SETTINGS.n_negatives,
    )
