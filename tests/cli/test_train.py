"""`m3rec train`: a real run writes a loadable checkpoint; bad input is one line and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from m3rec.cli import app
from m3rec.data import index_dataset, load_dataset
from m3rec.encoders.checkpoint import fingerprint, load_checkpoint
from m3rec.encoders.config import MAXPOOL_GRID

BEAUTY = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "amazon-beauty-slice"

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["train", *args])


def test_train_writes_a_checkpoint_that_matches_its_data(tmp_path, monkeypatch):
    monkeypatch.setenv("M3REC_TORCH__THREADS", "1")
    out = tmp_path / "mote.pt"
    result = invoke(
        "--data", str(BEAUTY), "--epochs", "2", "--dim", "8", "--out", str(out), "--json"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["epochs_run"] == 2 and doc["checkpoint"] == str(out)
    assert 0.0 <= doc["valid_ndcg10"] <= 1.0
    assert doc["member_best_epochs"] == [doc["best_epoch"]]
    data = index_dataset(load_dataset(BEAUTY))
    fp = fingerprint(data.name, data.item_ids, data.sequences, data.item_texts)
    ckpt = load_checkpoint(out, fp)
    assert ckpt.config.dim == 8 and set(ckpt.weights) >= {"queries", "decay"}
    scan = {float(w): v for w, v in doc["maxpool_valid_ndcg10"].items()}
    gain_z = {float(w): z for w, z in doc["maxpool_gain_z"].items()}
    assert set(scan) == set(MAXPOOL_GRID) and set(gain_z) == set(MAXPOOL_GRID) - {0.0}
    clear = [0.0] + [w for w, z in gain_z.items() if z >= doc["maxpool_min_z"] == 2.0]
    assert doc["maxpool_weight"] == max(clear, key=lambda w: (scan[w], -w))
    assert ckpt.config.maxpool_weight == doc["maxpool_weight"]  # `recommend` scores with it


def test_the_line_names_the_maxpool_weight_chosen_or_none_when_fixed(tmp_path, monkeypatch):
    monkeypatch.setenv("M3REC_TORCH__THREADS", "1")
    args = ["--data", str(BEAUTY), "--epochs", "1", "--dim", "8", "--out", str(tmp_path / "m.pt")]
    chosen = invoke(*args)
    assert chosen.exit_code == 0, chosen.output
    assert "chosen on validation" in chosen.stdout
    fixed = invoke(*args, "--set", "maxpool_weight=0.5")
    assert fixed.exit_code == 0 and "maxpool_weight" not in fixed.stdout


def test_an_ensemble_reports_each_members_best_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("M3REC_TORCH__THREADS", "1")
    out = tmp_path / "mote.pt"
    result = invoke(
        "--data", str(BEAUTY), "--epochs", "2", "--dim", "8", "--set", "members=2",
        "--out", str(out), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc["member_best_epochs"]) == 2
    assert doc["best_epoch"] == max(doc["member_best_epochs"])
    assert doc["config"]["members"] == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_line(tmp_path):
    result = invoke("--data", str(BEAUTY), "--device", "cuda", "--out", str(tmp_path / "m.pt"))
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: --device cuda was asked for but torch sees no GPU; use --device cpu"
    )


def test_missing_data_is_one_line(tmp_path):
    result = invoke("--data", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "nowhere" in lines[0]


@pytest.mark.parametrize(
    ("setting", "named"),
    [("slots=0", "invalid MOTE setting slots"), ("nonsense", "--set takes PARAM=VALUE")],
)
def test_bad_settings_are_one_line(tmp_path, setting, named):
    result = invoke("--data", str(BEAUTY), "--set", setting)
    assert result.exit_code == 1
    assert named in result.output and len(result.output.strip().splitlines()) == 1


def test_seconds_per_epoch_is_the_mean_epoch_not_the_whole_run(tmp_path):
    result = invoke(
        "--data", str(BEAUTY), "--epochs", "3", "--dim", "8", "--out", str(tmp_path / "m.pt"),
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    epochs = [entry["seconds"] for entry in doc["epochs"]]
    assert len(epochs) == doc["epochs_run"] == 3
    assert doc["seconds_per_epoch"] == pytest.approx(sum(epochs) / 3, abs=1e-3)
    # the whole run also embeds item texts, validates and saves: more than the epochs alone
    assert doc["train_seconds"] > sum(epochs)


def test_progress_goes_to_stderr_and_json_stdout_stays_json(tmp_path):
    config = tmp_path / "m3rec.toml"  # an empty embedding cache: the texts are embedded for real
    config.write_text(f'[paths]\ncache_dir = "{tmp_path / "cache"}"\n')
    result = invoke(
        "--data", str(BEAUTY), "--epochs", "2", "--dim", "8", "--out", str(tmp_path / "m.pt"),
        "--config", str(config), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["epochs_run"] == 2
    n_items = index_dataset(load_dataset(BEAUTY)).n_items
    assert f"embedding item texts {n_items}/{n_items}" in result.stderr
    assert "epoch 1/2" in result.stderr and "epoch 2/2" in result.stderr
    assert list((tmp_path / "cache" / "embeddings").glob("*.npy"))  # --config's cache


def test_list_settings_names_every_setting_set_takes_with_what_it_does():
    from m3rec.encoders.config import MoteConfig

    doc = json.loads(invoke("--list-settings", "--json").stdout)
    rows = {row["name"]: row for row in doc["settings"]}
    assert list(rows) == list(MoteConfig.model_fields)
    assert all(row["description"] for row in rows.values())  # none left unexplained
    assert rows["maxpool_weight"]["default"] == "auto" and rows["dim"]["default"] == 128
    text = invoke("--list-settings")
    assert text.exit_code == 0 and "maxpool_min_z = 2.0: how many standard errors" in text.stdout
