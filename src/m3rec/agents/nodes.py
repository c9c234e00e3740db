"""Graph nodes: each returns a partial state update and never mutates the state.

Dependencies reach a node through LangGraph's runtime context (`Runtime[Deps]`), never through
a closure; blocking work (Chroma, the LLM, torch) runs off the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph.runtime import Runtime

from m3rec.agents.mar import MarContext
from m3rec.agents.mope import DEFAULT_WINDOWS
from m3rec.agents.profiles import profile_user
from m3rec.agents.steering import steer_profile
from m3rec.errors import LLMError, ModelError
from m3rec.llm.factory import LazyBackend
from m3rec.schemas import MotivationProfile
from m3rec.settings import HistoryWindows
from m3rec.state import RecState
from m3rec.store import MotivationStore


@dataclass
class Deps:
    """What nodes need; the LLM is built on first use, so a run served by the store loads none."""

    store: MotivationStore
    model_id: str
    llm: LazyBackend
    prompt_id: str | None = None  # MOPE's prompt; None: the newest
    windows: HistoryWindows = DEFAULT_WINDOWS  # how MOPE reads a long history
    mar: MarContext | None = None  # MAR: retrieve, align, explain (the recommend pipeline)
    failed_profiles: dict[str, str] = field(default_factory=dict)  # key: error, this process

    def close(self) -> None:
        """Close the LLM backend if a node built it."""
        self.llm.close()


async def extract_motivations(state: RecState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Read the user's motivation profile: from the store if it has one, else by the LLM."""
    deps = runtime.context
    context = state.get("history_context", {"stage": "product"})
    try:
        result = await asyncio.to_thread(
            profile_user,
            deps.store,
            deps.llm,
            state["user_id"],
            state["history"],
            model_id=deps.model_id,
            context=context,
            prompt_id=deps.prompt_id,
            windows=deps.windows,
            failed=deps.failed_profiles,
        )
    except (LLMError, ModelError) as exc:  # ProfileFailure included; the ranking goes on
        error = f"no profile ({exc})"
        steered = _steered(state, None)
        return {**steered, "errors": [error], "steps": ["extract_motivations"]}
    return {
        **_steered(state, result.profile),
        "profile_source": result.source,
        "steps": ["extract_motivations"],
    }


def _steered(state: RecState, profile: MotivationProfile | None) -> dict[str, Any]:
    """Return PROFILE as the ranking reads it: with what a conversation said, if any."""
    steering = state.get("steering")
    if steering is None:
        return {"profile": profile}
    steered, chat_from = steer_profile(profile, steering, state["user_id"])
    return {"profile": steered, "chat_from": chat_from}


async def load_user(state: RecState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Refuse a user with nothing to read: no history, no motivations, no recommendations."""
    if not state["history"]:
        return {
            "errors": [f"user {state['user_id']} has no history to read"],
            "steps": ["load_user"],
        }
    return {"steps": ["load_user"]}


def route_after_load(
    state: RecState, runtime: Runtime[Deps]
) -> Literal["extract_motivations", "__end__"]:
    """Go on only with a history to read."""
    return "extract_motivations" if state["history"] else "__end__"


def route_after_profile(state: RecState, runtime: Runtime[Deps]) -> Literal["retrieve", "__end__"]:
    """Recommend with MAR when its context is given; otherwise the profile is the answer."""
    return "retrieve" if runtime.context.mar is not None else "__end__"
