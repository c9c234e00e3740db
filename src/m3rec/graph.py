"""Assemble the recommendation graph: wiring only."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from m3rec.agents.mar import (
    align,
    check_reasons,
    explain,
    reorder,
    respond,
    retrieve,
    route_after_align,
    route_after_check,
    route_after_reorder,
)
from m3rec.agents.nodes import (
    Deps,
    extract_motivations,
    load_user,
    route_after_load,
    route_after_profile,
)
from m3rec.state import RecInput, RecState


def build_graph() -> StateGraph[RecState, Deps, RecInput, RecState]:
    """Return the uncompiled graph; callers compile it with their checkpointer and invoke it
    with `context=Deps(...)`.

    START -> load_user -> extract_motivations (MOPE, store first) -> retrieve -> align ->
    (reorder, when mar.reorder is on) -> explain -> check_reasons -> (explain again for
    rejected reasons, once) -> respond -> END.
    Routing: no history ends after load_user; without MAR's context the graph ends after the
    profile; without an LLM for reasons align goes straight to respond, which gives template
    reasons.
    """
    builder = StateGraph(RecState, context_schema=Deps, input_schema=RecInput)
    for name, node in [
        ("load_user", load_user),
        ("extract_motivations", extract_motivations),
        ("retrieve", retrieve),
        ("align", align),
        ("reorder", reorder),
        ("explain", explain),
        ("check_reasons", check_reasons),
        ("respond", respond),
    ]:
        builder.add_node(name, node)
    builder.add_edge(START, "load_user")
    builder.add_conditional_edges("load_user", route_after_load, ["extract_motivations", END])
    builder.add_conditional_edges("extract_motivations", route_after_profile, ["retrieve", END])
    builder.add_edge("retrieve", "align")
    builder.add_conditional_edges("align", route_after_align, ["reorder", "explain", "respond"])
    builder.add_conditional_edges("reorder", route_after_reorder, ["explain", "respond"])
    builder.add_edge("explain", "check_reasons")
    builder.add_conditional_edges("check_reasons", route_after_check, ["explain", "respond"])
    builder.add_edge("respond", END)
    return builder
