"""A request whose replies never validate still reports every call and token it spent."""

from __future__ import annotations

import pytest

from m3rec.agents.mope import WINDOW_SIZE, HistoryEntry, ProfileDraft, extract_profile
from m3rec.data import bundled_catalogue_path, load_dataset
from m3rec.data.histories import HistoryRule
from m3rec.errors import StructuredOutputError
from m3rec.llm.base import ChatMessage, structured
from m3rec.llm.replay import ReplayBackend
from m3rec.settings import HistoryWindows
from tests.replies import library_reply, raw

ASK = [ChatMessage("system", "profile"), ChatMessage("user", "history")]


def test_a_reply_that_never_validates_counts_both_attempts() -> None:
    wrong = raw("qwen15_traits")  # valid JSON, but item traits, not a profile
    backend = ReplayBackend([wrong, wrong])
    with pytest.raises(StructuredOutputError) as caught:
        structured(backend, ASK, ProfileDraft)
    usage = caught.value.usage
    assert usage.calls == 2 == len(backend.requests)
    # the replay backend counts words: the prompt of each attempt, and each reply
    prompts = [sum(len(m.content.split()) for m in r["messages"]) for r in backend.requests]
    assert usage.prompt_tokens == sum(prompts)
    assert usage.prompt_tokens > 2 * sum(len(m.content.split()) for m in ASK)  # repair turn too
    assert usage.completion_tokens == 2 * len(wrong.split())


def test_a_later_window_that_fails_carries_the_cost_of_the_windows_before() -> None:
    """The oldest window is bundled user 12's last 2 items before the test item (a recorded reply
    the validator keeps); the newest 20 items then get two replies that are not profiles."""
    catalogue = load_dataset(bundled_catalogue_path())
    newest = [
        HistoryEntry(f"x{i}", f"Film {i}", 4.0, 1_700_000_000 + i) for i in range(WINDOW_SIZE)
    ]
    history = HistoryRule("test", 2).history(catalogue, "12") + newest
    good = library_reply("ml-latest-small/12/test, cold_k 2")
    wrong = raw("qwen15_traits")
    backend = ReplayBackend([good, wrong, wrong])
    with pytest.raises(StructuredOutputError) as caught:
        extract_profile(backend, "12", history, model_name="m", windows=HistoryWindows(count=2))
    usage = caught.value.usage
    assert usage.calls == 3 == len(backend.requests)
    assert usage.completion_tokens == len(good.split()) + 2 * len(wrong.split())
