"""The graph state: what a caller gives (the input schema) and what the nodes add, with reducers."""

from __future__ import annotations

import operator
from typing import Annotated, Any, NotRequired

from typing_extensions import TypedDict  # pydantic needs this TypedDict on Python 3.11

from m3rec.schemas import HistoryEntry, MotivationProfile, ProfileSource, ScoredItem


class RecInput(TypedDict):
    """What a caller must give the graph: the user and the history it may read."""

    user_id: str
    history: list[HistoryEntry]
    history_context: NotRequired[dict[str, Any]]  # how the history was cut (HistoryRule.context)


class RecState(RecInput, total=False):
    """What flows through the recommendation graph."""

    profile: MotivationProfile | None
    profile_source: ProfileSource
    candidates: list[ScoredItem]  # MOTE's ranking, best first (the encode step)
    errors: Annotated[list[str], operator.add]
    steps: Annotated[list[str], operator.add]
