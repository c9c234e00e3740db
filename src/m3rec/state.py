"""The graph state: what a caller gives (the input schema) and what the nodes add, with reducers."""

from __future__ import annotations

import operator
from typing import Annotated, Any, NotRequired

from typing_extensions import TypedDict  # pydantic needs this TypedDict on Python 3.11

from m3rec.errors import Usage
from m3rec.schemas import (
    AlignedItem,
    FocusReport,
    HistoryEntry,
    MotivationProfile,
    ProfileSource,
    Reason,
    ReasonDraft,
    Steering,
)


def _merge(old: dict[str, Reason], new: dict[str, Reason]) -> dict[str, Reason]:
    return {**old, **new}


class RecInput(TypedDict):
    """What a caller must give the graph: the user and the history it may read."""

    user_id: str
    history: list[HistoryEntry]
    history_context: NotRequired[dict[str, Any]]  # how the history was cut (HistoryRule.context)
    focus_item: NotRequired[str]  # explain this item (its rank and reason) instead of a top K
    steering: NotRequired[Steering]  # what a conversation said (`m3rec chat`)


class RecState(RecInput, total=False):
    """What flows through the recommendation graph."""

    profile: MotivationProfile | None
    profile_source: ProfileSource
    chat_from: int  # the profile's motivations from this index on were said in a conversation
    candidate_ids: list[str]  # what retrieve found, before alignment
    ranked: list[AlignedItem]  # align's top items, best first (re-ordered if the LLM may)
    drafts: list[ReasonDraft]  # the LLM's latest reasons, to be checked
    attempt: int  # 1 after the first reasons call, 2 after the regeneration
    reasons: Annotated[dict[str, Reason], _merge]  # checked reasons by item id
    rejected: dict[str, tuple[str, ...]]  # the rules each item's latest draft broke
    reason_usage: Annotated[list[Usage], operator.add]
    focus: FocusReport  # where focus_item stands
    errors: Annotated[list[str], operator.add]
    steps: Annotated[list[str], operator.add]
