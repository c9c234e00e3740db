"""Stored profiles listed, exported as JSONL and imported into another store, for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from m3rec.data import bundled_catalogue_path, load_dataset
from m3rec.data.errors import DataError
from m3rec.data.histories import HistoryRule, describe_rule
from m3rec.profile_archive import export_profiles, import_profiles, profile_rows
from m3rec.profiling import run_profiles
from m3rec.store import memory_store
from tests.replies import LibraryBackend, WrongFirst, raw


@pytest.fixture(scope="module")
def catalogue():  # type: ignore[no-untyped-def]
    return load_dataset(bundled_catalogue_path())


def profiled_store(catalogue, rule: HistoryRule, users: list[str]):  # type: ignore[no-untyped-def]
    store = memory_store()
    run_profiles(
        catalogue,
        users,
        llm=LibraryBackend,
        store=store,
        model_id="replay",
        rule=rule,
    )
    return store


def test_rows_name_the_history_rule_of_each_profile(catalogue) -> None:  # type: ignore[no-untyped-def]
    store = profiled_store(catalogue, HistoryRule("test", 2), ["12", "398"])
    rows = profile_rows(store)
    assert [r.user_id for r in rows] == ["12", "398"]
    assert {r.rule for r in rows} == {"test, cold_k 2"}
    assert rows[0].dataset == "ml-latest-small" and rows[0].model_id == "replay"
    assert rows[0].labels and rows[0].prompt_id == "mope/v2"
    assert profile_rows(store, "other-dataset") == []
    assert describe_rule({"stage": "product", "items": 20}) == "product, 20 items"
    assert describe_rule({}) == "unrecorded"


def test_an_export_imported_elsewhere_serves_the_same_profiles(catalogue, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    users = ["12", "398"]
    rule = HistoryRule("test", 2)
    source = profiled_store(catalogue, rule, users)
    out = tmp_path / "profiles.jsonl"
    assert export_profiles(source, out) == 2
    lines = out.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["format"] == "m3rec-profiles/1" and first["meta"]["stage"] == "test"
    target = memory_store()
    summary = import_profiles(target, out)
    assert (summary.imported, summary.already_stored, summary.errors) == (2, 0, [])
    # the same keys, notes and dates: a batch over the target calls no LLM
    again = run_profiles(
        catalogue,
        users,
        llm=lambda: pytest.fail("the imported profiles must be found"),
        store=target,
        model_id="replay",
        rule=rule,
    )
    assert again.cache_hits == 2
    assert target.count("notes") == source.count("notes")
    src = {p.key: p.meta["created_at"] for p in source.list_profiles()}
    assert {p.key: p.meta["created_at"] for p in target.list_profiles()} == src
    assert import_profiles(target, out).already_stored == 2


def test_malformed_lines_are_refused_by_number(catalogue, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = profiled_store(catalogue, HistoryRule("test", 1), ["12"])
    out = tmp_path / "p.jsonl"
    export_profiles(source, out)
    good = out.read_text().splitlines()[0]
    record = json.loads(good)
    record["profile"]["motivations"] = "not a list"
    other_user = json.loads(good) | {"user_id": "999"}
    out.write_text(
        "\n".join(
            [good, "{truncated", json.dumps({"a": 1}), json.dumps(record), json.dumps(other_user)]
        )
        + "\n"
    )
    summary = import_profiles(memory_store(), out)
    assert summary.imported == 1
    assert [e.split(": ", 1)[0] for e in summary.errors] == [f"{out}:{n}" for n in (2, 3, 4, 5)]
    assert "not JSON" in summary.errors[0] and "motivations" in summary.errors[2]
    assert "of user 12" in summary.errors[3]
    with pytest.raises(DataError, match="cannot read"):
        import_profiles(memory_store(), tmp_path / "missing.jsonl")


def test_batch_json_lists_each_user_with_key_and_outcome(catalogue) -> None:  # type: ignore[no-untyped-def]
    store = memory_store()
    summary = run_profiles(
        catalogue,
        ["12", "398"],
        llm=lambda: WrongFirst(raw("qwen15_traits"), 2),
        store=store,
        model_id="m",
        rule=HistoryRule("test", 1),
    )
    rows = summary.as_dict()["users"]
    assert [r["user_id"] for r in rows] == ["12", "398"]  # the batch's order
    assert sorted(r["outcome"] for r in rows) == ["failed", "profiled"]
    assert all(len(r["key"]) == 32 for r in rows)
    assert "results" not in summary.as_dict()
