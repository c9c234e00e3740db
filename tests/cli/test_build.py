"""`m3rec recommend` on data it has not seen: no `train` run, no --checkpoint, a real cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from m3rec.cli import app
from m3rec.data import load_dataset
from m3rec.data.histories import PRODUCT_ITEMS, product_history
from tests.cli.test_recommend import store_profile
from tests.test_artifacts import write_generic

runner = CliRunner()


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return write_generic(tmp_path / "shelf")


def test_recommend_builds_the_checkpoint_once_then_reuses_it(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("M3REC_PATHS__CACHE_DIR", str(cache))
    dataset = load_dataset(data_dir)
    store_profile(tmp_path / "store", "u0", product_history(dataset, "u0", PRODUCT_ITEMS))
    args = [
        "recommend",
        "--data",
        str(data_dir),
        "--user",
        "u0",
        "--store",
        str(tmp_path / "store"),
        "--no-llm",
    ]
    first = runner.invoke(app, [*args, "--top", "5", "--json"])
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout)  # the build's progress and its line stay on stderr
    assert doc["profile_source"] == "store" and doc["errors"] == []
    ranked = [r["item_id"] for r in doc["items"]]
    assert len(ranked) == 5 and not set(ranked) & {e.item_id for e in dataset.histories["u0"]}
    [built] = (cache / "checkpoints").iterdir()
    assert built.name.startswith("shelf-") and built.suffix == ".pt"
    said = " ".join(first.stderr.split())
    assert "built the MOTE checkpoint for shelf in" in said and f"cached at {built}" in said
    assert "epoch 1/30" in said  # train's progress, as plain lines off a terminal

    stamp = built.stat().st_mtime_ns
    second = runner.invoke(app, [*args, "--top", "5", "--json"])
    assert second.exit_code == 0, second.output
    assert [r["item_id"] for r in json.loads(second.stdout)["items"]] == ranked
    said = " ".join(second.stderr.split())
    assert f"reusing the cached MOTE checkpoint {built}" in said and "epoch" not in said
    assert built.stat().st_mtime_ns == stamp and list((cache / "checkpoints").iterdir()) == [built]


def test_a_given_checkpoint_wins_over_the_cache(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("M3REC_PATHS__CACHE_DIR", str(cache))
    missing = tmp_path / "none.pt"
    result = runner.invoke(
        app, ["recommend", "--data", str(data_dir), "--user", "u0", "--checkpoint", str(missing)]
    )
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no checkpoint at {missing}; train one with `m3rec train --out {missing}`"
    ]
    assert not (cache / "checkpoints").exists()


def test_an_unwritable_cache_is_one_line(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("M3REC_PATHS__CACHE_DIR", str(blocker))
    result = runner.invoke(app, ["recommend", "--data", str(data_dir), "--user", "u0"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot create the checkpoint cache {blocker / 'checkpoints'}")
    assert "M3REC_PATHS__CACHE_DIR" in line and "--checkpoint" in line


def test_help_says_the_checkpoint_is_built_when_not_given() -> None:
    result = runner.invoke(app, ["recommend", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.replace("│", " ").split())
    assert "--checkpoint" in said and "Default: built on first use and cached" in said
