"""The graph state: a small typed structure with reducers."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from m3rec.agents.encode import ScoredItem
from m3rec.agents.mope import HistoryEntry, MotivationProfile


class RecState(TypedDict, total=False):
    """What flows through the recommendation graph."""

    user_id: str
    history: list[HistoryEntry]
    profile: MotivationProfile | None
    profile_source: str
    candidates: list[ScoredItem]  # MOTE's ranking, best first (the encode step)
    errors: Annotated[list[str], operator.add]
    steps: Annotated[list[str], operator.add]
