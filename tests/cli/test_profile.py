"""`m3rec profile` and `m3rec traits` against a real Chroma store and a replayed LLM server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from m3rec.cli import app, render
from tests.llm.wire import ChatReplayServer
from tests.replies import AnyUserReplies

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "ml-latest-slice"
runner = CliRunner()


@pytest.fixture
def server() -> Iterator[ChatReplayServer]:
    replay = ChatReplayServer(AnyUserReplies())
    yield replay
    replay.close()


def profile(server: ChatReplayServer, store: Path, *args: str):  # type: ignore[no-untyped-def]
    common = ["--data", str(SLICE), "--store", str(store)]
    common += ["--backend", "openai", "--base-url", server.base_url]
    return runner.invoke(app, ["profile", *common, *args])


def words(text: str) -> str:
    """Return TEXT with its line wrapping undone."""
    return " ".join(text.split())


def test_a_stored_profile_says_so_instead_of_repeating_the_cost(server, tmp_path) -> None:
    first = profile(server, tmp_path / "store", "--user", "1")
    assert first.exit_code == 0, first.output
    said = words(first.stdout)
    assert "written now by" in said and "100 prompt + 50 generated tokens" in said
    again = profile(server, tmp_path / "store", "--user", "1")
    assert again.exit_code == 0, again.output
    assert server.requests == 1
    said = words(again.stdout)
    assert "from the store (written 20" in said and "no LLM call now" in said
    assert "generated tokens" not in said


def test_profile_json_reports_the_source_and_stays_json(server, tmp_path) -> None:
    first = profile(server, tmp_path / "store", "--user", "1", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["profile_source"] == "llm"
    again = json.loads(profile(server, tmp_path / "store", "--user", "1", "--json").stdout)
    assert again["profile_source"] == "store" and again["stored"]["created_at"]
    assert again["usage"]["calls"] == 0


def test_the_evaluation_rule_is_chosen_by_stage_and_kept_apart(server, tmp_path) -> None:
    product = profile(server, tmp_path / "store", "--user", "1", "--json")
    stage = profile(server, tmp_path / "store", "--user", "1", "--stage", "test", "--json")
    assert product.exit_code == 0 and stage.exit_code == 0, stage.output
    assert json.loads(product.stdout)["key"] != json.loads(stage.stdout)["key"]
    assert server.requests == 2  # another history, so another profile


def test_traits_progress_is_on_stderr_and_json_on_stdout(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(render, "err_console", Console(stderr=True, force_terminal=True))
    result = runner.invoke(
        app, ["traits", "--data", str(SLICE), "--store", str(tmp_path), "--items", "5", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["items"] == 5
    assert "traits" in result.stderr and "5/5" in result.stderr
