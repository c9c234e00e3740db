"""The graph state: a small typed structure with reducers."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from m3rec.agents.mope import HistoryEntry, MotivationProfile


class RecState(TypedDict, total=False):
    """What flows through the recommendation graph."""

    user_id: str
    history: list[HistoryEntry]
    profile: MotivationProfile | None
    profile_source: str
    errors: Annotated[list[str], operator.add]
    steps: Annotated[list[str], operator.add]
