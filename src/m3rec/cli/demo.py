"""`m3rec demo`: one real user of the bundled catalogue and why they watch what they watch."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from m3rec.cli.build import checkpoint_for
from m3rec.cli.chat_turns import TurnView, turn_json
from m3rec.cli.errors import reports_errors
from m3rec.cli.options import JsonOpt, store_flag, with_llm_settings
from m3rec.cli.recommend import print_rest, recommendations_json, stream_answer
from m3rec.cli.render import (
    console,
    print_history,
    print_json,
    print_profile,
    print_profile_origin,
    print_ranked,
    spinner,
)
from m3rec.settings import Settings

if TYPE_CHECKING:
    from m3rec.data import Dataset


# What the demo says after its recommendations: an exclusion, then a "why" (the default model
# reads both: scripts/bench/chat_turns.py).
DEMO_TURNS = ["nothing for kids", "why did you show me the first one?"]


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
    say: Annotated[
        list[str] | None,
        typer.Option(
            "--say",
            help="What the demo says in its conversation after the recommendations (repeat "
            f"for several turns; default: {' / '.join(DEMO_TURNS)}).",
        ),
    ] = None,
    converse: Annotated[
        bool,
        typer.Option(
            "--chat/--no-chat", help="Hold the short conversation after the recommendations."
        ),
    ] = True,
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Show one real user's motivations, films for them, a chat.

    Reads a user of the bundled MovieLens catalogue and has the LLM write their motivations,
    then recommends K films, each with a checked reason (as `m3rec recommend` does; the MOTE
    checkpoint is built on the first run and cached), and holds a short scripted conversation
    through `m3rec chat`'s graph: an exclusion and a "why", each changing or explaining the
    list (`m3rec chat --user ID --thread T` continues it).

    The profile is kept in the store, so a second run with the same user, items and model reads
    it back instead of asking the LLM again.
    """
    from m3rec.data import bundled_catalogue_path, load_dataset
    from m3rec.demo import run_demo
    from m3rec.recommending import RecommendPipeline

    with spinner("loading the model and writing the profile (a minute or two on a CPU)"):
        demo_run = run_demo(
            settings, user_id=user, n_items=items, seed=seed, store_flag=store_flag(store)
        )
    result, profile = demo_run.result, demo_run.result.profile
    if not as_json:
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
    answer = None
    if k:
        dataset = load_dataset(bundled_catalogue_path())
        checkpoint = checkpoint_for(settings, dataset, None)
        with spinner("loading MOTE and the catalogue"):
            pipeline = RecommendPipeline(
                settings, dataset, checkpoint, top_k=k, store_flag=store_flag(store)
            )
        head = None if as_json else partial(print_ranked, dataset)
        answer, streamed = stream_answer(pipeline, dataset, profile.user_id, items, head)
        if not as_json:
            print_rest(dataset, answer, streamed)
    conversation = []
    if k and converse:
        conversation = _converse(
            settings,
            dataset,
            checkpoint,
            profile.user_id,
            (items, k),
            say or DEMO_TURNS,
            store,
            quiet=as_json,
        )
    if as_json:
        doc = recommendations_json(dataset, answer) if answer is not None else None
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
                "recommendations": doc["items"] if doc else [],
                "errors": doc["errors"] if doc else [],
                "conversation": conversation,
            }
        )


def _converse(
    settings: Settings,
    dataset: Dataset,
    checkpoint: Path,
    user: str,
    sizes: tuple[int, int],
    said: list[str],
    store: Path | None,
    *,
    quiet: bool,
) -> list[dict[str, Any]]:
    """Hold the demo's conversation on a new thread (SIZES: the items read, the items listed);
    return each turn as `chat --json` has it."""
    from m3rec.chatting import ChatSession

    items, k = sizes
    with spinner("opening a conversation"):
        session = ChatSession(
            settings,
            dataset,
            checkpoint,
            user,
            top_k=k,
            n_items=items,
            store_flag=store_flag(store),
        )
    turns = []
    try:
        session.turn("/list")  # the list just shown, so "the first one" names its first item
        view = TurnView(session, dataset, quiet=quiet)
        if not quiet:
            console.print(
                f"[bold]A short conversation[/bold] (continue it: m3rec chat --user {user} "
                f"--thread {session.thread})",
                highlight=False,
            )
        for message in said:
            if not quiet:
                console.print(f"[bold]you>[/bold] {escape(message)}", highlight=False)
            turns.append(turn_json(session, dataset, message, view.turn(message)))
    finally:
        session.close()
    return turns
