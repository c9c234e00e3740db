"""The conversation through its graph: a real MOTE checkpoint on the MovieLens slice, a real
in-memory Chroma store, LangGraph's real SQLite checkpointer, the person's profile replayed from
the default model's library and each message read as that model read it when recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from m3rec.agents.chat import ChatState
from m3rec.chatting import TURN_KEYS, ChatSession, list_threads
from m3rec.data import load_dataset
from m3rec.data.errors import DataError
from m3rec.errors import Cancelled, LLMUnavailableError
from m3rec.llm.cancel import CANCEL
from m3rec.llm.factory import LazyBackend
from m3rec.llm.replay import ReplayBackend
from m3rec.settings import MarSettings, PathSettings, Settings, StoreSettings
from m3rec.store import open_store
from tests.conftest import SLICE
from tests.replies import ChatTurns, chat_turns

MESSAGES = chat_turns()["inputs"]["messages"]
USER, N_ITEMS = "4", 20  # the slice's library profiles read 20 items


@pytest.fixture(scope="module")
def dataset():  # type: ignore[no-untyped-def]
    return load_dataset(SLICE)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        store=StoreSettings(kind="memory"),
        paths=PathSettings(chat_db=tmp_path / "chat.sqlite"),
        mar=MarSettings(reasons=0),  # template reasons: these tests are about the turns
    )


def session(settings, dataset, slice_checkpoint, backend=None, thread="t", user=USER):  # type: ignore[no-untyped-def]
    chat = ChatSession(
        settings, dataset, slice_checkpoint, user, thread=thread, top_k=8, n_items=N_ITEMS
    )
    chat.pipeline.deps.llm = LazyBackend(lambda: backend or ChatTurns())
    return chat


def listed(answers) -> list[str]:  # type: ignore[no-untyped-def]
    (answer,) = [a for a in answers if a.kind == "list"]
    return [a.item_id for a in answer.result.ranked]


def test_a_no_x_turn_removes_every_x_item_and_the_exclusion_holds(
    settings, dataset, slice_checkpoint
) -> None:  # type: ignore[no-untyped-def]
    chat = session(settings, dataset, slice_checkpoint)
    before = listed(chat.turn("/list"))
    assert any("Children" in dataset.items[i].category_names() for i in before)
    after = listed(chat.turn(MESSAGES["no-kids"]))  # the default model reads it as exclude
    assert after and not any("Children" in dataset.items[i].category_names() for i in after)
    later = listed(chat.turn("/more 1"))
    assert not any("Children" in dataset.items[i].category_names() for i in later)
    assert chat.steering().excluded == ("Children",)
    chat.close()


def test_a_more_like_turn_adds_a_dated_chat_note_to_the_profile_and_the_store(
    settings, dataset, slice_checkpoint
) -> None:  # type: ignore[no-untyped-def]
    chat = session(settings, dataset, slice_checkpoint)
    shown = listed(chat.turn("/list"))
    answers = chat.turn(MESSAGES["more-like-second"])
    (note,) = chat.steering().notes
    assert note.item_id == shown[1] and note.thread == "t" and note.created.date()
    (answer,) = answers
    profile = answer.result.profile
    assert profile.motivations[-1].label == note.label  # after the library's motivations
    assert len(profile.motivations) > 1
    served = [a.motivation for a in answer.result.ranked]
    assert served.count(len(profile.motivations) - 1) >= len(served) // 2  # it outweighs
    assert shown[1] not in listed(answers)  # the item named was shown already
    by_note = [a for a in answer.result.ranked if a.motivation == len(profile.motivations) - 1]
    assert all(a.evidence == (shown[1],) for a in by_note)  # the item said of is the evidence
    title = dataset.items[shown[1]].title
    assert all(title in answer.result.reasons[a.item_id].text for a in by_note)  # and is named
    (stored,) = chat.pipeline.deps.store.chat_notes(USER)
    assert stored.source == "chat" and stored.label == note.label
    chat.close()


def test_a_profile_turn_changes_nothing(settings, dataset, slice_checkpoint) -> None:  # type: ignore[no-untyped-def]
    chat = session(settings, dataset, slice_checkpoint)
    chat.turn("/list")
    chat.turn("/no horror")
    before = {k: v for k, v in chat.state().items() if k not in ("log", "turn", "message")}
    (answer,) = chat.turn(MESSAGES["profile"])
    assert answer.kind == "profile"
    after = {k: v for k, v in chat.state().items() if k not in ("log", "turn", "message")}
    assert after == before
    chat.close()


def test_a_message_the_model_misreads_becomes_a_question_and_changes_nothing(
    settings, dataset, slice_checkpoint
) -> None:  # type: ignore[no-untyped-def]
    chat = session(settings, dataset, slice_checkpoint)
    chat.turn("/list")
    for name in ("gift", "gibberish", "inject-everyone", "inject-system"):
        (answer,) = chat.turn(MESSAGES[name])
        assert answer.kind == "question" and answer.text
    assert chat.steering().notes == () and chat.steering().excluded == ()
    chat.close()


def test_a_resumed_thread_has_every_turn_and_what_it_said(
    settings, dataset, slice_checkpoint
) -> None:  # type: ignore[no-untyped-def]
    chat = session(settings, dataset, slice_checkpoint)
    chat.turn("/list")
    chat.turn("/no horror")
    chat.turn(MESSAGES["more-like-second"])
    steering, log = chat.steering(), chat.state()["log"]
    chat.close()
    again = session(settings, dataset, slice_checkpoint)
    assert again.resumed and again.steering() == steering
    assert [e["message"] for e in again.state()["log"]] == [e["message"] for e in log]
    assert len(log) == 3
    (info,) = list_threads(settings)
    assert (info.thread, info.user_id, info.turns) == ("t", USER, 3)
    again.close()


class CancelledWhileReading(ChatTurns):
    """Ctrl-C pressed while the model reads the turn: the cancel lands mid-reply."""

    def complete(self, messages, **kwargs):  # type: ignore[no-untyped-def]
        if "<<<MESSAGE" in messages[-1].content:
            CANCEL.request()
        return super().complete(messages, **kwargs)


def test_a_cancelled_turn_leaves_the_thread_as_it_was_and_the_next_turn_runs(
    settings, dataset, slice_checkpoint
) -> None:  # type: ignore[no-untyped-def]
    chat = session(settings, dataset, slice_checkpoint, backend=CancelledWhileReading())
    chat.turn("/list")
    shown = listed(chat.turn("/no horror"))
    before, log = chat.steering(), chat.state()["log"]
    try:
        with pytest.raises(Cancelled):
            chat.turn(MESSAGES["more-like-second"])
    finally:
        CANCEL.clear()
    assert chat.steering() == before
    assert chat.state()["log"] == log
    assert listed(chat.turn("/list")) == shown
    assert chat.state()["log"][-1]["message"] == "/list"
    chat.close()


def test_a_turn_cancelled_after_its_note_keeps_neither_the_note_nor_the_turn(
    settings, dataset, slice_checkpoint
) -> None:  # type: ignore[no-untyped-def]
    settings = settings.model_copy(update={"mar": MarSettings(reasons=5)})
    chat = session(settings, dataset, slice_checkpoint)
    chat.turn("/no horror")
    before, log = chat.steering(), chat.state()["log"]
    chat.on_ranked = lambda *_: CANCEL.request()  # Ctrl-C once the new list is ranked
    try:
        with pytest.raises(Cancelled):  # the reasons' request stops before it is sent
            chat.turn(MESSAGES["more-like-second"])
    finally:
        CANCEL.clear()
    chat.on_ranked = None
    assert chat.steering() == before and chat.state()["log"] == log
    assert chat.pipeline.deps.store.chat_notes(USER) == []  # the store holds what the thread does
    chat.close()


def test_every_key_a_turn_can_change_is_undone_by_a_cancel() -> None:
    kept = {"message", "log", "user_id", "dataset", "likes", "said_at"}  # see TURN_KEYS
    assert ChatState.__required_keys__ | ChatState.__optional_keys__ == kept | set(TURN_KEYS)


def test_a_thread_is_resumed_only_by_its_own_user(settings, dataset, slice_checkpoint) -> None:  # type: ignore[no-untyped-def]
    chat = session(settings, dataset, slice_checkpoint)
    chat.turn("/list")
    chat.close()
    other = next(u for u in dataset.histories if u != USER)
    with pytest.raises(DataError, match="is user 4's"):
        session(settings, dataset, slice_checkpoint, user=other)


def test_restart_and_forget_drop_what_the_thread_said(settings, dataset, slice_checkpoint) -> None:  # type: ignore[no-untyped-def]
    chat = session(settings, dataset, slice_checkpoint)
    chat.turn("/list")
    chat.turn("/more 2")
    label = chat.steering().notes[0].label
    chat.turn(f"/forget {label}")
    assert chat.steering().notes == () and chat.pipeline.deps.store.chat_notes(USER) == []
    chat.turn("/no horror")
    chat.turn(MESSAGES["restart"])  # read by the default model
    assert chat.steering().excluded == ()
    chat.close()


def test_an_llm_that_is_down_gets_one_clear_answer_and_the_session_survives(
    settings, dataset, slice_checkpoint
) -> None:  # type: ignore[no-untyped-def]
    chat = session(settings, dataset, slice_checkpoint)
    chat.turn("/list")

    def down():  # type: ignore[no-untyped-def]
        raise LLMUnavailableError("no LLM server answers at http://127.0.0.1:9/v1")

    chat.pipeline.deps.llm = LazyBackend(down)
    (answer,) = chat.turn(MESSAGES["no-horror"])
    assert answer.kind == "question" and "no LLM server answers" in answer.text
    assert listed(chat.turn("/no horror"))  # commands still work
    chat.close()


def test_why_ranks_an_item_among_what_the_thread_lets_through(
    settings, dataset, slice_checkpoint
) -> None:  # type: ignore[no-untyped-def]
    chat = session(settings, dataset, slice_checkpoint)
    chat.turn("/no comedy")
    shown = listed(chat.turn("/more 1"))
    (answer,) = chat.turn(MESSAGES["why-first"])  # read by the default model as /why 1
    assert answer.kind == "why" and answer.result.focus.item_id == shown[0]
    assert answer.result.focus.rank == 1  # not behind an excluded item or the one named
    chat.close()


def test_a_profile_the_llm_failed_is_not_asked_for_again_on_every_turn(
    settings, dataset, slice_checkpoint
) -> None:  # type: ignore[no-untyped-def]
    garbage = "I cannot write that profile, sorry."
    backend = ReplayBackend([garbage] * 4)
    chat = session(settings, dataset, slice_checkpoint, backend=backend)
    first = chat.turn("/list")
    chat.turn("/no horror")
    (answer,) = chat.turn("/more 1")
    assert len(backend.requests) == 2  # the first reply and its repair, once a session
    assert "failed before; not asked again" in answer.result.errors[0]
    assert listed(first)
    chat.close()


def test_someone_new_starts_from_the_items_they_named_and_resumes_with_them(
    settings, dataset, slice_checkpoint, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from tests.replies import AnyUserReplies

    settings = settings.model_copy(update={"store": StoreSettings(path=tmp_path / "store")})
    backend = ChatTurns()
    backend.answer = AnyUserReplies()  # a profile of whatever history is asked about
    liked = [
        i for i in list(dataset.items)[:40] if "Children" in dataset.items[i].category_names()
    ][:3]
    chat = ChatSession(
        settings, dataset, slice_checkpoint, None, thread="new", likes=liked, top_k=8
    )
    chat.pipeline.deps.llm = LazyBackend(lambda: backend)
    (answer,) = chat.turn("/list")
    assert chat.user_id == "new-new" and [h.item_id for h in answer.result.history] == liked
    assert answer.result.profile_source == "llm" and not set(liked) & set(listed([answer]))
    asked = len(backend.requests)
    chat.close()
    again = ChatSession(settings, dataset, slice_checkpoint, None, thread="new", top_k=8)
    again.pipeline.deps.llm = LazyBackend(lambda: backend)
    (answer,) = again.turn("/list")
    assert again.likes == liked and answer.result.profile_source == "store"
    assert len(backend.requests) == asked  # the same history: its stored profile, no LLM call
    again.close()
    with pytest.raises(DataError, match="no thread 'other' is saved"):
        ChatSession(settings, dataset, slice_checkpoint, None, thread="other")


@pytest.mark.slow
def test_a_conversation_on_a_chroma_server_keeps_its_notes_there(
    settings, dataset, slice_checkpoint, chroma_server
) -> None:  # type: ignore[no-untyped-def]
    server = StoreSettings(url=chroma_server.url, database="chat_on_a_server")
    settings = settings.model_copy(update={"store": server})
    chat = session(settings, dataset, slice_checkpoint)
    shown = listed(chat.turn("/list"))
    after = listed(chat.turn(MESSAGES["more-like-second"]))
    assert after and shown[1] not in after
    (said,) = chat.steering().notes
    chat.close()
    (note,) = open_store(server).chat_notes(USER)  # another client of the same server
    assert note.source == "chat" and note.label == said.label


def test_a_conversation_turns_the_prompt_cache_on_unless_told() -> None:
    from m3rec.chatting import conversing
    from m3rec.settings import ChatSettings, LLMSettings

    assert conversing(Settings()).llm.prompt_cache_mb == 1024
    assert Settings().llm.prompt_cache_mb == 0  # other commands: off
    assert conversing(Settings(llm=LLMSettings(prompt_cache_mb=64))).llm.prompt_cache_mb == 64
    off = Settings(chat=ChatSettings(prompt_cache_mb=0))
    assert conversing(off).llm.prompt_cache_mb == 0
