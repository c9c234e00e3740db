"""The LLM spinner shows the tokens generated, on stderr only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from m3rec.cli import app, render
from m3rec.cli.render import TokensColumn
from m3rec.llm.meter import MeterReading
from tests.llm.wire import ChatReplayServer
from tests.replies import AnyUserReplies

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "ml-latest-slice"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
runner = CliRunner()


@pytest.fixture
def server() -> Iterator[ChatReplayServer]:
    replay = ChatReplayServer(AnyUserReplies(), delay_s=0.3)
    yield replay
    replay.close()


def profile_one(server: ChatReplayServer, store: Path, *args: str):  # type: ignore[no-untyped-def]
    common = ["--data", str(SLICE), "--store", str(store), "--user", "1"]
    common += ["--backend", "openai", "--base-url", server.base_url]
    return runner.invoke(app, ["profile", *common, *args])


def test_the_spinner_shows_generated_tokens_on_stderr_only(server, tmp_path, monkeypatch) -> None:
    terminal = Console(stderr=True, force_terminal=True, width=200)
    monkeypatch.setattr(render, "err_console", terminal)
    result = profile_one(server, tmp_path / "store", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["usage"]["completion_tokens"] == 50  # stdout: JSON alone
    assert "tokens generated" not in result.stdout
    shown = " ".join(ANSI.sub(" ", result.stderr).split())
    assert "50 tokens generated" in shown  # the server's one reply: 100 prompt + 50 generated


def test_off_a_terminal_the_spinner_stays_silent(server, tmp_path) -> None:
    result = profile_one(server, tmp_path / "store", "--json")
    assert result.exit_code == 0, result.output
    assert "tokens" not in result.stderr


def test_the_rate_counts_from_the_first_token_written() -> None:
    column = TokensColumn()
    assert column.describe(MeterReading(0, 0, 0), now=10.0) == ""
    assert column.describe(MeterReading(1, 1335, 0), now=20.0) == "· reading 1,335 prompt tokens"
    assert column.describe(MeterReading(1, 1335, 2), now=30.0) == "· 2 tokens generated"
    assert column.describe(MeterReading(1, 1335, 42), now=40.0) == (
        "· 42 tokens generated (4.0 tok/s)"
    )
