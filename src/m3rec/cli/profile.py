"""`m3rec profile` (MOPE motivation profiles) and `m3rec traits` (item traits) into the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from m3rec.cli.errors import fail, reports_errors
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
    print_item_traits,
    print_json,
    print_profile,
    print_profile_origin,
    profile_progress,
    progress_bar,
)
from m3rec.data.histories import PRODUCT_ITEMS
from m3rec.settings import Settings

if TYPE_CHECKING:
    from m3rec.data import Dataset
    from m3rec.profiling import BatchSummary
    from m3rec.store import MotivationStore


@reports_errors
@with_llm_settings
def profile(
    data: DataOpt = None,
    data_format: FormatOpt = "auto",
    users: Annotated[
        str | None,
        typer.Option(
            "--users",
            help="A count N (a seeded sample of users with 3+ interactions) or comma-separated "
            "user ids ('12,' is the one user 12).",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user", help="Profile one user and print the profile readably.", show_default=False
        ),
    ] = None,
    items: Annotated[
        int,
        typer.Option(
            "--items",
            min=1,
            help="Without --stage: how many of each user's most recent items the LLM reads "
            "(as demo and recommend read them, so they reuse the profile).",
        ),
    ] = PRODUCT_ITEMS,
    stage: Annotated[
        Literal["test", "valid", "train"] | None,
        typer.Option(
            "--stage",
            help="For benchmarks: profile the history before a held-out item, test (the last "
            "item), valid (the second to last) or train (the third to last, a training target "
            "for fitting on profiles). Default: none, the most recent --items.",
            show_default=False,
        ),
    ] = None,
    cold_k: Annotated[
        int,
        typer.Option(
            "--cold-k",
            min=0,
            help="With --stage: read only the K most recent items before the held-out one "
            "(0 = all of them).",
        ),
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed for sampling --users N.")] = 0,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            max=64,
            help="Requests in flight at once against an OpenAI-compatible server (default: "
            "openai.concurrency, 1; the local model runs one at a time).",
            show_default=False,
        ),
    ] = None,
    skip_failed: Annotated[
        bool,
        typer.Option(
            "--skip-failed",
            help="Do not ask again for users the store records as failed under the same key "
            "(history, prompt, model): the local model at temperature 0 repeats its replies. "
            "Default: they are retried.",
        ),
    ] = False,
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Write motivation profiles (MOPE) for users; resumable.

    Each profile is stored in Chroma as soon as it is written, keyed by user, history, prompt
    version and model, so nothing is computed twice, a killed run picks up where it stopped, and
    a changed prompt or model never serves a stale profile. Users whose reply never validates
    are recorded as failed and retried by the next run (not with --skip-failed).
    """
    from m3rec.data.histories import HistoryRule
    from m3rec.llm.factory import build_backend, model_identity
    from m3rec.profiling import run_profiles, select_users
    from m3rec.store import open_store

    if (users is None) == (user is None):
        fail("give either --users N|ID,ID... or --user ID")
    rule = HistoryRule(stage=stage, cold_k=cold_k, n_items=items)
    dataset = load_data(data, data_format)
    chosen = [user] if user is not None else select_users(dataset, users or "", seed)
    motivation_store = open_store(settings.store, flag=store_flag(store))
    with profile_progress(len(chosen)) as advance:
        summary = run_profiles(
            dataset,
            chosen,
            llm=lambda: build_backend(settings),
            store=motivation_store,
            model_id=model_identity(settings),
            prompt_id=settings.mope.prompt_id,
            windows=settings.mope.windows,
            rule=rule,
            concurrency=concurrency or _default_concurrency(settings),
            skip_failed=skip_failed,
            on_progress=advance,
        )
    if user is not None:
        _show_one(dataset, user, summary, as_json)
    else:
        _show_batch(summary, as_json)


def _default_concurrency(settings: Settings) -> int:
    return settings.openai.concurrency if settings.llm.backend == "openai" else 1


def _show_one(dataset: Dataset, user: str, summary: BatchSummary, as_json: bool) -> None:
    if summary.failed:
        fail(f"user {user}: {summary.failures[0]['error']}")
    result = summary.results[user]
    if as_json:
        print_json(
            {
                "key": result.key,
                "profile": result.profile.model_dump(mode="json"),
                "profile_source": result.source,
                "usage": vars(result.usage),
                "stored": result.meta,
            }
        )
        return
    console.print(f"[bold]User {user}[/bold] of {dataset.name}: {result.profile.prompt_id}")
    print_profile(result.profile, item_titles(dataset))
    print_profile_origin(
        result.source,
        usage=result.usage,
        meta=result.meta,
        model=str(result.meta.get("model_id") or result.profile.model),
        repaired=not result.first_try_valid,
        dropped_evidence=result.profile.dropped_evidence,
    )


def _show_batch(summary: BatchSummary, as_json: bool) -> None:
    if as_json:
        print_json(summary.as_dict())
    else:
        console.print(
            f"{summary.profiles} profiled, {summary.cache_hits} from the store, "
            f"{summary.failed} failed; {summary.llm_calls} LLM calls, {summary.prompt_tokens} "
            f"prompt + {summary.completion_tokens} generated tokens in {summary.seconds:.1f}s"
        )
        for failure in summary.failures[:10]:
            console.print(f"[red]failed[/red] user {failure['user_id']}: {failure['error']}")
    if summary.failed:
        raise typer.Exit(code=1)


@reports_errors
@with_llm_settings
def traits(
    data: DataOpt = None,
    data_format: FormatOpt = "auto",
    items: Annotated[
        int | None,
        typer.Option(
            "--items",
            min=1,
            help="Only the N most popular items (default: all).",
            show_default=False,
        ),
    ] = None,
    use_llm: Annotated[
        bool,
        typer.Option(
            "--llm", help="Ask the LLM for traits in batches of 8 (default: from metadata only)."
        ),
    ] = False,
    show: Annotated[
        str | None,
        typer.Option(
            "--show",
            help="Print the stored traits of these comma-separated item ids and stop: nothing "
            "is distilled, no LLM is asked.",
            show_default=False,
        ),
    ] = None,
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Distil item traits and store them, or show them.

    A trait is the need an item serves; traits come from the item metadata, or from the LLM
    with --llm, and are kept in the Chroma store.
    """
    from m3rec.agents.traits import distil_traits
    from m3rec.data.popularity import most_popular_items
    from m3rec.llm.factory import build_backend, model_identity
    from m3rec.store import open_store

    if show is not None:
        trait_store = open_store(settings.store, flag=store_flag(store))
        _show_traits(show, data, data_format, trait_store, as_json)
        return
    ranked = most_popular_items(load_data(data, data_format), items)
    trait_store = open_store(settings.store, flag=store_flag(store))
    llm = build_backend(settings) if use_llm else None
    try:
        with progress_bar() as bar:
            task = bar.add_task("traits", total=len(ranked))
            stats = distil_traits(
                ranked,
                trait_store,
                llm=llm,
                model_id=model_identity(settings),
                on_progress=lambda n: bar.advance(task, n),
            )
    finally:
        if llm is not None:
            llm.close()
    if as_json:
        print_json(stats)
    else:
        console.print(
            f"{stats['items']} items: {stats['cache_hits']} from the store, "
            f"{stats['llm_calls']} LLM batches, {stats['failed']} failed"
        )


def _show_traits(
    show: str, data: Path | None, data_format: str, trait_store: MotivationStore, as_json: bool
) -> None:
    ids = [i.strip() for i in show.split(",") if i.strip()]
    if not ids:
        fail("--show needs item ids, e.g. --show 1,260")
    found = trait_store.traits_of_items(ids)
    missing = [i for i in ids if i not in found]
    if as_json:
        print_json({"items": [{"item_id": i, "traits": found.get(i, [])} for i in ids]})
    else:
        titles = item_titles(load_data(data, data_format)) if data is not None else {}
        print_item_traits(ids, found, titles)
    if len(missing) == len(ids):
        fail(f"no stored traits for {', '.join(missing)}: distil them with `m3rec traits`")
