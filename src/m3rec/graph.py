"""Assemble the recommendation graph: wiring only. MAR's nodes join here in a later step."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from m3rec.agents.nodes import Deps, encode, extract_motivations, route_after_profile
from m3rec.state import RecInput, RecState


def build_graph() -> StateGraph[RecState, Deps, RecInput, RecState]:
    """Return the uncompiled graph; callers compile it with their checkpointer and invoke it
    with `context=Deps(...)`.

    START -> extract_motivations (MOPE) -> [route_after_profile] -> encode (MOTE) -> END,
    or straight to END when no scorer is given.
    """
    builder = StateGraph(RecState, context_schema=Deps, input_schema=RecInput)
    builder.add_node("extract_motivations", extract_motivations)
    builder.add_node("encode", encode)
    builder.add_edge(START, "extract_motivations")
    builder.add_conditional_edges("extract_motivations", route_after_profile, ["encode", END])
    builder.add_edge("encode", END)
    return builder
