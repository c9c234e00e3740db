"""Assemble the recommendation graph: wiring only. MAR's nodes join here in a later step."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from m3rec.agents.nodes import Deps, extract_motivations
from m3rec.state import RecState


def build_graph(deps: Deps) -> StateGraph[RecState]:
    """Return the uncompiled graph; callers compile it with their checkpointer."""

    async def extract_motivations_node(state: RecState) -> dict[str, Any]:
        return await extract_motivations(state, deps=deps)

    builder = StateGraph(RecState)
    builder.add_node("extract_motivations", extract_motivations_node)
    builder.add_edge(START, "extract_motivations")
    builder.add_edge("extract_motivations", END)
    return builder
