"""What MOPE v2 asks for: a closed set of kinds, the window's own ids, replies that always fit."""

from __future__ import annotations

import json

from llama_cpp.llama_grammar import LlamaGrammar

from m3rec import prompts
from m3rec.agents.mope_drafts import (
    KIND_WORDS,
    V2_DETAIL_CHARS,
    V2_LABEL_CHARS,
    V2_MAX_EVIDENCE,
    V2_MAX_MOTIVATIONS,
    V2_SHIFT_CHARS,
    V2_SUMMARY_CHARS,
    ProfileDraft,
    ProfileDraftV2,
    draft_motivations,
    draft_request,
)
from m3rec.schemas import HistoryEntry

WINDOW = [HistoryEntry(f"B00{i:07d}", f"Item {i}", None, None) for i in range(20)]


def test_v1_is_asked_for_as_released() -> None:
    request = draft_request("mope/v1", WINDOW)
    assert request.schema is ProfileDraft and request.max_tokens is None
    assert request.json_schema == ProfileDraft.model_json_schema()


def test_v2_evidence_can_only_be_the_windows_ids_and_the_grammar_builds() -> None:
    request = draft_request("mope/v2", WINDOW[:3])
    motivation = request.json_schema["$defs"]["MotivationDraftV2"]["properties"]
    assert motivation["evidence"]["items"]["enum"] == [h.item_id for h in WINDOW[:3]]
    assert motivation["kind"]["enum"] == list(KIND_WORDS)
    LlamaGrammar.from_json_schema(json.dumps(request.json_schema), verbose=False)
    other = draft_request("mope/v2", WINDOW[5:6]).json_schema  # the class's schema is untouched
    assert other["$defs"]["MotivationDraftV2"]["properties"]["evidence"]["items"]["enum"] == [
        WINDOW[5].item_id
    ]


def test_the_longest_reply_the_schema_allows_fits_the_token_budget() -> None:
    """Every token is at least one character, so a reply of at most BUDGET characters (no
    escapes) is at most BUDGET tokens: the grammar cannot be cut off by max_tokens."""
    request = draft_request("mope/v2", WINDOW)
    longest = {
        "motivations": [
            {
                "kind": "solve_problem",
                "label": "x" * V2_LABEL_CHARS,
                "detail": "y" * V2_DETAIL_CHARS,
                "evidence": [WINDOW[0].item_id] * V2_MAX_EVIDENCE,
                "weight": 5,
            }
        ]
        * V2_MAX_MOTIVATIONS,
        "summary": "z" * V2_SUMMARY_CHARS,
        "shift": "w" * V2_SHIFT_CHARS,
    }
    ProfileDraftV2.model_validate(longest)
    spaced = json.dumps(longest, indent=None, separators=(", ", ": "))
    assert request.max_tokens is not None and len(spaced) <= request.max_tokens


def test_a_v2_weight_becomes_a_strength_and_the_kind_is_kept() -> None:
    draft = ProfileDraftV2.model_validate(
        {
            "motivations": [
                {
                    "kind": "mood",
                    "label": "a scare",
                    "detail": "Late-night horror.",
                    "evidence": ["1"],
                    "weight": 5,
                },
                {
                    "kind": "social",
                    "label": "film club",
                    "detail": "Watches with friends.",
                    "evidence": ["2"],
                    "weight": 1,
                },
            ],
            "summary": "Someone who watches to feel something.",
            "shift": "no clear shift",
        }
    )
    first, second = draft_motivations(draft)
    assert (first.kind, first.strength, first.description) == ("mood", 1.0, "Late-night horror.")
    assert (second.kind, second.strength) == ("social", 0.2)


def test_the_v2_prompt_shows_every_kind_and_two_examples_of_other_catalogues() -> None:
    system = prompts.render("mope", "v2", history="").messages[0].content
    assert all(f"- {kind}:" in system for kind in KIND_WORDS)
    examples = prompts.examples("mope", "v2")
    assert len(examples) == 2
    for example in examples:
        ProfileDraftV2.model_validate(example)
    assert prompts.examples("mope", "v1")[0]["motivations"][0]["label"] == "fast weeknight dinners"
