"""Fixtures for the data tests: small real slices, and the shared real datasets when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "data"


def shared_data() -> Path:
    """Return the shared data folder: $M3REC_SHARED_DATA or <repo>/../shared/data."""
    return Path(os.environ.get("M3REC_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def real_dataset_dir():
    """Return a function giving a shared dataset folder, skipping the test when it is absent."""

    def get(name: str, *required: str) -> Path:
        folder = shared_data() / name
        missing = [f for f in required if not (folder / f).is_file()]
        if not folder.is_dir() or missing:
            pytest.skip(f"real data {folder} not present (set M3REC_SHARED_DATA)")
        return folder

    return get
