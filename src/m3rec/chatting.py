"""A conversation with one user over one dataset: each message runs the conversation's graph
on the thread LangGraph's SQLite checkpointer keeps, and the lists come from the recommend
pipeline steered by what the thread has said."""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from m3rec.data import Dataset
from m3rec.data.errors import DataError
from m3rec.data.histories import PRODUCT_ITEMS, HistoryRule, said_history
from m3rec.errors import ConfigError, Usage
from m3rec.schemas import ChatNote, HistoryEntry, MotivationProfile, Steering
from m3rec.settings import Settings

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from m3rec.agents.chat import ChatAnswer, ChatState
    from m3rec.recommending import OnRanked, OnReason, Recommendations


# What a turn changes (the log gains its entry only when the turn is complete; who the thread
# is about is set by its first turn and never changes).
TURN_KEYS = ("turn", "notes", "excluded", "forgotten", "shown")


@dataclass(frozen=True)
class ThreadInfo:
    """A saved conversation: its id, whose it is, how many turns it has and when the last was."""

    thread: str
    user_id: str
    dataset: str
    turns: int
    last: str


def conversing(settings: Settings) -> Settings:
    """Return SETTINGS as a conversation runs: with chat.prompt_cache_mb as the llama.cpp prompt
    cache, unless llm.prompt_cache_mb is set."""
    if settings.llm.prompt_cache_mb or not settings.chat.prompt_cache_mb:
        return settings
    llm = settings.llm.model_copy(update={"prompt_cache_mb": settings.chat.prompt_cache_mb})
    return settings.model_copy(update={"llm": llm})


def new_thread_id(user_id: str, now: datetime | None = None) -> str:
    """Return a fresh thread id for USER_ID: the user and the time, to the second."""
    moment = now or datetime.now(UTC)
    return f"{user_id}-{moment.strftime('%Y%m%d-%H%M%S')}"


def open_saver(settings: Settings) -> BaseCheckpointSaver[Any]:
    """Return LangGraph's checkpointer for the threads: PostgreSQL at chat.postgres_url when
    set, else SQLite at paths.chat_db (made if missing). Close it with `close_saver`."""
    if url := settings.chat.postgres_url:
        return _postgres_saver(url)
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = settings.paths.chat_db
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(str(path), check_same_thread=False)
        saver = SqliteSaver(connection)
        saver.setup()
    except sqlite3.Error as exc:
        raise DataError(f"cannot open the chat database ({exc})", path=str(path)) from None
    return saver


def _postgres_saver(url: str) -> BaseCheckpointSaver[Any]:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    try:
        connection = psycopg.connect(
            url, autocommit=True, prepare_threshold=0, row_factory=dict_row
        )
        saver = PostgresSaver(connection)  # type: ignore[arg-type]
        saver.setup()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"cannot use the PostgreSQL chat database at {_without_password(url)} ({reason}): "
            "check chat.postgres_url (M3REC_CHAT__POSTGRES_URL)"
        ) from None
    return saver


def _without_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


def close_saver(saver: BaseCheckpointSaver[Any]) -> None:
    """Close the database connection SAVER holds."""
    saver.conn.close()  # type: ignore[attr-defined]


def list_threads(settings: Settings) -> list[ThreadInfo]:
    """Return every saved thread, the latest turn first."""
    if not settings.chat.postgres_url and not settings.paths.chat_db.exists():
        return []
    saver = open_saver(settings)
    newest: dict[str, ThreadInfo] = {}
    try:
        for saved in saver.list(None):
            thread = str(saved.config["configurable"]["thread_id"])
            if thread in newest:
                continue  # newest checkpoint first
            values = saved.checkpoint.get("channel_values", {})
            log = values.get("log") or []
            newest[thread] = ThreadInfo(
                thread,
                str(values.get("user_id", "")),
                str(values.get("dataset", "")),
                len(log),
                str(log[-1]["at"]) if log else "",
            )
    finally:
        close_saver(saver)
    return sorted(newest.values(), key=lambda t: t.last, reverse=True)


def items_by_meaning(settings: Settings, dataset: Dataset, text: str, k: int = 5) -> list[str]:
    """Return the K items whose texts (title, genres, categories, tags) are nearest in meaning to
    TEXT: MiniLM vectors of the catalogue in a Chroma index of the store, built on first use
    (the embeddings are MOTE's cached ones when the texts are the same)."""
    from m3rec.data import index_dataset
    from m3rec.embeddings import embed_texts, texts_key
    from m3rec.store import open_store

    indexed = index_dataset(dataset)  # the texts MOTE embeds, so its cached vectors serve
    ids, texts = list(indexed.item_ids), list(indexed.item_texts)
    key = f"texts-{texts_key(texts)[:16]}"
    store = open_store(settings.store)
    if store.item_index_size(key) != len(ids):
        vectors = embed_texts(texts, cache_dir=settings.paths.embeddings_dir)
        store.put_item_vectors(key, ids, vectors)
    return [i for i, _ in store.nearest_items(key, embed_texts([text]), k)[0]]


class ChatSession:
    """One user's conversation on one thread: `turn(message)` answers, and the thread (what it
    said, what it shows, every completed turn) is saved after each."""

    def __init__(
        self,
        settings: Settings,
        dataset: Dataset,
        checkpoint: Path,
        user_id: str | None,
        *,
        thread: str | None = None,
        likes: list[str] | None = None,
        top_k: int = 10,
        use_llm: bool = True,
        store_flag: str | None = None,
        n_items: int = PRODUCT_ITEMS,
    ) -> None:
        """USER_ID: a user of DATASET, whose history starts the conversation; None for a new
        person, whose history is LIKES (item ids they named), or a resumed THREAD's."""
        from m3rec.agents.turns import Catalogue
        from m3rec.graph import build_chat_graph
        from m3rec.recommending import RecommendPipeline

        if user_id is not None and not dataset.histories.get(user_id):
            raise DataError(f"user '{user_id}' has no history in {dataset.name}: check --user")
        self.settings, self.dataset, self.n_items = settings, dataset, n_items
        self.thread = thread or new_thread_id(user_id or "new")
        self.saver = open_saver(settings)
        self.graph = build_chat_graph().compile(checkpointer=self.saver)
        self.user_id, self.likes, self.said_at = self._who(
            user_id, likes, thread_given=thread is not None
        )
        self.pipeline = RecommendPipeline(
            conversing(settings),
            dataset,
            checkpoint,
            top_k=top_k,
            use_llm=use_llm,
            store_flag=store_flag,
        )
        self.catalogue = Catalogue(dataset.items)
        self.use_llm = use_llm
        self.on_ranked: OnRanked | None = None
        self.on_reason: OnReason | None = None
        self.usage = Usage()
        self._recover_cut_turn()

    def _who(
        self, user_id: str | None, likes: list[str] | None, *, thread_given: bool
    ) -> tuple[str, list[str], int]:
        """Return whose thread this is: the user, a new person's named items, and when they
        named them; a thread is resumed only by whoever began it, on its dataset."""
        saved = self.state()
        owner, data = saved.get("user_id"), saved.get("dataset")
        if owner is not None and (data != self.dataset.name or user_id not in (None, owner)):
            raise DataError(
                f"thread '{self.thread}' is user {owner}'s on {data}: give --user {owner} and "
                "that --data, or another --thread"
            )
        if owner is not None and likes:
            raise DataError(f"thread '{self.thread}' has begun: resume it without --likes")
        if owner is not None:
            return owner, list(saved.get("likes", [])), int(saved.get("said_at", 0))
        if user_id is not None:
            return user_id, [], 0
        if not likes and thread_given:
            raise DataError(
                f"no thread '{self.thread}' is saved: `m3rec chat --threads` lists them"
            )
        if not likes:
            raise DataError("give --user ID, or --likes TITLE (repeat it) to start as someone new")
        return f"new-{self.thread}", list(likes), int(time.time())

    @property
    def config(self) -> RunnableConfig:
        """Return the graph config that names this thread."""
        return {"configurable": {"thread_id": self.thread}}

    def state(self) -> ChatState:
        """Return what the thread holds now (empty for a new thread)."""
        return self.graph.get_state(self.config).values  # type: ignore[return-value]

    @property
    def resumed(self) -> bool:
        """Whether the thread had turns before this session."""
        return bool(self.state().get("log"))

    def turn(self, message: str) -> list[ChatAnswer]:
        """Answer MESSAGE; the thread is saved once the turn is complete. A turn stopped by
        `Cancelled` (or Ctrl-C) leaves the thread as it was before it, and is raised."""
        from m3rec.agents.chat import ChatDeps, ChatInput

        begun = {"likes": self.likes, "said_at": self.said_at} if self.likes else {}
        deps = ChatDeps(
            begun=begun,
            user_id=self.user_id,
            dataset=self.dataset.name,
            thread=self.thread,
            catalogue=self.catalogue,
            recommend=self._recommend,
            explain=self._explain,
            profile=self.stored_profile,
            save_notes=self._save_notes,
            llm=self.pipeline.deps.llm if self.use_llm else None,
        )
        # The checkpointer saves every step: a process killed mid-turn leaves every completed
        # turn, and nothing of the one it was in (tests/cli/test_chat_kill.py). Not
        # durability="sync": it reaches the recommend graph a rank step runs, and LangGraph
        # 1.2 fails there without a checkpointer.
        before = self.graph.get_state(self.config).values
        try:
            self.graph.invoke(ChatInput(message=message), self.config, context=deps)
        except BaseException:  # cancelled, interrupted, or failed: the turn changes nothing
            self._undo_turn(before)
            raise
        for spent in deps.usage:
            self.usage.include(spent)
        return deps.answers

    def _recover_cut_turn(self) -> None:
        """Undo the saved steps of a turn that a killed process never finished, back to the end
        of the last complete turn (a snapshot with nothing left to run)."""
        if not self.graph.get_state(self.config).next:
            return
        done = next((s for s in self.graph.get_state_history(self.config) if not s.next), None)
        self._undo_turn(done.values if done is not None else {})

    def _undo_turn(self, was: dict[str, Any]) -> None:
        """Put the thread back as it was (WAS) before a turn that did not complete: its steps so
        far were saved (a steer's note among them), and the store's copy of the notes follows."""
        now: dict[str, Any] = dict(self.state())
        undo = {
            key: was.get(key, type(now[key])())  # a key the turn added goes back to empty
            for key in TURN_KEYS
            if key in now and was.get(key) != now[key]
        }
        if undo:
            self.graph.update_state(self.config, undo)
        self._save_notes(list(self.steering().notes))

    def steering(self) -> Steering:
        """Return what the thread has said so far."""
        from m3rec.agents.chat import steering_of

        return steering_of(self.state())

    def stored_profile(self) -> MotivationProfile | None:
        """Return the profile the store holds for the user's history (no LLM is called)."""
        from m3rec.agents.mope import current_prompt_id, profile_key

        deps = self.pipeline.deps
        history = self.said() or HistoryRule(n_items=self.n_items).history(
            self.dataset, self.user_id
        )
        prompt_id = deps.prompt_id or current_prompt_id()
        stored = deps.store.get_profile(
            profile_key(self.user_id, history, prompt_id, deps.model_id, deps.windows)
        )
        if stored is None:
            return None
        return MotivationProfile.model_validate_json(stored.profile_json)

    def said(self) -> list[HistoryEntry] | None:
        """Return a new person's history (the items they named), None for a dataset's user."""
        if not self.likes:
            return None
        return said_history(self.dataset, self.user_id, self.likes, self.said_at)

    def close(self) -> None:
        """Close the LLM and the chat database."""
        self.pipeline.close()
        close_saver(self.saver)

    def _save_notes(self, notes: list[ChatNote]) -> None:
        from m3rec.agents.notes import chat_note_records

        self.pipeline.deps.store.put_chat_notes(self.user_id, self.thread, chat_note_records(notes))

    def _recommend(self, steering: Steering) -> Recommendations:
        return self.pipeline.recommend(
            self.user_id,
            n_items=self.n_items,
            on_ranked=self.on_ranked,
            on_reason=self.on_reason,
            steering=steering,
            said=self.said(),
        )

    def _explain(self, item_id: str, steering: Steering) -> Recommendations:
        return self.pipeline.explain(
            self.user_id, item_id, n_items=self.n_items, steering=steering, said=self.said()
        )
