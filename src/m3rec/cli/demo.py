"""`m3rec demo`: one real user of the bundled catalogue and why they watch what they watch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from m3rec.cli.errors import reports_errors
from m3rec.cli.options import JsonOpt, store_flag, with_llm_settings
from m3rec.cli.render import print_history, print_json, print_profile, print_profile_origin, spinner
from m3rec.settings import Settings


@reports_errors
@with_llm_settings
def demo(
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="User id in the bundled catalogue (default: one picked by --seed).",
            show_default=False,
        ),
    ] = None,
    items: Annotated[
        int,
        typer.Option(
            "--items", min=1, max=50, help="How many of the user's most recent items the LLM reads."
        ),
    ] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed for picking the user.")] = 7,
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Explain why one real MovieLens user watches what they watch.

    Reads a user of the bundled MovieLens catalogue and has the LLM write their motivations.

    The profile is kept in the store, so a second run with the same user, items and model reads
    it back instead of asking the LLM again.
    """
    from m3rec.demo import run_demo

    with spinner("loading the model and writing the profile (a minute or two on a CPU)"):
        demo_run = run_demo(
            settings, user_id=user, n_items=items, seed=seed, store_flag=store_flag(store)
        )
    result, profile = demo_run.result, demo_run.result.profile
    if as_json:
        print_json(
            {
                "dataset": demo_run.dataset,
                "user_id": profile.user_id,
                "history": [
                    {
                        "item_id": h.item_id,
                        "title": demo_run.titles[h.item_id],
                        "rating": h.rating,
                        "date": h.day,
                    }
                    for h in demo_run.history
                ],
                "profile": profile.model_dump(mode="json"),
                "profile_source": result.source,
                "usage": vars(result.usage),
                "repaired": not result.first_try_valid,
                "stored": result.meta,
                "backend": demo_run.backend,
            }
        )
        return
    heading = (
        f"[bold]User {profile.user_id}[/bold] of {demo_run.dataset}: "
        f"the {len(demo_run.history)} most recent items"
    )
    print_history(demo_run.history, demo_run.titles, heading)
    print_profile(profile, demo_run.titles)
    print_profile_origin(
        result.source,
        usage=result.usage,
        meta=result.meta,
        model=f"{demo_run.backend.get('model')} via {demo_run.backend.get('backend')}",
        repaired=not result.first_try_valid,
        dropped_evidence=profile.dropped_evidence,
    )
