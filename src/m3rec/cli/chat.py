"""`m3rec chat`: talk to the recommender; what you say changes the list, and every thread is
kept to resume."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from m3rec.cli.build import checkpoint_for
from m3rec.cli.chat_turns import TurnView, turn_json
from m3rec.cli.errors import fail, reports_errors
from m3rec.cli.options import (
    DataOpt,
    FormatOpt,
    JsonOpt,
    load_data,
    store_flag,
    with_llm_settings,
)
from m3rec.cli.recommend import (
    CheckpointOpt,
    ItemsOpt,
    NoLlmOpt,
)
from m3rec.cli.render import (
    console,
    print_json,
    spinner,
)
from m3rec.data.histories import PRODUCT_ITEMS
from m3rec.settings import Settings

if TYPE_CHECKING:
    from m3rec.chatting import ChatSession
    from m3rec.data import Dataset

QUIT = {"/quit", "/exit", "/q"}


@reports_errors
@with_llm_settings
def chat(
    user: Annotated[
        str | None,
        typer.Option("--user", help="The person to talk as: their history starts the profile."),
    ] = None,
    thread: Annotated[
        str | None,
        typer.Option(
            "--thread",
            help="Resume this conversation (its notes, exclusions and turns). Default: a new "
            "thread, named USER-DATE-TIME.",
        ),
    ] = None,
    likes: Annotated[
        list[str] | None,
        typer.Option(
            "--likes",
            help="Start as someone new who liked this item (a title, found by its words or "
            "its spelling; repeat the option). Without --user, --likes or --thread, chat asks.",
        ),
    ] = None,
    threads: Annotated[
        bool, typer.Option("--threads", help="List the saved conversations and exit.")
    ] = False,
    say: Annotated[
        list[str] | None,
        typer.Option(
            "--say",
            help="Say this instead of typing (repeat for several turns), then leave: for "
            "scripts; with --json each turn's answer is a JSON line.",
        ),
    ] = None,
    checkpoint: CheckpointOpt = None,
    data: DataOpt = None,
    data_format: FormatOpt = "auto",
    items: ItemsOpt = PRODUCT_ITEMS,
    k: Annotated[
        int, typer.Option("--k", "--top", min=1, max=50, help="How many items each list shows.")
    ] = 5,
    no_llm: NoLlmOpt = False,
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Talk to the recommender in the terminal.

    It opens with your list and why each item fits. Then say what you want, in words or with a
    command (/help lists them): "more like the second one", "no horror", "a gift for my
    sister who loves jazz", "why the first one?", "show my profile", "forget the 1980s".
    A steer or a purpose becomes a dated motivation note that outweighs the ones read from your
    history; an exclusion holds for the rest of the thread. Threads are kept in paths.chat_db
    (SQLite): --thread resumes one, --threads lists them. Ctrl-C while a turn runs stops it (the
    local model at its next token) and leaves the thread as it was before the turn; a second
    Ctrl-C stops at once. Ctrl-D or /quit leaves.
    """
    from m3rec.chatting import ChatSession, list_threads

    if threads:
        _print_threads(list_threads(settings), as_json)
        return
    asks = user is None and not likes and thread is None
    if asks and (say is not None or not sys.stdin.isatty()):
        fail("give --user ID, or --likes TITLE (repeat it) to start as someone new")
    dataset = load_data(data, data_format)
    read = line_reader(settings) if say is None else input  # --say reads nothing typed
    liked = (
        _liked_items(settings, dataset, likes or [], read if asks else None)
        if asks or likes
        else None
    )
    checkpoint = checkpoint_for(settings, dataset, checkpoint)
    with spinner("loading MOTE and the catalogue"):
        session = ChatSession(
            settings,
            dataset,
            checkpoint,
            user,
            thread=thread,
            likes=liked,
            top_k=k,
            use_llm=not no_llm,
            store_flag=store_flag(store),
            n_items=items,
        )
    try:
        if say is not None:
            _scripted(session, dataset, say, as_json)
        else:
            _interactive(session, dataset, read)
    finally:
        session.close()


def line_reader(settings: Settings) -> Callable[[str], str]:
    """Return how a typed line is read: at a terminal, prompt-toolkit's line editing with the
    history of paths.chat_history (Up, Ctrl-R); from a pipe, plain lines. Both raise EOFError
    at the end (Ctrl-D) and KeyboardInterrupt for Ctrl-C."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return input
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    history = settings.paths.chat_history.expanduser()
    history.parent.mkdir(parents=True, exist_ok=True)
    return PromptSession[str](history=FileHistory(str(history))).prompt


def _liked_items(
    settings: Settings,
    dataset: Dataset,
    titles: list[str],
    read: Callable[[str], str] | None,
) -> list[str]:
    """Return the items a new person names: TITLES, or (READ given) what they type, one a line.
    A title is found by its words, year or spelling, else the items nearest in meaning are
    offered; an ambiguous title is asked about when READ is given, else it is an error naming
    them."""
    from m3rec.agents.turns import Catalogue
    from m3rec.chatting import items_by_meaning

    catalogue = Catalogue(dataset.items)
    ask = read is not None
    if read is not None:
        console.print(
            f"You are new to {escape(dataset.name)}: name a few things you liked, one a line "
            "(an empty line ends)."
        )
        titles = list(iter(lambda: read("liked> ").strip(), ""))
    liked: list[str] = []
    for title in titles:
        found, guessed = catalogue.resolve(title), False
        if not found:
            with spinner("looking for it by meaning"):
                found, guessed = items_by_meaning(settings, dataset, title), True
        if (len(found) != 1 or guessed) and not ask:
            named = "; ".join(dataset.items[i].title for i in found[:5])
            fail(
                f"no item of {dataset.name} is called '{title}'; nearest in meaning: {named}"
                if guessed
                else f"'{title}' could be {named}: give the whole title"
            )
        if read is not None and (len(found) > 1 or guessed):
            found = _choose(dataset, title, found, read)
        if found:
            liked.append(found[0])
            console.print(f"[dim]  {escape(dataset.items[found[0]].title)}[/dim]", highlight=False)
        else:
            console.print(f"[yellow]no item called '{escape(title)}': left out[/yellow]")
    if not liked:
        fail("nothing named was found in the catalogue: name items by their titles")
    return list(dict.fromkeys(liked))


def _choose(
    dataset: Dataset, title: str, found: list[str], read: Callable[[str], str]
) -> list[str]:
    for n, item_id in enumerate(found, 1):
        console.print(f"  {n}. {escape(dataset.items[item_id].title)}", highlight=False)
    answer = read(f"which '{title}'? (a number, Enter for none) ").strip()
    if answer.isdigit() and 1 <= int(answer) <= len(found):
        return [found[int(answer) - 1]]
    return []


def _scripted(session: ChatSession, dataset: Dataset, said: list[str], as_json: bool) -> None:
    view = TurnView(session, dataset, quiet=as_json)
    if not as_json:
        view.opening()
    for message in ["/list", *said]:
        if message.strip() in QUIT:
            break
        answers = view.turn(message)
        if as_json:
            typer.echo(json.dumps(turn_json(session, dataset, message, answers), default=str))


def _interactive(session: ChatSession, dataset: Dataset, read: Callable[[str], str]) -> None:
    view = TurnView(session, dataset)
    view.opening()
    view.turn_or_cancel("/list")
    while True:
        try:
            message = read("you> ")
        except EOFError:
            console.print()
            break
        except KeyboardInterrupt:
            console.print()
            continue
        if message.strip() in QUIT:
            break
        if not message.strip():
            continue
        view.turn_or_cancel(message)
    console.print(
        f"[dim]thread {escape(session.thread)} kept: m3rec chat --user "
        f"{escape(session.user_id)} --thread {escape(session.thread)}[/dim]",
        highlight=False,
    )


def _print_threads(found: list[Any], as_json: bool) -> None:
    if as_json:
        print_json([t.__dict__ for t in found])
        return
    if not found:
        console.print("no saved conversations yet: start one with m3rec chat --user ID")
        return
    from rich.table import Table

    table = Table("thread", "user", "dataset", "turns", "last turn")
    for t in found:
        table.add_row(t.thread, t.user_id, t.dataset, str(t.turns), t.last)
    console.print(table)
