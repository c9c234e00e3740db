"""The bug a new user hit: `profile --user U` then `recommend --user U` asked the LLM twice,
because the two commands cut the user's history by different rules. Now both read the product
rule, so the second command is served from the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from m3rec.cli import app
from m3rec.data import index_dataset, leave_one_out, load_dataset
from m3rec.encoders.checkpoint import fingerprint, save_checkpoint
from m3rec.encoders.recommender import MoteRecommender
from m3rec.ranking.training_data import train_data
from tests.conftest import SMALL_MOTE, ChromaServer
from tests.llm.wire import ChatReplayServer
from tests.replies import AnyUserReplies

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "ml-latest-slice"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    indexed = index_dataset(load_dataset(SLICE))
    model = MoteRecommender(**SMALL_MOTE)
    model.fit(train_data(indexed, leave_one_out(indexed), 0))
    fp = fingerprint(indexed.name, indexed.item_ids, indexed.sequences, indexed.item_texts)
    path = tmp_path_factory.mktemp("mote") / "mote.pt"
    save_checkpoint(path, model.to_checkpoint(fp))
    return path


def test_profile_then_recommend_asks_the_llm_once(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("M3REC_MAR__REASONS", "0")  # no reasons asked for: only profiles count
    dataset = load_dataset(SLICE)
    user = max(dataset.histories, key=lambda u: len(dataset.histories[u]))
    server = ChatReplayServer(AnyUserReplies())
    common = ["--data", str(SLICE), "--store", str(tmp_path / "store")]
    common += ["--backend", "openai", "--base-url", server.base_url]
    runner = CliRunner()
    try:
        profiled = runner.invoke(app, ["profile", "--user", user, *common, "--json"])
        assert profiled.exit_code == 0, profiled.output
        assert server.requests == 1
        args = ["recommend", "--user", user, "--checkpoint", str(checkpoint), *common, "--json"]
        recommended = runner.invoke(app, args)
        assert recommended.exit_code == 0, recommended.output
        assert server.requests == 1  # zero LLM calls: the stored profile was found
        doc = json.loads(recommended.stdout)
        assert doc["profile_source"] == "store"
        again = runner.invoke(app, ["profile", "--user", user, *common])
        assert again.exit_code == 0, again.output
        assert server.requests == 1
        assert "store" in again.stdout
    finally:
        server.close()


def test_recommend_prints_each_checked_reason_once_under_why(
    checkpoint: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(SLICE)
    user = max(dataset.histories, key=lambda u: len(dataset.histories[u]))
    common = ["--data", str(SLICE), "--store", str(tmp_path / "store")]
    common += ["--checkpoint", str(checkpoint), "--k", "6"]
    runner = CliRunner()
    profiles = AnyUserReplies()
    server = ChatReplayServer(profiles)
    try:
        profile = [
            "profile",
            "--user",
            user,
            "--data",
            str(SLICE),
            "--store",
            str(tmp_path / "store"),
        ]
        profiled = runner.invoke(
            app, [*profile, "--backend", "openai", "--base-url", server.base_url]
        )
        assert profiled.exit_code == 0, profiled.output
        args = ["recommend", "--user", user, *common, "--backend", "openai"]
        plain = runner.invoke(app, [*args, "--base-url", server.base_url, "--no-llm", "--json"])
    finally:
        server.close()
    assert plain.exit_code == 0, plain.output
    top = json.loads(plain.stdout)["items"][:5]  # template reasons: they pass the checker
    reply = json.dumps(
        {
            "reasons": {
                i["item_id"]: {
                    "item": i["title"],
                    "evidence": [e["item_id"] for e in i["evidence"]],
                    "reason": i["reason"],
                }
                for i in top
            }
        }
    )
    server = ChatReplayServer(lambda m: reply if "<<<ITEMS" in m[-1]["content"] else profiles(m))
    try:
        shown = runner.invoke(app, [*args, "--base-url", server.base_url])
    finally:
        server.close()
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert out.count("\nWhy\n") == 1 and out.index("\nWhy\n") > out.index(top[0]["title"])
    flat = " ".join(out.split())  # the console wraps long lines
    for item in top:
        assert flat.count(" ".join(item["reason"].split())) == 1, item["reason"]
    assert out.count("[template]") == 1  # the sixth item; the five the LLM wrote are kept


def test_a_chroma_server_gives_the_same_profile_and_recommendations_as_a_folder(
    checkpoint: Path, tmp_path: Path, chroma_server: ChromaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("M3REC_MAR__REASONS", "0")
    monkeypatch.setenv("M3REC_STORE__DATABASE", f"cli_{tmp_path.name[-20:]}")
    dataset = load_dataset(SLICE)
    user = max(dataset.histories, key=lambda u: len(dataset.histories[u]))
    runner = CliRunner()
    answers = {}
    for where in (["--store", str(tmp_path / "store")], ["--store-url", chroma_server.url]):
        server = ChatReplayServer(AnyUserReplies())
        common = ["--data", str(SLICE), *where, "--backend", "openai"]
        common += ["--base-url", server.base_url]
        try:
            profiled = runner.invoke(app, ["profile", "--user", user, *common, "--json"])
            assert profiled.exit_code == 0, profiled.output
            args = ["recommend", "--user", user, "--checkpoint", str(checkpoint), *common]
            recommended = runner.invoke(app, [*args, "--json"])
        finally:
            server.close()
        assert recommended.exit_code == 0, recommended.output
        assert server.requests == 1  # the profile was found in the store it was written to
        doc = json.loads(recommended.stdout)
        answers[where[0]] = (doc["profile"], [(i["item_id"], i["score"]) for i in doc["items"]])
    assert answers["--store"] == answers["--store-url"]


def test_the_cluster_config_file_runs_a_batch_at_its_concurrency_then_recommends(
    checkpoint: Path, tmp_path: Path, chroma_server: ChromaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/cluster.toml as a user runs it, its two URLs pointed at servers on loopback."""
    config = Path(__file__).resolve().parents[2] / "examples" / "cluster.toml"
    # Each reply takes 2 s, so on loaded cores all 8 requests are still in flight together.
    server = ChatReplayServer(AnyUserReplies(), delay_s=2.0)
    monkeypatch.setenv("M3REC_OPENAI__BASE_URL", server.base_url)
    monkeypatch.setenv("M3REC_STORE__URL", chroma_server.url)
    monkeypatch.setenv("M3REC_STORE__DATABASE", f"cluster_{tmp_path.name[-20:]}")
    monkeypatch.setenv("M3REC_MAR__REASONS", "0")
    runner = CliRunner()
    try:  # the batch on the bundled catalogue (610 users), the recommendation on the slice
        batch = runner.invoke(app, ["profile", "--users", "12", "--config", str(config), "--json"])
        assert batch.exit_code == 0, batch.output
        assert json.loads(batch.stdout)["profiles"] == 12
        assert server.most_in_flight == 8  # the file's openai.concurrency
        args = ["recommend", "--user", "4", "--checkpoint", str(checkpoint), "--data", str(SLICE)]
        recommended = runner.invoke(app, [*args, "--config", str(config), "--json"])
        assert recommended.exit_code == 0, recommended.output
        assert json.loads(recommended.stdout)["profile_source"] == "llm"
    finally:
        server.close()
    assert server.requests == 13
