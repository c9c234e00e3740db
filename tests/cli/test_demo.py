"""`m3rec demo` on the bundled catalogue, against a replayed LLM server and a real Chroma store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from m3rec.cli import app
from m3rec.cli.demo import DEMO_TURNS
from m3rec.data import bundled_catalogue_path, load_dataset
from m3rec.schemas import ChatMessage
from tests.llm.wire import ChatReplayServer
from tests.replies import AnyUserReplies, ChatTurns

runner = CliRunner()


def test_a_second_demo_of_one_user_is_read_from_the_store(tmp_path: Path) -> None:
    server = ChatReplayServer(AnyUserReplies())
    args = ["demo", "--backend", "openai", "--base-url", server.base_url, "--k", "0"]
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


@pytest.mark.slow
def test_the_demo_recommends_with_a_checked_reason_for_each_film(tmp_path: Path) -> None:
    """The whole pipeline on the bundled catalogue: its MOTE checkpoint is built (once, cached),
    and a server whose replies are no reasons at all leaves every reason to the template."""
    profiles = AnyUserReplies()
    shown_when_asked: list[str] = []

    def answer(messages):  # type: ignore[no-untyped-def]
        if "<<<ITEMS" in messages[-1]["content"]:
            sys.stdout.flush()  # CliRunner's stdout, read while the command runs
            shown_when_asked.append(sys.stdout.buffer.getvalue().decode())  # type: ignore[attr-defined]
            return "Here are three films you will love!"  # no JSON: the reasons fall back
        return profiles(messages)

    server = ChatReplayServer(answer)
    args = ["demo", "--backend", "openai", "--base-url", server.base_url, "--k", "3", "--no-chat"]
    args += ["--json"]
    try:
        result = runner.invoke(app, [*args, "--store", str(tmp_path / "store")])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert len(doc["recommendations"]) == 3 and "wrote no reasons" in doc["errors"][0]
        history = {h["item_id"] for h in doc["history"]}
        for row in doc["recommendations"]:
            assert row["reason_source"] == "template" and row["item_id"] not in history
            assert row["motivation"] in {m["label"] for m in doc["profile"]["motivations"]}
        assert "MOTE checkpoint" in result.stderr and "Traceback" not in result.stderr
        shown_when_asked.clear()
        readable = runner.invoke(app, [*args[:-1], "--store", str(tmp_path / "store")])
        assert readable.exit_code == 0, readable.output
        # The ranked films were on screen before the reasons were asked for; their reasons after.
        assert shown_when_asked and all("serves" in shown for shown in shown_when_asked)
        assert not any("\nWhy\n" in shown for shown in shown_when_asked)
        assert "\nWhy\n" in readable.stdout
    finally:
        server.close()


@pytest.mark.slow
def test_the_demo_ends_with_a_conversation_that_changes_the_list(tmp_path: Path) -> None:
    """After its recommendations the demo says DEMO_TURNS through the chat graph, each read as
    the default model read it when recorded: the exclusion empties the list of children's films
    and the "why" explains the new list's first one."""
    profiles, readings = AnyUserReplies(), ChatTurns()

    def answer(messages):  # type: ignore[no-untyped-def]
        content = messages[-1]["content"]
        if "<<<MESSAGE" in content:
            return readings.complete([ChatMessage(m["role"], m["content"]) for m in messages]).text
        if "<<<ITEMS" in content:
            return "no reasons today"  # the template's reasons
        return profiles(messages)

    server = ChatReplayServer(answer)
    args = ["demo", "--backend", "openai", "--base-url", server.base_url, "--k", "5", "--json"]
    try:
        result = runner.invoke(app, [*args, "--store", str(tmp_path / "store")])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        exclusion, why = doc["conversation"]
        assert [exclusion["message"], why["message"]] == DEMO_TURNS
        assert exclusion["excluded"] == ["Children"]
        (listed,) = exclusion["answers"]
        assert listed["kind"] == "list" and len(listed["items"]) == 5
        catalogue = load_dataset(bundled_catalogue_path()).items
        for row in listed["items"]:
            assert "Children" not in catalogue[row["item_id"]].category_names()
        (explained,) = why["answers"]
        assert explained["kind"] == "why" and explained["rank"] == 1
        assert explained["item"]["item_id"] == listed["items"][0]["item_id"]
    finally:
        server.close()
