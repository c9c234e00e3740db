"""`m3rec profiles list|show|export|import`: what the store holds, read, and moved as JSONL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from m3rec.cli.errors import fail, reports_errors
from m3rec.cli.options import JsonOpt, load_data, store_flag, with_settings
from m3rec.cli.render import (
    console,
    item_titles,
    print_json,
    print_profile,
    print_profile_rows,
)
from m3rec.settings import Settings

app = typer.Typer(
    help="List, show, export and import the stored motivation profiles.", no_args_is_help=True
)

DataFilterOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Only the profiles of this dataset folder (its titles are shown for evidence).",
        show_default=False,
    ),
]


@app.command("list")
@reports_errors
@with_settings(llm=False)
def profiles_list(
    data: DataFilterOpt = None,
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """List the stored profiles.

    One line each: user, dataset, the history rule it was written from, model, prompt version,
    when, and its motivations.
    """
    from m3rec.profile_archive import profile_rows
    from m3rec.store import open_store

    rows = profile_rows(open_store(settings.store, flag=store_flag(store)), _dataset_name(data))
    if as_json:
        print_json([row.as_dict() for row in rows])
        return
    print_profile_rows(rows)
    console.print(f"{len(rows)} profile(s) in {settings.store.path}", highlight=False)


@app.command("show")
@reports_errors
@with_settings(llm=False)
def profiles_show(
    user: Annotated[str, typer.Argument(help="The user whose stored profiles to show.")],
    data: DataFilterOpt = None,
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Show a user's stored profiles, newest first.

    Each with the history rule it was written from, the prompt version, when and by which model.
    """
    import json

    from m3rec.data.histories import describe_rule
    from m3rec.schemas import MotivationProfile
    from m3rec.store import open_store

    dataset = load_data(data, "auto") if data is not None else None
    stored = open_store(settings.store, flag=store_flag(store)).profiles_of_user(user)
    if dataset is not None:
        stored = [p for p in stored if p.meta.get("dataset") == dataset.name]
    if not stored:
        where = f" of {dataset.name}" if dataset is not None else ""
        fail(f"no stored profile of user '{user}'{where}: write one with `m3rec profile --user`")
    if as_json:
        print_json(
            [{"key": p.key, "profile": json.loads(p.profile_json), "meta": p.meta} for p in stored]
        )
        return
    titles = item_titles(dataset) if dataset is not None else {}
    for p in stored:
        profile = MotivationProfile.model_validate_json(p.profile_json)
        console.print(
            f"[bold]User {user}[/bold] of {p.meta.get('dataset', '?')}: "
            f"{describe_rule(p.meta)}, {profile.prompt_id}, written {p.meta.get('created_at')} "
            f"by {p.meta.get('model_id', profile.model)}",
            highlight=False,
        )
        print_profile(profile, titles)


@app.command("export")
@reports_errors
@with_settings(llm=False)
def profiles_export(
    out: Annotated[Path, typer.Option("--out", help="The JSONL file to write.")],
    data: DataFilterOpt = None,
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Export the stored profiles as JSONL.

    One compact profile a line, with its key, user, model, prompt version and history rule;
    `m3rec profiles import` reads it back into any store.
    """
    from m3rec.profile_archive import export_profiles
    from m3rec.store import open_store

    source = open_store(settings.store, flag=store_flag(store))
    count = export_profiles(source, out, _dataset_name(data))
    if as_json:
        print_json({"exported": count, "out": str(out)})
    else:
        console.print(f"exported {count} profile(s) to {out}", highlight=False)


@app.command("import")
@reports_errors
@with_settings(llm=False)
def profiles_import(
    path: Annotated[Path, typer.Argument(help="A JSONL file written by `m3rec profiles export`.")],
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Import a profiles export into the store.

    Profiles keep their keys, notes and dates, so a later run finds them without an LLM call;
    keys the store already has are left as they are; malformed lines are refused by number.
    """
    from m3rec.profile_archive import import_profiles
    from m3rec.store import open_store

    summary = import_profiles(open_store(settings.store, flag=store_flag(store)), path)
    if as_json:
        print_json(vars(summary))
    else:
        console.print(
            f"imported {summary.imported} profile(s), {summary.already_stored} already stored, "
            f"{len(summary.errors)} line(s) refused",
            highlight=False,
        )
        for error in summary.errors[:10]:
            typer.echo(f"refused {error}", err=True)
    if summary.errors:
        raise typer.Exit(code=1)


def _dataset_name(data: Path | None) -> str | None:
    """Return the name of the dataset folder a --data filter names (None: every dataset)."""
    return load_data(data, "auto").name if data is not None else None
