"""Assemble the recommendation graph and the conversation's graph: wiring only."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from m3rec.agents import chat
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


def build_chat_graph() -> StateGraph[chat.ChatState, chat.ChatDeps, chat.ChatInput, chat.ChatState]:
    """Return the uncompiled conversation graph, one run per turn; callers compile it with a
    checkpointer (the thread) and invoke it with `context=ChatDeps(...)`.

    START -> read_turn -> (by intent) steer | exclude | restart -> rank; forget -> rank, or
    ask when it names no motivation; rank (the list again), why, profile, ask, help -> END.
    """
    builder = StateGraph(chat.ChatState, context_schema=chat.ChatDeps, input_schema=chat.ChatInput)
    for name, node in [
        ("read_turn", chat.read_turn),
        ("steer", chat.steer),
        ("exclude", chat.exclude),
        ("forget", chat.forget),
        ("restart", chat.restart),
        ("rank", chat.rank),
        ("why", chat.why),
        ("profile", chat.show_profile),
        ("ask", chat.ask),
        ("help", chat.show_help),
    ]:
        builder.add_node(name, node)
    builder.add_edge(START, "read_turn")
    routes = ["steer", "exclude", "forget", "restart", "rank", "why", "profile", "ask", "help"]
    builder.add_conditional_edges("read_turn", chat.route_turn, routes)
    for changed in ("steer", "exclude", "restart"):
        builder.add_edge(changed, "rank")
    builder.add_conditional_edges("forget", chat.route_after_change, ["rank", "ask"])
    for answer in ("rank", "why", "profile", "ask", "help"):
        builder.add_edge(answer, END)
    return builder
