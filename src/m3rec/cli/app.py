"""The m3rec Typer app: global flags and where each command is registered."""

from __future__ import annotations

from typing import Annotated

import typer

from m3rec.cli import chat, demo, doctor, evaluate, models, profile, profiles, recommend, train

app = typer.Typer(
    name="m3rec",
    help="Motivation-aware recommendations that explain why an item fits, on a local LLM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain click help: rich panels tag every flag `<bool>` (typer 0.29) and keep a docstring's
    # line breaks mid-sentence; plain help reflows paragraphs to the terminal width.
    rich_markup_mode=None,
)


def _print_version(given: bool) -> None:
    if given:
        from importlib.metadata import version

        typer.echo(f"m3rec {version('m3rec')}")
        raise typer.Exit()


@app.callback()
def _global(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Motivation-aware recommendations that explain why an item fits, on a local LLM."""


app.add_typer(models.app, name="models")
app.add_typer(profiles.app, name="profiles")
app.command("doctor")(doctor.doctor)
app.command("demo")(demo.demo)
app.command("profile")(profile.profile)
app.command("traits")(profile.traits)
app.command("train")(train.train)
app.command("evaluate")(evaluate.evaluate)
app.command("recommend")(recommend.recommend)
app.command("explain")(recommend.explain)
app.command("chat")(chat.chat)


def main() -> None:
    """Run the CLI."""
    app()
