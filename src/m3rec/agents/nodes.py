"""Graph nodes: each returns a partial state update and never mutates the state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from m3rec.agents.encode import MoteScorer, profile_notes
from m3rec.agents.mope import (
    MotivationProfile,
    current_prompt_id,
    extract_profile,
    profile_key,
    store_profile,
)
from m3rec.errors import EmptyHistoryError, LLMError
from m3rec.llm.base import LLMBackend
from m3rec.state import RecState
from m3rec.store import MotivationStore


@dataclass
class Deps:
    """What nodes need; the LLM is built on first use, so a cached run loads no model."""

    store: MotivationStore
    model_id: str
    llm_factory: Callable[[], LLMBackend]
    scorer: MoteScorer | None = None  # MOTE; without it the graph stops after the profile
    top_k: int = 20
    _llm: LLMBackend | None = field(default=None, repr=False)

    def llm(self) -> LLMBackend:
        """Return the LLM backend, building it the first time."""
        if self._llm is None:
            self._llm = self.llm_factory()
        return self._llm


async def extract_motivations(state: RecState, *, deps: Deps) -> dict[str, Any]:
    """Write the user's motivation profile: from the store if it has one, else by the LLM."""
    user, history = state["user_id"], state["history"]
    key = profile_key(user, history, current_prompt_id(), deps.model_id)
    stored = await asyncio.to_thread(deps.store.get_profile, key)
    if stored is not None:
        profile = MotivationProfile.model_validate_json(stored.profile_json)
        return {"profile": profile, "profile_source": "store", "steps": ["extract_motivations"]}
    llm = deps.llm()
    model_name = str(llm.describe().get("model", deps.model_id))
    try:
        outcome = await asyncio.to_thread(
            extract_profile, llm, user, history, model_name=model_name
        )
    except (LLMError, EmptyHistoryError) as exc:
        return {"profile": None, "errors": [str(exc)], "steps": ["extract_motivations"]}
    await asyncio.to_thread(store_profile, deps.store, key, outcome, deps.model_id)
    return {"profile": outcome.profile, "profile_source": "llm", "steps": ["extract_motivations"]}


async def encode(state: RecState, *, deps: Deps) -> dict[str, Any]:
    """Rank the catalogue with MOTE from the user's history and, if written, their motivations."""
    assert deps.scorer is not None, "the graph adds `encode` only when a scorer is given"
    profile = state.get("profile")
    notes = profile_notes(profile) if profile is not None else []
    history = [h.item_id for h in state["history"]]
    ranked = await asyncio.to_thread(deps.scorer.rank, state["user_id"], history, notes, deps.top_k)
    return {"candidates": ranked, "steps": ["encode"]}
