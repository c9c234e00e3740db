"""The same settings train bitwise-identical MOTE weights, however loaded the machine is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from m3rec.data import index_dataset, leave_one_out, load_dataset
from m3rec.encoders.checkpoint import load_checkpoint
from m3rec.encoders.recommender import MoteRecommender
from m3rec.ranking.contract import TrainData
from m3rec.ranking.training_data import train_data
from m3rec.settings import TORCH_THREADS, load_settings
from tests.encoders.train_once import SIZE, SLICE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
Weights = dict[str, torch.Tensor]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the module: the item texts are embedded once, for real."""
    return tmp_path_factory.mktemp("cache") / "embeddings"


@pytest.fixture(scope="module")
def slice_data() -> TrainData:
    data = index_dataset(load_dataset(SLICE))
    return train_data(data, leave_one_out(data), 0)


@contextmanager
def busy_cores(n: int = 2) -> Iterator[None]:
    """Keep N other processes spinning on the CPU while the block runs."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)


def train(data: TrainData, cache_dir: Path, threads: int) -> Weights:
    """Train MOTE here on THREADS torch threads and return its weights."""
    model = MoteRecommender(cache_dir=cache_dir, threads=threads, **SIZE).fit(data)
    assert torch.get_num_threads() == model.cfg.threads == threads
    return {k: v.clone() for k, v in model.encoder.state_dict().items()}


def train_in_a_new_process(out: Path, cache_dir: Path, env: dict[str, str]) -> tuple[Weights, int]:
    """Train in a fresh process with settings from ENV; return its checkpoint's weights and
    the thread count it recorded."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.encoders.train_once", str(out)],
        cwd=ROOT,
        env={**os.environ, "M3REC_PATHS__CACHE_DIR": str(cache_dir.parent), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    ckpt = load_checkpoint(out)
    assert json.loads(done.stdout.strip().splitlines()[-1])["torch_threads"] == ckpt.config.threads
    return ckpt.weights, ckpt.config.threads


def assert_same(a: Weights, b: Weights) -> None:
    assert a.keys() == b.keys()
    differ = {k: float((a[k] - b[k]).abs().max()) for k in a if not torch.equal(a[k], b[k])}
    assert not differ, f"weights differ (largest difference per tensor): {differ}"


@pytest.mark.parametrize("threads", [1, 2])
def test_two_runs_on_loaded_cores_train_identical_weights(
    slice_data: TrainData, cache_dir: Path, threads: int
) -> None:
    # Three runs: with kernels that add in arrival order, runs at 2 threads differed nearly
    # every time, but two threads that seldom run at once (very busy cores) can agree by chance.
    with busy_cores():
        first, *others = (train(slice_data, cache_dir, threads) for _ in range(3))
    for other in others:
        assert_same(first, other)


def test_default_runs_idle_and_on_loaded_cores_are_identical(
    slice_data: TrainData, cache_dir: Path, tmp_path: Path
) -> None:
    """The default thread count is fixed, so neither the load nor a new process changes it."""
    default = load_settings().torch.threads
    assert default == TORCH_THREADS == 1
    idle = train(slice_data, cache_dir, default)
    with busy_cores():
        loaded, recorded = train_in_a_new_process(tmp_path / "mote.pt", cache_dir, {})
    assert recorded == default
    assert_same(idle, loaded)


def test_the_thread_setting_reaches_torch_and_the_checkpoint(
    cache_dir: Path, tmp_path: Path
) -> None:
    _, recorded = train_in_a_new_process(
        tmp_path / "mote.pt", cache_dir, {"M3REC_TORCH__THREADS": "2"}
    )
    assert recorded == 2
