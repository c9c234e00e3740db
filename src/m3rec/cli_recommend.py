"""The `m3rec recommend` command: one user through the graph (profile, then MOTE's ranking)."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from m3rec.cli_common import (
    DataOpt,
    FormatOpt,
    JsonOpt,
    StoreOpt,
    VerboseOpt,
    _load_data,
    _setup_logging,
    console,
    print_json,
    with_llm_settings,
)
from m3rec.settings import Settings


@with_llm_settings
def recommend(
    checkpoint: Annotated[
        Path, typer.Option("--checkpoint", help="A MOTE checkpoint from `m3rec train` on --data.")
    ],
    user: Annotated[str, typer.Option("--user", help="The user to recommend for.")],
    data: DataOpt = None,
    data_format: FormatOpt = "auto",
    items: Annotated[
        int,
        typer.Option(
            "--items", min=1, max=60, help="How many of the user's most recent items are read."
        ),
    ] = 20,
    top: Annotated[int, typer.Option("--top", min=1, max=200, help="How many items to show.")] = 10,
    store: StoreOpt = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Recommend items to a user: their motivations (MOPE, stored or written now), then MOTE's
    ranking of the items they have not interacted with (the graph's encode step)."""
    from langgraph.checkpoint.memory import InMemorySaver

    from m3rec.agents.encode import MoteScorer
    from m3rec.agents.nodes import Deps
    from m3rec.demo import recent_history
    from m3rec.graph import build_graph
    from m3rec.llm.factory import build_backend
    from m3rec.profiling import model_identity
    from m3rec.state import RecState
    from m3rec.store import open_store

    _setup_logging(verbose)
    dataset = _load_data(data, data_format)
    history = recent_history(dataset, user, items)
    scorer = MoteScorer.load(checkpoint, dataset)
    deps = Deps(
        store=open_store(store or settings.paths.chroma_dir),
        model_id=model_identity(settings),
        llm_factory=lambda: build_backend(settings),
        scorer=scorer,
        top_k=top,
    )
    graph = build_graph(deps).compile(checkpointer=InMemorySaver())
    state: RecState = {"user_id": user, "history": history}
    busy = console.status("reading the user's motivations and ranking...")
    with nullcontext() if as_json else busy:
        final = asyncio.run(graph.ainvoke(state, {"configurable": {"thread_id": user}}))
    _show(dataset, final, as_json)


def _show(dataset: Any, final: dict[str, Any], as_json: bool) -> None:
    profile = final.get("profile")
    ranked = final.get("candidates", [])
    if as_json:
        print_json(
            {
                "user_id": final["user_id"],
                "profile": profile.model_dump(mode="json") if profile is not None else None,
                "profile_source": final.get("profile_source"),
                "recommendations": [
                    {"item_id": c.item_id, "title": dataset.items[c.item_id].title, "score": score}
                    for c in ranked
                    for score in [round(c.score, 6)]
                ],
                "errors": final.get("errors", []),
            }
        )
        return
    for error in final.get("errors", []):
        console.print(f"[yellow]warning:[/yellow] no profile ({error}); ranking by history alone")
    if profile is not None:
        console.print(f"[bold]User {final['user_id']}[/bold] ({final.get('profile_source')})")
        for m in profile.motivations:
            console.print(f"  - {m.label} ({m.strength:.2f}): {m.description}")
    table = Table("#", "item", "title", "genres / categories", "score")
    for rank, c in enumerate(ranked, 1):
        item = dataset.items[c.item_id]
        kind = item.fields.get("genres") or item.fields.get("categories", "")
        table.add_row(str(rank), c.item_id, item.title, kind, f"{c.score:.3f}")
    console.print(table)
