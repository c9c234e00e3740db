"""What a run depends on comes from the settings and is written into its results."""

from __future__ import annotations

from pathlib import Path

import pytest

from m3rec.data.splits import IndexedDataset
from m3rec.eval.harness import EvalSettings, run_evaluation
from m3rec.settings import TORCH_THREADS, load_settings


def test_models_train_on_the_thread_setting_unless_one_is_set_for_them() -> None:
    plan = EvalSettings(
        models=("bprmf", "sasrec", "pop"), torch_threads=2, overrides={"sasrec": {"threads": 1}}
    )
    assert plan.build("bprmf", 0).config.model_dump()["threads"] == 2
    assert plan.build("sasrec", 0).config.model_dump()["threads"] == 1
    assert "threads" not in plan.model_config("pop").model_dump()
    assert EvalSettings(models=("mote",)).model_config("mote").model_dump()["threads"] == 1
    assert TORCH_THREADS == 1


def test_the_results_record_threads_and_every_model_setting(topics: IndexedDataset) -> None:
    plan = EvalSettings(
        models=("pop", "bprmf"),
        seeds=1,
        torch_threads=2,
        overrides={"bprmf": {"epochs": 1, "dim": 8}},
    )
    settings = run_evaluation(topics, plan).to_json()["settings"]
    assert settings["torch_threads"] == 2
    assert settings["model_configs"]["bprmf"] == {
        **plan.model_config("bprmf").model_dump(exclude={"seed"}),
        "threads": 2,
        "epochs": 1,
        "dim": 8,
    }
    assert settings["model_configs"]["pop"] == {}


def test_embeddings_are_cached_in_the_cache_dir_setting(
    topics: IndexedDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("M3REC_PATHS__CACHE_DIR", str(tmp_path / "cache"))
    settings = load_settings()
    plan = EvalSettings(models=("textsim",), seeds=1, cache_dir=settings.paths.embeddings_dir)
    run_evaluation(topics, plan)
    assert len(list((tmp_path / "cache" / "embeddings").glob("*.npy"))) == 1
    defaults = [tmp_path / "xdg-cache" / "m3rec", tmp_path / "home" / ".cache" / "m3rec"]
    assert not [p for d in defaults for p in d.rglob("*.npy")]
