"""What MOPE asks the LLM for, per prompt version: the reply schemas and their token bounds.

`mope/v1` (as released): free labels and descriptions. `mope/v2`: a closed set of motivation
kinds, each with a label and a detail of its own, evidence limited to the window's ids, and every
field bounded so that a whole reply always fits in the token budget it is given.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from m3rec.schemas import HistoryEntry

MotivationKind = Literal[
    "solve_problem",
    "routine",
    "for_someone",
    "self_care",
    "identity",
    "nostalgia",
    "novelty",
    "social",
    "learning",
    "mood",
]
KIND_WORDS: dict[str, str] = {
    "solve_problem": "a problem to solve",
    "routine": "routine or replenishment",
    "for_someone": "a gift or someone else's need",
    "self_care": "self-care",
    "identity": "aesthetics or identity",
    "nostalgia": "nostalgia",
    "novelty": "novelty or exploration",
    "social": "a social occasion",
    "learning": "learning",
    "mood": "a mood or escape",
}
V2_MAX_MOTIVATIONS = 4
V2_MAX_EVIDENCE = 6
V2_LABEL_CHARS = 40
V2_DETAIL_CHARS = 120
V2_SUMMARY_CHARS = 160
V2_SHIFT_CHARS = 120
_WEIGHTS = 5


def _ids_as_strings(value: Any) -> Any:
    if isinstance(value, list):
        return [str(v).strip().strip("[]") for v in value]
    return value


class MotivationDraft(BaseModel):
    """One motivation as the LLM writes it under `mope/v1`."""

    label: str = Field(min_length=1, max_length=40)
    description: str = Field(min_length=1, max_length=120)
    evidence: list[str] = Field(max_length=20)
    strength: float = Field(ge=0.0, le=1.0)

    evidence_ids = field_validator("evidence", mode="before")(_ids_as_strings)


class ProfileDraft(BaseModel):
    """The LLM's whole reply under `mope/v1`."""

    motivations: list[MotivationDraft] = Field(min_length=2, max_length=5)
    summary: str = Field(min_length=1, max_length=240)
    shift: str = Field(min_length=1, max_length=160)


class MotivationDraftV2(BaseModel):
    """One motivation under `mope/v2`: why (the kind), in the user's terms, and the items."""

    kind: MotivationKind
    label: str = Field(min_length=3, max_length=V2_LABEL_CHARS)
    detail: str = Field(min_length=10, max_length=V2_DETAIL_CHARS)
    evidence: list[str] = Field(min_length=1, max_length=V2_MAX_EVIDENCE)
    weight: Literal[1, 2, 3, 4, 5]

    evidence_ids = field_validator("evidence", mode="before")(_ids_as_strings)


class ProfileDraftV2(BaseModel):
    """The LLM's whole reply under `mope/v2`."""

    motivations: list[MotivationDraftV2] = Field(min_length=2, max_length=V2_MAX_MOTIVATIONS)
    summary: str = Field(min_length=10, max_length=V2_SUMMARY_CHARS)
    shift: str = Field(min_length=3, max_length=V2_SHIFT_CHARS)


@dataclass(frozen=True)
class DraftMotivation:
    """A motivation of either version's reply, in one shape."""

    label: str
    description: str
    evidence: list[str]
    strength: float
    kind: str | None


@dataclass(frozen=True)
class DraftRequest:
    """How to ask for one window's profile: the schema to validate with, the (narrower) schema
    to constrain generation to, and the most tokens a complete reply can take."""

    schema: type[ProfileDraft] | type[ProfileDraftV2]
    json_schema: dict[str, Any]
    max_tokens: int | None


def draft_request(prompt_id: str, window: list[HistoryEntry]) -> DraftRequest:
    """Return the request for PROMPT_ID over WINDOW (v1 as released: its schema, the backend's
    token limit)."""
    if prompt_id == "mope/v1":
        return DraftRequest(ProfileDraft, ProfileDraft.model_json_schema(), None)
    ids = list(dict.fromkeys(entry.item_id for entry in window))
    return DraftRequest(ProfileDraftV2, _v2_schema(ids), v2_token_budget(ids))


def draft_motivations(draft: ProfileDraft | ProfileDraftV2) -> list[DraftMotivation]:
    """Return the reply's motivations in one shape; a v2 weight of 1 to 5 becomes a strength of
    0.2 to 1."""
    if isinstance(draft, ProfileDraft):
        return [
            DraftMotivation(m.label, m.description, m.evidence, m.strength, None)
            for m in draft.motivations
        ]
    return [
        DraftMotivation(m.label, m.detail, m.evidence, m.weight / _WEIGHTS, m.kind)
        for m in draft.motivations
    ]


def _v2_schema(ids: list[str]) -> dict[str, Any]:
    schema = copy.deepcopy(_V2_SCHEMA)
    schema["$defs"]["MotivationDraftV2"]["properties"]["evidence"]["items"] = {
        "type": "string",
        "enum": ids,
    }
    return schema


def v2_token_budget(ids: list[str]) -> int:
    """Return the most tokens a v2 reply over IDS can take: each bounded string counted at one
    token a character, each id at its length plus its quotes, plus the keys, the longest kind,
    punctuation and the one space the grammar allows at each separator."""
    longest_id = max((len(i) for i in ids), default=1) + 4
    per_motivation = 110 + V2_LABEL_CHARS + V2_DETAIL_CHARS + V2_MAX_EVIDENCE * longest_id
    return 60 + V2_MAX_MOTIVATIONS * per_motivation + V2_SUMMARY_CHARS + V2_SHIFT_CHARS


_V2_SCHEMA = ProfileDraftV2.model_json_schema()
