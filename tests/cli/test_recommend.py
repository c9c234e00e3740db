"""`m3rec recommend`: a real MOTE checkpoint on a real MovieLens slice, a real Chroma store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from m3rec.agents.mope import current_prompt_id, profile_key
from m3rec.agents.notes import motivation_notes
from m3rec.cli import app
from m3rec.data import load_dataset
from m3rec.data.histories import PRODUCT_ITEMS, product_history
from m3rec.encoders.pipeline import train_mote
from m3rec.llm.factory import model_identity
from m3rec.schemas import MotivationProfile
from m3rec.settings import StoreSettings, load_settings
from m3rec.store import open_store
from tests.conftest import SMALL_MOTE, free_port

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "ml-latest-slice"
runner = CliRunner()


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(SLICE)


@pytest.fixture(scope="module")
def checkpoint(dataset, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mote") / "mote.pt"
    overrides = {**SMALL_MOTE, "epochs": 3, "notes_weight": 0.5}
    train_mote(dataset, path, overrides=overrides)
    return path


def longest_user(dataset) -> str:
    return max(dataset.histories, key=lambda u: len(dataset.histories[u]))


def recommend(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["recommend", *args])


def store_profile(store_dir: Path, user: str, history) -> None:  # type: ignore[no-untyped-def]
    motive = {
        "label": "family time",
        "description": "wants animated children's films",
        "evidence": [],
        "strength": 0.9,
        "first_seen": None,
        "last_seen": None,
    }
    profile = MotivationProfile(
        user_id=user,
        motivations=[motive, {**motive, "label": "nostalgia"}],
        summary="Watches with the family.",
        shift="none",
        prompt_id=current_prompt_id(),
        model="test",
    )
    key = profile_key(user, history, current_prompt_id(), model_identity(load_settings()))
    store = open_store(StoreSettings(path=store_dir))
    store.put_profile(
        key, user, profile.model_dump(mode="json"), profile.summary, motivation_notes(profile), {}
    )


def test_ranks_with_a_stored_profile_and_prints_json(dataset, checkpoint, tmp_path) -> None:
    user = longest_user(dataset)
    history = product_history(dataset, user, PRODUCT_ITEMS)
    store_profile(tmp_path / "store", user, history)
    result = recommend(
        "--data", str(SLICE), "--checkpoint", str(checkpoint), "--user", user,
        "--store", str(tmp_path / "store"), "--k", "5", "--no-llm", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["user"] == user and doc["profile_source"] == "store" and doc["errors"] == []
    assert len(doc["items"]) == 5 and doc["reason_llm"]["calls"] == 0
    seen = {e.item_id for e in dataset.histories[user]}
    assert not {r["item_id"] for r in doc["items"]} & seen
    scores = [r["score"] for r in doc["items"]]
    assert scores == sorted(scores, reverse=True)
    read = {h.item_id for h in history}
    for row in doc["items"]:
        assert row["title"] == dataset.items[row["item_id"]].title
        assert row["motivation"] in {"family time", "nostalgia"}
        assert row["reason_source"] == "template" and row["motivation"] in row["reason"]
        assert {e["item_id"] for e in row["evidence"]} <= read


def test_a_readable_answer_shows_the_motivations_then_the_ranking_then_why(
    dataset, checkpoint, tmp_path
) -> None:
    user = longest_user(dataset)
    store_profile(tmp_path / "store", user, product_history(dataset, user, PRODUCT_ITEMS))
    result = recommend(
        "--data", str(SLICE), "--checkpoint", str(checkpoint), "--user", user,
        "--store", str(tmp_path / "store"), "--top", "3", "--no-llm",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("Why they act") < out.index("serves") < out.index("Why\n")
    assert "family time" in out and "[template]" in out


def test_without_an_llm_still_ranks_and_says_why(
    dataset, checkpoint, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("M3REC_OPENAI__MAX_RETRIES", "0")
    result = recommend(
        "--data", str(SLICE), "--checkpoint", str(checkpoint), "--user", longest_user(dataset),
        "--store", str(tmp_path / "store"), "--backend", "openai",
        "--base-url", f"http://127.0.0.1:{free_port()}/v1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "warning: no profile" in said and "ranked by history alone" in said
    assert "Close to" in said and "Traceback" not in result.output  # template reasons


def test_no_llm_writes_no_profile(dataset, checkpoint, tmp_path) -> None:
    result = recommend(
        "--data", str(SLICE), "--checkpoint", str(checkpoint), "--user", longest_user(dataset),
        "--store", str(tmp_path / "store"), "--no-llm", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["profile"] is None and "--no-llm writes none" in doc["errors"][0]
    assert {r["reason_source"] for r in doc["items"]} == {"template"}


def test_explain_gives_the_rank_the_alignments_and_a_checked_reason(
    dataset, checkpoint, tmp_path
) -> None:
    user = longest_user(dataset)
    store_profile(tmp_path / "store", user, product_history(dataset, user, PRODUCT_ITEMS))
    base = ["--data", str(SLICE), "--checkpoint", str(checkpoint), "--user", user]
    base += ["--store", str(tmp_path / "store"), "--no-llm"]
    top = json.loads(recommend(*base, "--k", "3", "--json").stdout)["items"]
    result = runner.invoke(app, ["explain", *base, "--item", top[1]["item_id"], "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["rank"] == 2 and doc["of"] == len(dataset.items) - len(dataset.histories[user])
    assert doc["score"] == top[1]["score"] and doc["reason"] == top[1]["reason"]
    assert [m["label"] for m in doc["motivations"]] == ["family time", "nostalgia"]
    assert doc["nearest"] and doc["reason_source"] == "template"
    readable = runner.invoke(app, ["explain", *base, "--item", top[0]["item_id"]])
    assert readable.exit_code == 0 and "rank 1 of" in readable.stdout


def test_explain_refuses_an_item_the_user_has_or_that_does_not_exist(
    dataset, checkpoint, tmp_path
) -> None:
    user = longest_user(dataset)
    base = ["explain", "--data", str(SLICE), "--checkpoint", str(checkpoint), "--user", user]
    base += ["--store", str(tmp_path / "store"), "--no-llm"]
    had = dataset.histories[user][0].item_id
    result = runner.invoke(app, [*base, "--item", had])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(f"error: user {user} already has item {had}")
    result = runner.invoke(app, [*base, "--item", "no-such-item"])
    assert result.exit_code == 1 and "is not in" in result.stderr
    assert "Traceback" not in result.output


def test_bad_input_is_one_line(dataset, checkpoint, tmp_path) -> None:
    base = ["--data", str(SLICE), "--store", str(tmp_path)]
    result = recommend(*base, "--checkpoint", str(checkpoint), "--user", "nobody")
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [
        f"error: user 'nobody' is not in {dataset.name}: check --user"
    ]
    beauty = SLICE.parent / "amazon-beauty-slice"
    result = recommend(
        "--data", str(beauty), "--checkpoint", str(checkpoint), "--user", "x",
        "--store", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 1 and "Traceback" not in result.output
    missing = tmp_path / "none.pt"
    result = recommend(*base, "--checkpoint", str(missing), "--user", longest_user(dataset))
    assert result.exit_code == 1 and "no checkpoint at" in result.stderr


def test_a_local_model_not_downloaded_still_ranks_and_says_why(
    dataset, checkpoint, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("M3REC_PATHS__MODEL_DIR", str(tmp_path / "no-models"))
    result = recommend(
        "--data", str(SLICE), "--checkpoint", str(checkpoint), "--user", longest_user(dataset),
        "--store", str(tmp_path / "store"), "--model", "qwen2.5-0.5b",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "warning: no profile" in said and "is not downloaded" in said
    assert "ranked by history alone" in said and "Traceback" not in result.output
