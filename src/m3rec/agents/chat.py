"""The conversation's nodes: read a message, change what the thread holds (motivations said,
categories excluded, motivations forgotten), and answer with a new list, a reason, the profile
or a question.

The thread's state is what LangGraph's checkpointer keeps between turns and sessions, so it
holds only plain data: note dicts, category names, labels, item ids and the turns' log. What a
turn shows (a ranking with its reasons) goes out through the runtime context's `answers`, never
into the saved state.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from m3rec import prompts
from m3rec.agents.profile_checks import content_words
from m3rec.agents.turns import HELP, Catalogue, Turn, read_command, understand
from m3rec.errors import LLMError, ModelError, Usage
from m3rec.llm.base import LLMBackend
from m3rec.schemas import CHAT_TEXT_MAX, ChatNote, MotivationProfile, Steering

AnswerKind = Literal["list", "why", "profile", "question", "help", "quit"]


class ChatInput(TypedDict):
    """One turn's input: the person's message."""

    message: str


class ChatState(ChatInput, total=False):
    """A thread as saved: whose it is, what it said, what it shows, and every turn so far."""

    user_id: str
    dataset: str
    likes: list[str]  # a new person's history: the items they named (said rule), in order
    said_at: int  # when they named them (Unix time): their history's date
    turn: dict[str, Any]  # the current turn, as read (intent, item, text, categories, question)
    notes: list[dict[str, Any]]  # ChatNote dicts, oldest first
    excluded: list[str]  # category names
    forgotten: list[str]  # labels of profile motivations
    shown: list[str]  # the ids of the last list shown, in order
    log: Annotated[list[dict[str, Any]], operator.add]  # one entry per completed turn


@dataclass(frozen=True)
class ChatAnswer:
    """What one turn shows: a list or one item's explanation (RESULT, the recommend pipeline's
    answer), the profile, a question, or the help text."""

    kind: AnswerKind
    text: str = ""
    result: Any = None


@dataclass
class ChatDeps:
    """What the conversation's nodes need; RECOMMEND and EXPLAIN run the recommend pipeline
    (with the thread's steering), PROFILE reads the person's stored profile."""

    user_id: str
    dataset: str
    thread: str
    catalogue: Catalogue
    recommend: Callable[[Steering], Any]
    explain: Callable[[str, Steering], Any]
    profile: Callable[[], MotivationProfile | None]
    save_notes: Callable[[list[ChatNote]], None]  # keep the thread's notes in the store
    llm: Callable[[], LLMBackend] | None = None  # None: commands only (--no-llm)
    begun: dict[str, Any] = field(default_factory=dict)  # who the thread is of, saved each turn
    answers: list[ChatAnswer] = field(default_factory=list)
    usage: list[Usage] = field(default_factory=list)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


def steering_of(state: ChatState) -> Steering:
    """Return what the thread has said, as the recommend pipeline takes it."""
    return Steering(
        notes=tuple(ChatNote.model_validate(n) for n in state.get("notes", [])),
        excluded=tuple(state.get("excluded", [])),
        forgotten=tuple(state.get("forgotten", [])),
    )


def read_turn(state: ChatState, runtime: Runtime[ChatDeps]) -> dict[str, Any]:
    """Read the message: a command as written, else by the LLM under the turn schema."""
    deps = runtime.context
    message = state["message"]
    shown = state.get("shown", [])
    begun = {"user_id": deps.user_id, "dataset": deps.dataset, **deps.begun}
    try:
        turn = read_command(message, shown, deps.catalogue)
        if turn is None:
            if deps.llm is None:
                question = "without an LLM (--no-llm) only commands work: /help"
                turn = Turn("unclear", question=question)
            else:
                turn = understand(deps.llm(), message, shown, deps.catalogue)
    except (LLMError, ModelError) as exc:  # the session survives: say what went wrong
        spent = getattr(exc, "usage", None)
        if isinstance(spent, Usage):
            deps.usage.append(spent)
        turn = Turn("unclear", question=f"I could not read that ({exc}); try again, or /help")
    deps.usage.append(turn.usage)
    read = {
        "intent": turn.intent,
        "item": turn.item_id,
        "text": turn.text,
        "categories": list(turn.categories),
        "question": turn.question,
        "source": turn.source,
    }
    return {**begun, "turn": read}


Route = Literal["steer", "exclude", "forget", "restart", "rank", "why", "profile", "ask", "help"]


def route_turn(state: ChatState) -> Route:
    """Send the turn to the node that acts on it."""
    intent = state["turn"]["intent"]
    routes: dict[str, Route] = {
        "more_like": "steer",
        "different": "steer",
        "purpose": "steer",
        "exclude": "exclude",
        "forget": "forget",
        "restart": "restart",
        "list": "rank",
        "why": "why",
        "why_not": "why",
        "profile": "profile",
        "help": "help",
        "quit": "help",
    }
    return routes.get(intent, "ask")


def steer(state: ChatState, runtime: Runtime[ChatDeps]) -> dict[str, Any]:
    """Add what the person asked for as a dated motivation note of the thread."""
    deps, turn = runtime.context, state["turn"]
    notes = [*state.get("notes", []), said_note(turn, deps).model_dump(mode="json")]
    return _notes_update(deps, notes)


def _notes_update(deps: ChatDeps, notes: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the thread's new NOTES as a state update, once the store has them too."""
    deps.save_notes([ChatNote.model_validate(n) for n in notes])
    return {"notes": notes}


def said_note(turn: dict[str, Any], deps: ChatDeps) -> ChatNote:
    """Return the motivation note a steering turn says, worded from the person's words (or the
    item they named) as data, never as instructions."""
    intent, text = turn["intent"], prompts.data_text(turn["text"], CHAT_TEXT_MAX)
    item_id = turn.get("item")
    if intent == "more_like" and item_id:
        item = deps.catalogue.items[item_id]
        title = prompts.data_text(item.title, CHAT_TEXT_MAX)
        # The title and categories, not the item's free text: a note reaches later prompts as
        # the person's own motivation, and an item's description is not theirs.
        kinds = ", ".join(item.category_names())
        label, kind = f"more like {title}", None
        description = prompts.data_text(f"{title}: {kinds}" if kinds else title, 240)
    elif intent == "different":
        label, description, kind = text, f"something different: {text}", "novelty"
    else:
        label, description, kind = text, text, None
    return ChatNote(
        label=label,
        description=description,
        kind=kind,
        item_id=item_id,
        created=deps.now(),
        thread=deps.thread,
    )


def exclude(state: ChatState, runtime: Runtime[ChatDeps]) -> dict[str, Any]:
    """Exclude the turn's categories for the rest of the thread."""
    excluded = list(dict.fromkeys([*state.get("excluded", []), *state["turn"]["categories"]]))
    return {"excluded": excluded}


def forget(state: ChatState, runtime: Runtime[ChatDeps]) -> dict[str, Any]:
    """Drop the motivation the turn names: a note of the thread, else a profile motivation."""
    deps, wanted = runtime.context, content_words(state["turn"]["text"])
    notes = state.get("notes", [])
    kept = [n for n in notes if not wanted <= content_words(n["label"])]
    if len(kept) < len(notes):
        return _notes_update(deps, kept)
    profile = deps.profile()
    labels = [m.label for m in profile.motivations] if profile else []
    matches = [label for label in labels if wanted <= content_words(label)]
    if not matches:
        listed = "; ".join(labels + [n["label"] for n in notes]) or "none yet"
        question = f"no motivation is called '{state['turn']['text']}' (yours: {listed})"
        turn = {**state["turn"], "intent": "unclear", "question": question}
        return {"turn": turn}
    return {"forgotten": list(dict.fromkeys([*state.get("forgotten", []), *matches]))}


def route_after_change(state: ChatState) -> Literal["rank", "ask"]:
    """Show the new list, unless the change turned into a question."""
    return "ask" if state["turn"]["intent"] == "unclear" else "rank"


def restart(state: ChatState, runtime: Runtime[ChatDeps]) -> dict[str, Any]:
    """Drop everything the thread said (its log stays)."""
    return {**_notes_update(runtime.context, []), "excluded": [], "forgotten": []}


def rank(state: ChatState, runtime: Runtime[ChatDeps]) -> dict[str, Any]:
    """Rank with what the thread has said, and show the list."""
    deps = runtime.context
    result = deps.recommend(steering_of(state))
    shown = [a.item_id for a in result.ranked]
    deps.answers.append(ChatAnswer("list", result=result))
    return {"shown": shown, "log": [_entry(state, deps, shown=shown)]}


def why(state: ChatState, runtime: Runtime[ChatDeps]) -> dict[str, Any]:
    """Explain the item the turn names, with the thread's steering."""
    deps, item_id = runtime.context, state["turn"]["item"]
    try:
        result = deps.explain(item_id, steering_of(state))
    except ValueError as exc:  # DataError: an item the person already has
        deps.answers.append(ChatAnswer("question", text=str(exc)))
        return {"log": [_entry(state, deps, answer=str(exc))]}
    deps.answers.append(ChatAnswer("why", result=result))
    return {"log": [_entry(state, deps, item=item_id)]}


def show_profile(state: ChatState, runtime: Runtime[ChatDeps]) -> dict[str, Any]:
    """Show the motivations: the profile's (less the forgotten) and the thread's notes."""
    deps = runtime.context
    deps.answers.append(ChatAnswer("profile"))
    return {"log": [_entry(state, deps)]}


def ask(state: ChatState, runtime: Runtime[ChatDeps]) -> dict[str, Any]:
    """Ask back what the turn left unclear; nothing else changes."""
    deps, question = runtime.context, state["turn"]["question"]
    deps.answers.append(ChatAnswer("question", text=question))
    return {"log": [_entry(state, deps, answer=question)]}


def show_help(state: ChatState, runtime: Runtime[ChatDeps]) -> dict[str, Any]:
    """Show the commands (or say goodbye)."""
    deps = runtime.context
    if state["turn"]["intent"] == "quit":
        deps.answers.append(ChatAnswer("quit", text=f"thread {deps.thread} kept"))
        return {}
    deps.answers.append(ChatAnswer("help", text=HELP))
    return {"log": [_entry(state, deps)]}


def _entry(state: ChatState, deps: ChatDeps, **extra: Any) -> dict[str, Any]:
    turn = state["turn"]
    return {
        "at": deps.now().isoformat(timespec="seconds"),
        "message": state["message"],
        "intent": turn["intent"],
        **extra,
    }
