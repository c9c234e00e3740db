"""Assemble the recommendation graph: wiring only. MAR's nodes join here in a later step."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from m3rec.agents.nodes import Deps, encode, extract_motivations
from m3rec.state import RecState


def build_graph(deps: Deps) -> StateGraph[RecState]:
    """Return the uncompiled graph; callers compile it with their checkpointer.

    START -> extract_motivations (MOPE) -> encode (MOTE, when `deps.scorer` is set) -> END.
    """

    async def extract_motivations_node(state: RecState) -> dict[str, Any]:
        return await extract_motivations(state, deps=deps)

    async def encode_node(state: RecState) -> dict[str, Any]:
        return await encode(state, deps=deps)

    builder = StateGraph(RecState)
    builder.add_node("extract_motivations", extract_motivations_node)
    builder.add_edge(START, "extract_motivations")
    last = "extract_motivations"
    if deps.scorer is not None:
        builder.add_node("encode", encode_node)
        builder.add_edge(last, "encode")
        last = "encode"
    builder.add_edge(last, END)
    return builder
