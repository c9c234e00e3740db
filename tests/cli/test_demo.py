"""`m3rec demo` on the bundled catalogue, against a replayed LLM server and a real Chroma store."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from m3rec.cli import app
from tests.llm.wire import ChatReplayServer
from tests.replies import AnyUserReplies

runner = CliRunner()


def test_a_second_demo_of_one_user_is_read_from_the_store(tmp_path: Path) -> None:
    server = ChatReplayServer(AnyUserReplies())
    args = ["demo", "--backend", "openai", "--base-url", server.base_url]
    args += ["--store", str(tmp_path / "store")]
    try:
        first = runner.invoke(app, [*args, "--json"])
        assert first.exit_code == 0, first.output
        doc = json.loads(first.stdout)
        assert doc["profile_source"] == "llm" and len(doc["history"]) == 8
        again = runner.invoke(app, args)
        assert again.exit_code == 0, again.output
        said = " ".join(again.stdout.split())
        assert f"User {doc['user_id']}" in said and "from the store (written" in said
        assert "generated tokens" not in said
        assert server.requests == 1
    finally:
        server.close()
