"""`m3rec demo`: one real user of the bundled catalogue and why they watch what they watch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from m3rec.cli.build import checkpoint_for
from m3rec.cli.errors import reports_errors
from m3rec.cli.options import JsonOpt, store_flag, with_llm_settings
from m3rec.cli.recommend import recommendations_json
from m3rec.cli.render import (
    console,
    print_history,
    print_json,
    print_profile,
    print_profile_origin,
    print_ranked,
    print_reasons,
    spinner,
)
from m3rec.settings import Settings

if TYPE_CHECKING:
    from m3rec.data import Dataset
    from m3rec.recommending import Recommendations


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
    k: Annotated[
        int,
        typer.Option(
            "--k",
            min=0,
            max=50,
            help="How many items to recommend after the profile, each with why it fits "
            "(0: the profile only).",
        ),
    ] = 5,
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Show a real MovieLens user's motivations and films for them.

    Reads a user of the bundled MovieLens catalogue and has the LLM write their motivations,
    then recommends K films, each with a checked reason (as `m3rec recommend` does; the MOTE
    checkpoint is built on the first run and cached).

    The profile is kept in the store, so a second run with the same user, items and model reads
    it back instead of asking the LLM again.
    """
    from m3rec.data import bundled_catalogue_path, load_dataset
    from m3rec.demo import run_demo

    with spinner("loading the model and writing the profile (a minute or two on a CPU)"):
        demo_run = run_demo(
            settings, user_id=user, n_items=items, seed=seed, store_flag=store_flag(store)
        )
    result, profile = demo_run.result, demo_run.result.profile
    recommended = None
    if k:
        dataset = load_dataset(bundled_catalogue_path())
        recommended = recommend_for(settings, dataset, profile.user_id, items, k, store)
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
                "recommendations": recommended.doc["items"] if recommended else [],
                "errors": recommended.doc["errors"] if recommended else [],
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
    if recommended is not None:
        print_ranked(recommended.dataset, recommended.answer.ranked, profile)
        for error in recommended.answer.errors:
            console.print(f"[yellow]warning:[/yellow] {escape(error)}", highlight=False)
        print_reasons(recommended.dataset, recommended.answer.ranked, recommended.answer.reasons)


@dataclass(frozen=True)
class _Recommended:
    dataset: Dataset
    answer: Recommendations
    doc: dict[str, Any]


def recommend_for(
    settings: Settings, dataset: Dataset, user: str, items: int, k: int, store: Path | None
) -> _Recommended:
    """Recommend K items to USER of the bundled catalogue, as `m3rec recommend` does."""
    from m3rec.recommending import RecommendPipeline

    checkpoint = checkpoint_for(settings, dataset, None)
    with spinner("ranking the catalogue and writing the reasons"):
        pipeline = RecommendPipeline(
            settings, dataset, checkpoint, top_k=k, store_flag=store_flag(store)
        )
        try:
            answer = pipeline.recommend(user, n_items=items)
        finally:
            pipeline.close()
    return _Recommended(dataset, answer, recommendations_json(dataset, answer))
