"""Shared test data for MOTE: the eval toy topics, its contract class and a stand-in encoder."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

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
