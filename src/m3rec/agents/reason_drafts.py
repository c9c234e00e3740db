"""What MAR's explain step asks the LLM for: a reason per item, under a bounded JSON schema.

The scorer has already chosen, for each item, the motivation it serves and the history items
that show it; the LLM words the reason and cites some of those items. The schema sent for
generation is built per request: one property per item, whose evidence is an enum of that
item's own evidence ids, every string and list bounded, so a whole reply always fits its token
budget. (Re-ordering is a call of its own before this one: `agents.reorder`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from m3rec import prompts
from m3rec.data.traits import metadata_traits
from m3rec.data.types import Item
from m3rec.schemas import REASON_MAX_CHARS, REASON_MIN_CHARS, ReasonDraft
from m3rec.schemas import REASON_MAX_EVIDENCE as MAX_EVIDENCE
from m3rec.settings import MarSettings

# The prompt the reasons are asked with by default: the setting's default (mar.reasons_prompt).
PROMPT = ("mar", str(MarSettings.model_fields["reasons_prompt"].default))
PROMPTS = ("v1", "v2")  # v2: each reason opens with a detail of its item (`item_details`)
MAX_DETAILS = 12

__all__ = [
    "MAX_EVIDENCE",
    "PROMPT",
    "REASON_MAX_CHARS",
    "REASON_MIN_CHARS",
    "ReasonDraft",
    "ReasonsReply",
    "ReasonsRequest",
    "item_details",
    "reasons_request",
]

# The token bound counts each bounded string at one token a character and each id at its length
# plus quotes and separator, plus the keys and punctuation: a reply can never be cut off.
_TOKENS_FRAME = 40
_TOKENS_PER_REASON_KEYS = 30


class ItemReason(BaseModel):
    """One item's reason in the LLM's reply (`item` is its title, as the schema fixes it)."""

    item: str = ""
    detail: str = ""  # prompt v2: one of the item's own details, written before the reason
    evidence: list[str] = Field(max_length=MAX_EVIDENCE)
    reason: str = Field(max_length=REASON_MAX_CHARS)


class ReasonsReply(BaseModel):
    """The LLM's whole reply: a reason per item id."""

    reasons: dict[str, ItemReason]


@dataclass(frozen=True)
class ReasonsRequest:
    """The generation schema for one request and the reply's token bound."""

    json_schema: dict[str, Any]
    max_tokens: int


def reasons_request(
    evidence: dict[str, list[str]],
    titles: dict[str, str],
    details: dict[str, list[str]] | None = None,
) -> ReasonsRequest:
    """Return the schema asking for a reason for each item of EVIDENCE (item id -> the ids it may
    cite, in the order shown).

    Each reason object opens with the item's title (TITLES, a constant the grammar writes out):
    a small model then words each reason from its own item instead of repeating the last one.
    With DETAILS (prompt v2: item id -> `item_details`), the title is followed by one of them,
    an enum, so the reason is written after the model has named something of its own item.
    """
    reasons = {
        item: {
            "type": "object",
            "properties": {
                "item": {"const": _title_const(titles.get(item, item))},
                **(
                    {"detail": {"type": "string", "enum": details[item]}}
                    if details and details.get(item)
                    else {}
                ),
                "evidence": {
                    "type": "array",
                    "items": {"type": "string", "enum": ids[:MAX_EVIDENCE]},
                    "minItems": 1,
                    "maxItems": min(MAX_EVIDENCE, len(ids)),
                }
                if ids
                else {"type": "array", "maxItems": 0},
                "reason": {
                    "type": "string",
                    "minLength": REASON_MIN_CHARS,
                    "maxLength": REASON_MAX_CHARS,
                },
            },
            "required": [
                "item",
                *(["detail"] if details and details.get(item) else []),
                "evidence",
                "reason",
            ],
            "additionalProperties": False,
        }
        for item, ids in evidence.items()
    }
    properties: dict[str, Any] = {
        "reasons": {
            "type": "object",
            "properties": reasons,
            "required": list(evidence),
            "additionalProperties": False,
        }
    }
    ids = [*evidence, *(e for cited in evidence.values() for e in cited)]
    per_id = max((len(i) for i in ids), default=1) + 4
    longest_title = max((len(_title_const(t)) for t in titles.values()), default=0)
    longest_detail = max((len(d) for ds in (details or {}).values() for d in ds), default=0)
    per_reason = (
        _TOKENS_PER_REASON_KEYS
        + per_id * (1 + MAX_EVIDENCE)
        + REASON_MAX_CHARS
        + longest_title
        + longest_detail
    )
    budget = _TOKENS_FRAME + per_reason * len(evidence)
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    return ReasonsRequest(schema, budget)


TITLE_CONST_CHARS = 60
DETAIL_CHARS = 60


def item_details(item: Item) -> list[str]:
    """Return what a v2 reason may pick as its item's detail: the item's genres and category
    levels, then its metadata traits, as the prompt shows catalogue text, at most MAX_DETAILS."""
    found = [*item.category_names(), *metadata_traits(item)]
    cleaned = (prompts.data_text(d, DETAIL_CHARS) for d in found)
    return list(dict.fromkeys(d for d in cleaned if d))[:MAX_DETAILS]


def _title_const(title: str) -> str:
    """Return the title a reason opens with, as the prompt shows catalogue text
    (`prompts.data_text`), at most TITLE_CONST_CHARS."""
    return prompts.data_text(title, TITLE_CONST_CHARS)
