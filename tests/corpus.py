"""The malformed-reply corpus (scripts/record_malformed_replies.py): the four structured calls'
requests, built the same way for the recording and for the tests that replay every reply
through every call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from m3rec import prompts
from m3rec.agents.mope import extract_profile, format_history
from m3rec.agents.reasons import reasons_messages
from m3rec.agents.reorder import order_messages
from m3rec.agents.traits import format_items
from m3rec.data import Dataset, load_dataset
from m3rec.data.histories import HistoryRule
from m3rec.llm.base import ChatMessage
from m3rec.schemas import AlignedItem, HistoryEntry, MotivationProfile
from tests.conftest import FIXTURES
from tests.replies import LibraryBackend

SLICE = FIXTURES / "data" / "ml-latest-slice"
CORPUS = FIXTURES / "replies" / "malformed.json"
USER = "4"
RULE = HistoryRule(n_items=20)  # the library holds the default model's profile of it


@dataclass(frozen=True)
class CallInputs:
    """What each structured call is asked about."""

    dataset: Dataset
    history: list[HistoryEntry]
    profile: MotivationProfile
    aligned: list[AlignedItem]
    candidates: list[str]


@cache
def call_inputs() -> CallInputs:
    dataset = load_dataset(SLICE)
    history = RULE.history(dataset, USER)
    profile = extract_profile(LibraryBackend(), USER, history, model_name="qwen2.5-1.5b").profile
    seen = {h.item_id for h in history} | {e.item_id for e in dataset.histories[USER]}
    unseen = [i for i in sorted(dataset.items, key=int) if i not in seen]
    aligned = [
        AlignedItem(item, 1.0 - n / 10, 0.5, 0.4, n % len(profile.motivations),
                    tuple(profile.motivations[n % len(profile.motivations)].evidence))
        for n, item in enumerate(unseen[:3])
    ]  # fmt: skip
    candidates = [dataset.items[i].text() for i in unseen[:8]]
    return CallInputs(dataset, history, profile, aligned, candidates)


def requests() -> dict[str, list[ChatMessage]]:
    """Return the messages of each call the corpus was recorded on."""
    inputs = call_inputs()
    window = inputs.history[-8:]
    return {
        "mope": prompts.render("mope", "v2", history=format_history(window)).messages,
        "traits": prompts.render(
            "traits", items=format_items([inputs.dataset.items[a.item_id] for a in inputs.aligned])
        ).messages,
        "reasons": reasons_messages(
            inputs.dataset.items, inputs.aligned, inputs.profile, inputs.history
        ),
        "order": order_messages(
            [h.text for h in inputs.history[-10:]],
            [f"{m.label}: {m.description}" for m in inputs.profile.motivations],
            inputs.candidates,
        ),
    }


@cache
def corpus() -> list[dict[str, Any]]:
    """Return every recorded reply: its model, the call it was asked for, how, and the text."""
    return list(json.loads(CORPUS.read_text())["replies"])
