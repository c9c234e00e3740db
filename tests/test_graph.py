"""The recommendation graph, compiled fresh in each test: node order, routing and final state."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from m3rec.agents.nodes import Deps
from m3rec.data import bundled_catalogue_path, load_dataset
from m3rec.data.histories import HistoryRule
from m3rec.graph import build_graph
from m3rec.llm.factory import LazyBackend
from m3rec.llm.replay import ReplayBackend
from m3rec.store import memory_store
from tests.replies import library, raw


@pytest.fixture(scope="module")
def catalogue():  # type: ignore[no-untyped-def]
    return load_dataset(bundled_catalogue_path())


def invoke(deps: Deps, state: dict[str, Any], thread: str = "t") -> dict[str, Any]:
    graph = build_graph().compile(checkpointer=InMemorySaver())
    return asyncio.run(graph.ainvoke(state, {"configurable": {"thread_id": thread}}, context=deps))


def test_the_profile_comes_from_the_llm_once_then_from_the_store(catalogue) -> None:  # type: ignore[no-untyped-def]
    case = library()["ml-latest-small/12/test, cold_k 2"]
    rule = HistoryRule("test", 2)
    history = rule.history(catalogue, case["user_id"])
    replay = ReplayBackend(case["raw"])
    store = memory_store()
    state = {
        "user_id": case["user_id"],
        "history": history,
        "history_context": rule.context(catalogue.name),
    }
    first = invoke(Deps(store, "replay:qwen", LazyBackend(lambda: replay)), state, "t1")
    assert first["profile_source"] == "llm" and first["steps"] == [
        "load_user",
        "extract_motivations",
    ]
    assert "ranked" not in first  # no MAR context: the route ends after the profile
    stored = store.profiles_of_user(case["user_id"])
    assert [p.meta["stage"] for p in stored] == ["test"]  # the rule it was cut by

    def no_llm() -> ReplayBackend:
        raise AssertionError("the profile is stored: no LLM may be built")

    second = invoke(Deps(store, "replay:qwen", LazyBackend(no_llm)), state, "t2")
    assert second["profile_source"] == "store"
    assert second["profile"] == first["profile"]
    assert len(replay.requests) == len(case["raw"])


def test_a_failed_profile_is_an_error_in_state_and_a_recorded_failure(catalogue) -> None:  # type: ignore[no-untyped-def]
    wrong = raw("qwen15_traits")
    store = memory_store()
    deps = Deps(store, "replay", LazyBackend(lambda: ReplayBackend([wrong, wrong])))
    history = HistoryRule("test", 2).history(catalogue, "12")
    final = invoke(deps, {"user_id": "12", "history": history})
    assert final["profile"] is None and final["steps"] == ["load_user", "extract_motivations"]
    assert "ProfileDraftV2 schema" in final["errors"][0]
    assert store.count("failures") == 1


def test_the_input_schema_needs_a_user_and_a_history() -> None:
    graph = build_graph().compile()
    assert set(graph.get_input_jsonschema()["required"]) == {"user_id", "history"}
    nodes = set(graph.get_graph().nodes) - {"__start__", "__end__"}
    assert nodes == {
        "load_user",
        "extract_motivations",
        "retrieve",
        "align",
        "reorder",
        "explain",
        "check_reasons",
        "respond",
    }
