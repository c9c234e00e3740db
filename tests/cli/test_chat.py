"""`m3rec chat` through CliRunner: scripted turns (--say) on a real MOTE checkpoint of the
MovieLens slice, a real Chroma store and the real SQLite thread database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from m3rec.cli import app
from m3rec.data import load_dataset
from tests.conftest import SLICE

runner = CliRunner()


def chat(tmp_path: Path, slice_checkpoint: Path, *args: str):  # type: ignore[no-untyped-def]
    common = ["--data", str(SLICE), "--checkpoint", str(slice_checkpoint), "--store", str(tmp_path)]
    return runner.invoke(app, ["chat", *common, "--no-llm", *args])


def test_scripted_turns_print_one_json_line_each_and_the_thread_resumes(
    tmp_path, slice_checkpoint
) -> None:  # type: ignore[no-untyped-def]
    said = ["--say", "/no comedy", "--say", "/more 1", "--say", "/why 1", "--json"]
    result = chat(tmp_path, slice_checkpoint, "--user", "4", "--thread", "mine", *said)
    assert result.exit_code == 0, result.output
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["message"] for t in turns] == ["/list", "/no comedy", "/more 1", "/why 1"]
    no_comedy = turns[1]["answers"][0]["items"]
    assert no_comedy and all(
        "Comedy" not in load_dataset(SLICE).items[i["item_id"]].category_names() for i in no_comedy
    )
    assert turns[2]["excluded"] == ["Comedy"] and len(turns[2]["notes"]) == 1
    assert turns[3]["answers"][0]["kind"] == "why" and turns[3]["answers"][0]["rank"] >= 1
    again = chat(tmp_path, slice_checkpoint, "--user", "4", "--thread", "mine", "--say", "/profile")
    assert again.exit_code == 0, again.output
    assert "(resumed)" in again.stdout and "/no comedy" in again.stdout
    assert "Said in this thread" in again.stdout
    listed = runner.invoke(app, ["chat", "--threads", "--json"])
    (thread,) = json.loads(listed.stdout)
    assert (thread["thread"], thread["user_id"], thread["turns"]) == (
        "mine",
        "4",
        6,
    )  # the second run opens with /list too


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "give --user ID"),
        (["--user", "nobody"], "user 'nobody' has no history"),
    ],
)
def test_a_chat_it_cannot_hold_is_one_error_line(tmp_path, slice_checkpoint, args, says) -> None:  # type: ignore[no-untyped-def]
    result = chat(tmp_path, slice_checkpoint, *args, "--say", "/list")
    assert result.exit_code == 1 and says in result.output
    assert "Traceback" not in result.output


def test_another_users_thread_is_refused_in_one_line(tmp_path, slice_checkpoint) -> None:  # type: ignore[no-untyped-def]
    assert (
        chat(tmp_path, slice_checkpoint, "--user", "4", "--thread", "x", "--say", "/list").exit_code
        == 0
    )
    result = chat(tmp_path, slice_checkpoint, "--user", "1", "--thread", "x", "--say", "/list")
    assert result.exit_code == 1 and "thread 'x' is user 4's" in result.output


@pytest.mark.parametrize(
    ("likes", "says"),
    [
        (["Star Wars"], "'Star Wars' could be Star Wars: Episode IV"),
        (["Nosuchfilm At All"], "no item of ml-latest-slice is called 'Nosuchfilm At All'"),
        (["a dark thriller about a serial killer"], "; nearest in meaning: "),
    ],
)
def test_a_title_someone_new_names_must_be_one_item(
    tmp_path, slice_checkpoint, likes, says
) -> None:  # type: ignore[no-untyped-def]
    args = [a for title in likes for a in ("--likes", title)]
    result = chat(tmp_path, slice_checkpoint, *args, "--say", "/list")
    assert result.exit_code == 1 and says in result.output and "Traceback" not in result.output


def test_someone_new_is_named_by_their_items_and_resumes_without_them(
    tmp_path, slice_checkpoint
) -> None:  # type: ignore[no-untyped-def]
    first = chat(
        tmp_path, slice_checkpoint, "--likes", "clueless", "--thread", "me", "--say", "/list"
    )
    assert first.exit_code == 0, first.output
    assert "someone new who liked Clueless (1995)" in first.stdout
    again = chat(tmp_path, slice_checkpoint, "--thread", "me", "--say", "/list")
    assert again.exit_code == 0 and "(resumed)" in again.stdout and "Clueless" in again.stdout
