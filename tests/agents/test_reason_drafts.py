"""The reasons schema: per-item evidence enums, a token bound no reply can exceed, and a grammar
llama.cpp builds."""

from __future__ import annotations

import json

import pytest
from llama_cpp.llama_grammar import LlamaGrammar
from pydantic import ValidationError

from m3rec.agents.reason_drafts import (
    MAX_EVIDENCE,
    REASON_MAX_CHARS,
    ReasonsReply,
    reasons_request,
)

EVIDENCE = {"B00004TUBL": ["B0000530HU", "B00021DJ32"], "B000052YPE": ["B0009OAHNA"]}
TITLES = {"B00004TUBL": "Conair Pro Styler " + "x" * 80, "B000052YPE": "Nivea Creme"}


def test_each_item_may_cite_only_its_own_evidence_and_the_grammar_builds() -> None:
    request = reasons_request(EVIDENCE, TITLES)
    reasons = request.json_schema["properties"]["reasons"]
    assert reasons["required"] == list(EVIDENCE)
    for item, ids in EVIDENCE.items():
        fields = reasons["properties"][item]["properties"]
        assert fields["item"]["const"].startswith(TITLES[item][:20])
        assert len(fields["item"]["const"]) <= 60
        cited = fields["evidence"]
        assert cited["items"]["enum"] == ids and cited["maxItems"] == len(ids)
    assert set(request.json_schema["properties"]) == {"reasons"}  # re-ordering asks apart
    LlamaGrammar.from_json_schema(json.dumps(request.json_schema), verbose=False)


def test_the_longest_reply_the_schema_allows_fits_the_token_budget() -> None:
    request = reasons_request(EVIDENCE, TITLES)
    reasons = request.json_schema["properties"]
    longest = {
        "reasons": {
            item: {
                "item": reasons["reasons"]["properties"][item]["properties"]["item"]["const"],
                "evidence": ids[:MAX_EVIDENCE],
                "reason": "x" * REASON_MAX_CHARS,
            }
            for item, ids in EVIDENCE.items()
        },
    }
    # One token a character is the worst a tokenizer does; the grammar allows one space per
    # separator, as json.dumps writes them.
    text = json.dumps(longest)
    assert len(text) <= request.max_tokens
    assert set(ReasonsReply.model_validate(longest).reasons) == set(EVIDENCE)


def test_a_reason_over_the_bound_is_refused() -> None:
    with pytest.raises(ValidationError):
        ReasonsReply.model_validate(
            {"reasons": {"a": {"evidence": [], "reason": "x" * (REASON_MAX_CHARS + 1)}}}
        )


def test_prompt_v2_asks_for_one_of_the_items_own_details_first_and_still_fits() -> None:
    from m3rec.agents.reason_drafts import DETAIL_CHARS, item_details
    from m3rec.data import Item

    conair = Item(
        "B00004TUBL",
        TITLES["B00004TUBL"],
        {"categories": "Beauty > Hair Care > Styling Tools > Irons", "brand": "Conair"},
    )
    details = {"B00004TUBL": item_details(conair), "B000052YPE": []}
    assert details["B00004TUBL"][:3] == ["Beauty", "Hair Care", "Styling Tools"]
    assert "trust in Conair" in details["B00004TUBL"]
    assert all(len(d) <= DETAIL_CHARS for d in details["B00004TUBL"])
    request = reasons_request(EVIDENCE, TITLES, details)
    reasons = request.json_schema["properties"]["reasons"]["properties"]
    conair_fields = reasons["B00004TUBL"]
    assert list(conair_fields["properties"])[:2] == ["item", "detail"]  # written in this order
    assert conair_fields["properties"]["detail"]["enum"] == details["B00004TUBL"]
    assert "detail" in conair_fields["required"]
    assert "detail" not in reasons["B000052YPE"]["properties"]  # no detail to pick from
    LlamaGrammar.from_json_schema(json.dumps(request.json_schema), verbose=False)
    longest = {
        "reasons": {
            item: {
                "item": reasons[item]["properties"]["item"]["const"],
                **({"detail": max(details[item], key=len)} if details[item] else {}),
                "evidence": ids[:MAX_EVIDENCE],
                "reason": "x" * REASON_MAX_CHARS,
            }
            for item, ids in EVIDENCE.items()
        },
    }
    assert len(json.dumps(longest)) <= request.max_tokens
    reply = ReasonsReply.model_validate(longest)
    assert reply.reasons["B00004TUBL"].detail == max(details["B00004TUBL"], key=len)


def test_the_default_reasons_prompt_is_the_setting_default() -> None:
    from m3rec.agents.reason_drafts import PROMPT, PROMPTS
    from m3rec.settings import MarSettings

    assert PROMPT[1] == MarSettings().reasons_prompt and PROMPT[1] in PROMPTS
