"""`m3rec profiles list|show|export|import` on a real store written by `m3rec profile`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from m3rec.agents.mope_drafts import KIND_WORDS
from m3rec.cli import app
from tests.llm.wire import ChatReplayServer
from tests.replies import LibraryReplies

runner = CliRunner()


def test_profiles_written_by_a_batch_are_listed_shown_exported_and_imported(
    tmp_path: Path,
) -> None:
    store, other = str(tmp_path / "store"), str(tmp_path / "other")
    server = ChatReplayServer(LibraryReplies())
    try:
        batch = ["profile", "--users", "12,398", "--stage", "test", "--cold-k", "2"]
        batch += ["--backend", "openai", "--base-url", server.base_url, "--store", store, "--json"]
        written = runner.invoke(app, batch)
        assert written.exit_code == 0, written.output
        outcomes = json.loads(written.stdout)["users"]
        assert [(u["user_id"], u["outcome"]) for u in outcomes] == [
            ("12", "profiled"),
            ("398", "profiled"),
        ]
    finally:
        server.close()
    listed = runner.invoke(app, ["profiles", "list", "--store", store, "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["user_id"], r["rule"]) for r in rows] == [
        ("12", "test, cold_k 2"),
        ("398", "test, cold_k 2"),
    ]
    assert {r["key"] for r in rows} == {u["key"] for u in outcomes}
    table = runner.invoke(app, ["profiles", "list", "--store", store])
    assert table.exit_code == 0 and "2 profile(s)" in table.stdout
    shown = runner.invoke(
        app, ["profiles", "show", "12", "--data", str(bundled()), "--store", store]
    )
    assert shown.exit_code == 0, shown.output
    assert "test, cold_k 2" in shown.stdout and "Summary" in shown.stdout
    assert "┃ kind" in shown.stdout  # v2 motivations show their kind
    as_json = runner.invoke(app, ["profiles", "show", "12", "--store", store, "--json"])
    motivations = json.loads(as_json.stdout)[0]["profile"]["motivations"]
    assert motivations and all(m["kind"] in KIND_WORDS for m in motivations)
    out = tmp_path / "profiles.jsonl"
    exported = runner.invoke(
        app, ["profiles", "export", "--out", str(out), "--store", store, "--json"]
    )
    assert exported.exit_code == 0 and json.loads(exported.stdout)["exported"] == 2
    imported = runner.invoke(app, ["profiles", "import", str(out), "--store", other, "--json"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout) == {"imported": 2, "already_stored": 0, "errors": []}
    relisted = json.loads(
        runner.invoke(app, ["profiles", "list", "--store", other, "--json"]).stdout
    )
    assert relisted == rows


def test_bad_requests_end_in_one_line(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    missing = runner.invoke(app, ["profiles", "show", "nobody", "--store", store])
    assert missing.exit_code == 1 and "no stored profile of user 'nobody'" in missing.stderr
    unreadable = runner.invoke(app, ["profiles", "import", str(tmp_path / "none.jsonl")])
    assert unreadable.exit_code == 1 and "cannot read" in unreadable.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    refused = runner.invoke(app, ["profiles", "import", str(bad), "--store", store])
    assert refused.exit_code == 1 and f"refused {bad}:1: not JSON" in refused.stderr
    assert "Traceback" not in refused.output


def bundled() -> Path:
    from m3rec.data import bundled_catalogue_path

    return bundled_catalogue_path()
