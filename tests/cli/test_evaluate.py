"""`m3rec evaluate` through Typer's CliRunner: outputs, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from m3rec.cli import app
from m3rec.encoders.config import MAXPOOL_GRID

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"
runner = CliRunner()


def evaluate(args: list[str]):  # type: ignore[no-untyped-def]
    """Run `m3rec evaluate ARGS`."""
    return runner.invoke(app, ["evaluate", *args])


def test_evaluate_writes_json_markdown_and_charts(tmp_path):
    out = tmp_path / "out"
    result = evaluate(
        [
            "--data",
            str(FIXTURES / "amazon-beauty-slice"),
            "--models",
            "pop,itemknn",
            "--protocol",
            "both",
            "--cold-k",
            "0,1",
            "--seeds",
            "2",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["dataset"] == "amazon-beauty-slice"
    assert len(doc["results"]) == 2 * 2 * 2
    row = doc["results"][0]
    assert row["model"] == "pop" and row["protocol"] == "sampled" and row["cold_k"] == 0
    assert row["seeds"] == [0, 1] and row["n_users"] == 25
    assert 0 <= row["metrics"]["HR@10"] <= 1 and "HR@10" in row["std"]
    assert json.loads((out / "results.json").read_text()) == doc
    table = (out / "results.md").read_text()
    assert table.count("\n| pop") + table.count("\n| itemknn") == 8
    for protocol in ("sampled", "full"):
        png = out / f"amazon-beauty-slice_{protocol}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_prints_a_table_without_json(tmp_path):
    result = evaluate(
        [
            "--data",
            str(FIXTURES / "ml-latest-slice"),
            "--models",
            "pop",
            "--seeds",
            "1",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "| pop (best baseline) | sampled | 0 |" in result.stdout
    assert "results.json" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "/no/such/folder"], "no such folder"),
        (["--models", "pop,magic"], "unknown model 'magic'"),
        (["--cold-k", "one"], "--cold-k takes comma-separated integers"),
        (["--protocol", "random"], "unknown protocol 'random'"),
        (["--seeds", "0"], "seeds must be at least 1"),
        (["--set", "sasrec.epochs"], "--set takes MODEL.PARAM=VALUE"),
        (["--set", "pop.alpha=1", "--models", "pop"], "alpha"),
        (["--cold-users", "99999", "--cold-k", "1", "--models", "pop"], "cold-start users"),
        (["--models", "mote,m3rec", "--cold-k", "2", "--store", "{tmp}/s"], "no test profile by"),
        (["--models", "pop", "--profiled", "--cold-k", "2", "--store", "{tmp}/s"], "no test"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path, args, message):
    base = ["--data", str(FIXTURES / "amazon-beauty-slice"), "--out", str(tmp_path), "--seeds", "1"]
    result = evaluate(base + [a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error: ") and message in lines[-1], result.output
    assert "Traceback" not in result.output


def test_folder_of_unknown_format(tmp_path):
    (tmp_path / "data.txt").write_text("1 2 3\n")
    result = evaluate(["--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "matches no known dataset format" in result.output


def test_unwritable_out_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = evaluate(
        [
            "--data",
            str(FIXTURES / "ml-latest-slice"),
            "--models",
            "pop",
            "--seeds",
            "1",
            "--out",
            str(blocker / "sub"),
        ],
    )
    assert result.exit_code == 1
    assert "cannot write results" in result.output


def test_separate_runs_can_be_paired_like_a_joint_run(tmp_path):
    from m3rec.eval.report import paired_across

    data = ["--data", str(FIXTURES / "ml-latest-slice"), "--seeds", "2", "--json"]
    joint = evaluate([*data, "--models", "pop,itemknn", "--out", str(tmp_path / "j")])
    assert joint.exit_code == 0, joint.output
    for model in ("pop", "itemknn"):
        res = evaluate([*data, "--models", model, "--out", str(tmp_path / model)])
        assert res.exit_code == 0, res.output
    files = [tmp_path / m / "per_user.npz" for m in ("pop", "itemknn")]
    rows = {r["model"]: r for r in json.loads(joint.stdout)["results"]}
    best = "itemknn" if rows["itemknn"]["best_baseline"] else "pop"
    other = "pop" if best == "itemknn" else "itemknn"
    apart = paired_across(files, other, best, "sampled", 0)
    assert apart["p_value"] == pytest.approx(rows[other]["paired_test"]["p_value"])
    assert apart["mean_diff"] == pytest.approx(rows[other]["paired_test"]["mean_diff"])


def test_config_file_settings_reach_the_run(tmp_path):
    config = tmp_path / "m3rec.toml"
    config.write_text("[torch]\nthreads = 2\n")
    args = ["--data", str(FIXTURES / "ml-latest-slice"), "--models", "bprmf", "--seeds", "1"]
    args += ["--set", "bprmf.epochs=1", "--out", str(tmp_path / "o"), "--config", str(config)]
    result = evaluate([*args, "--json"])
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    assert settings["torch_threads"] == 2
    assert settings["model_configs"]["bprmf"]["threads"] == 2


def test_a_missing_config_file_is_one_line(tmp_path):
    result = evaluate(["--config", str(tmp_path / "none.toml"), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: config file {tmp_path / 'none.toml'} does not exist: create it or drop --config"
    ]


def test_a_variant_runs_beside_its_model_shares_its_fit_and_is_tested_against_it(tmp_path):
    result = evaluate(
        [
            "--data",
            str(FIXTURES / "amazon-beauty-slice"),
            "--models",
            "mote,mote@near,mote@auto",
            "--set",
            "mote.epochs=1",
            "--set",
            "mote.dim=16",
            "--set",
            "mote.maxpool_weight=0",
            "--set",
            "mote@near.maxpool_weight=0.5",
            "--set",
            "mote@auto.maxpool_weight=auto",
            "--seeds",
            "1",
            "--cold-k",
            "0",
            "--out",
            str(tmp_path / "out"),
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rows = {r["model"]: r for r in doc["results"] if r["protocol"] == "sampled"}
    assert set(rows) == {"mote", "mote@near", "mote@auto"}
    assert rows["mote@near"]["paired_test_base"]["against"] == "mote"
    assert rows["mote@near"]["metrics"] != rows["mote"]["metrics"]
    assert "paired_test_base" not in rows["mote"]
    assert rows["mote@auto"]["fit_taken_from"] == {"mote": 1}
    (chosen, fits), *_ = rows["mote@auto"]["maxpool_weight_chosen"].items()
    assert float(chosen) in MAXPOOL_GRID and fits == 1  # one seed, one fit, one choice
    assert "maxpool_weight_chosen" not in rows["mote"]  # a fixed weight is not chosen
    assert doc["settings"]["model_configs"]["mote@auto"]["maxpool_weight"] is None


@pytest.mark.parametrize(
    ("models", "setting", "message"),
    [
        ("mote@", "mote.epochs=1", "unknown model 'mote@'"),
        ("magic@x", "mote.epochs=1", "unknown model 'magic@x'"),
        ("pop", "mote@.epochs=1", "--set takes MODEL.PARAM=VALUE"),
    ],
)
def test_a_variant_needs_a_known_model_and_a_tag(tmp_path, models, setting, message):
    data = ["--data", str(FIXTURES / "amazon-beauty-slice"), "--seeds", "1", "--out", str(tmp_path)]
    result = evaluate([*data, "--models", models, "--set", setting, "--cold-k", "0"])
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output
