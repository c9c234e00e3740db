"""`m3rec recommend`: one user through the graph (their motivations, then MOTE's ranking)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from m3rec.cli.build import checkpoint_for
from m3rec.cli.errors import reports_errors
from m3rec.cli.options import (
    DataOpt,
    FormatOpt,
    JsonOpt,
    load_data,
    store_flag,
    with_llm_settings,
)
from m3rec.cli.render import (
    console,
    item_titles,
    print_json,
    print_profile,
    print_recommendations,
    spinner,
)
from m3rec.data.histories import PRODUCT_ITEMS
from m3rec.settings import Settings


@reports_errors
@with_llm_settings
def recommend(
    user: Annotated[
        str, typer.Option("--user", help="The user to recommend for.", show_default=False)
    ],
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="A MOTE checkpoint from `m3rec train` on --data. Default: built on first use "
            "and cached under paths.cache_dir (keyed by the data and settings), then reused.",
            show_default=False,
        ),
    ] = None,
    data: DataOpt = None,
    data_format: FormatOpt = "auto",
    items: Annotated[
        int,
        typer.Option(
            "--items",
            min=1,
            max=60,
            help="How many of the user's most recent items are read (as `profile --user` "
            "reads them, so its stored profile is reused).",
        ),
    ] = PRODUCT_ITEMS,
    top: Annotated[int, typer.Option("--top", min=1, max=200, help="How many items to show.")] = 10,
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Recommend items to a user, with their motivations.

    The user's motivations (MOPE) come from the store or are written now by the LLM; MOTE then
    ranks the items the user has not interacted with.
    """
    from m3rec.recommending import recommend as recommend_items

    dataset = load_data(data, data_format)
    checkpoint = checkpoint_for(settings, dataset, checkpoint)
    with spinner("reading the user's motivations (the LLM writes them if none are stored)"):
        answer = recommend_items(
            settings,
            dataset,
            user,
            checkpoint,
            n_items=items,
            top_k=top,
            store_flag=store_flag(store),
        )
    if as_json:
        print_json(
            {
                "user_id": answer.user_id,
                "profile": answer.profile.model_dump(mode="json") if answer.profile else None,
                "profile_source": answer.profile_source,
                "recommendations": [
                    {
                        "item_id": s.item_id,
                        "title": dataset.items[s.item_id].title,
                        "score": round(s.score, 6),
                    }
                    for s in answer.items
                ],
                "errors": answer.errors,
            }
        )
        return
    for error in answer.errors:
        console.print(
            f"[yellow]warning:[/yellow] no profile ({escape(error)}); ranking by history alone"
        )
    if answer.profile is not None:
        source = "from the store" if answer.profile_source == "store" else "written now"
        console.print(f"[bold]User {answer.user_id}[/bold]: motivations {source}")
        print_profile(answer.profile, item_titles(dataset))
    print_recommendations(dataset, answer.items)
