"""How one `m3rec chat` turn is shown: the live view of a turn in the terminal, its `--json`
form, and Ctrl-C that stops a turn without leaving the chat."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from m3rec.cli.recommend import LiveAnswer, explanation_json, print_rest, recommendations_json
from m3rec.cli.render import (
    console,
    item_titles,
    print_explanation,
    print_profile,
    print_ranked,
    spinner,
)

if TYPE_CHECKING:
    from m3rec.agents.chat import ChatAnswer
    from m3rec.chatting import ChatSession
    from m3rec.data import Dataset


class TurnView:
    """Shows a turn as it happens: the new list as soon as it is ranked, each checked reason as
    it is written, then the rest of the answer."""

    def __init__(self, session: ChatSession, dataset: Dataset, *, quiet: bool = False) -> None:
        self.session, self.dataset, self.quiet = session, dataset, quiet
        self.live = LiveAnswer(dataset, None)
        self.warned: set[str] = set()  # a warning is said once a session, not every turn

    def opening(self) -> None:
        """Say which thread this is, and show a resumed thread's earlier turns."""
        session = self.session
        log = session.state().get("log", [])
        who = f"user {escape(session.user_id)}"
        if session.likes:
            named = "; ".join(self.dataset.items[i].title for i in session.likes)
            who = f"someone new who liked {escape(named)}"
        console.print(
            f"[bold]m3rec chat[/bold] · {who} on "
            f"{escape(self.dataset.name)} · thread {escape(session.thread)}"
            f"{' (resumed)' if log else ''} · /help lists the commands, Ctrl-D leaves",
            highlight=False,
        )
        for entry in log:
            console.print(
                f"[dim]{escape(entry['at'])}  you: {escape(entry['message'])}  "
                f"({escape(entry['intent'])})[/dim]",
                highlight=False,
            )

    def turn_or_cancel(self, message: str) -> None:
        """Run one turn that Ctrl-C may stop; say so if it did."""
        from m3rec.errors import Cancelled

        try:
            with ctrl_c_cancels():
                self.turn(message)
        except (Cancelled, KeyboardInterrupt):
            console.print("[yellow]turn cancelled[/yellow]: the thread is as it was before it")

    def turn(self, message: str) -> list[ChatAnswer]:
        """Run one turn and show its answers (unless quiet); return them."""
        head = None if self.quiet else partial(print_ranked, self.dataset)
        self.live = LiveAnswer(self.dataset, head)
        self.session.on_ranked, self.session.on_reason = self.live.on_ranked, self.live.on_reason
        with spinner("thinking"):
            answers = self.session.turn(message)
        if not self.quiet:
            for answer in answers:
                self._show(answer)
        return answers

    def _show(self, answer: ChatAnswer) -> None:
        result = answer.result
        if answer.kind == "list":
            new = [e for e in result.errors if e not in self.warned]
            self.warned.update(new)
            print_rest(self.dataset, replace(result, errors=new), self.live.streamed)
            self._steering_line()
        elif answer.kind == "why":
            print_explanation(explanation_json(self.dataset, result))
        elif answer.kind == "profile":
            self._profile()
        elif answer.kind == "help":
            console.print(escape(answer.text), highlight=False)
        else:
            console.print(f"[cyan]{escape(answer.text)}[/cyan]", highlight=False)

    def _steering_line(self) -> None:
        steering = self.session.steering()
        said = [n.label for n in steering.notes]
        if said:
            console.print(f"[dim]asked for: {escape('; '.join(said))}[/dim]", highlight=False)
        if steering.excluded:
            console.print(
                f"[dim]excluded: {escape(', '.join(steering.excluded))}[/dim]", highlight=False
            )

    def _profile(self) -> None:
        session, steering = self.session, self.session.steering()
        profile = session.stored_profile()
        forgotten = {label.casefold() for label in steering.forgotten}
        if profile is not None:
            kept = [m for m in profile.motivations if m.label.casefold() not in forgotten]
            console.print(f"[bold]From your history[/bold] (MOPE, by {escape(profile.model)})")
            shown = profile.model_copy(update={"motivations": kept})
            print_profile(shown, item_titles(self.dataset))
        else:
            console.print("No profile from your history is stored yet.")
        if steering.forgotten:
            console.print(f"[dim]forgotten: {escape('; '.join(steering.forgotten))}[/dim]")
        if steering.notes:
            console.print("[bold]Said in this thread[/bold] (source: chat)")
            for note in steering.notes:
                console.print(
                    f"  {note.created.date()}  {escape(note.label)}: {escape(note.description)}",
                    highlight=False,
                )


@contextmanager
def ctrl_c_cancels() -> Iterator[None]:
    """While a turn runs, the first Ctrl-C asks the LLM work to stop at its next token (the turn
    then raises `Cancelled`); a second one interrupts at once."""
    from m3rec.llm.cancel import CANCEL

    def on_ctrl_c(signum: int, frame: object) -> None:
        if CANCEL.requested:
            raise KeyboardInterrupt
        CANCEL.request()
        console.print("[yellow]stopping this turn (Ctrl-C again to stop at once)[/yellow]")

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        CANCEL.clear()


def turn_json(
    session: ChatSession, dataset: Dataset, message: str, answers: list[ChatAnswer]
) -> dict[str, Any]:
    """Return one turn as `chat --say ... --json` prints it."""
    steering = session.steering()
    state = session.state()
    shown: list[dict[str, Any]] = []
    for answer in answers:
        if answer.kind == "list":
            shown.append({"kind": "list", **recommendations_json(dataset, answer.result)})
        elif answer.kind == "why":
            shown.append({"kind": "why", **explanation_json(dataset, answer.result)})
        else:
            shown.append({"kind": answer.kind, "text": answer.text})
    return {
        "thread": session.thread,
        "message": message,
        "turn": state.get("turn", {}),
        "notes": [n.model_dump(mode="json") for n in steering.notes],
        "excluded": list(steering.excluded),
        "forgotten": list(steering.forgotten),
        "answers": shown,
    }
