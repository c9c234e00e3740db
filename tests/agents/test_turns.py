"""Reading a chat turn: commands as written, and every registry model's recorded reading of
real and hostile messages (scripts/record_chat_replies.py) through the real parser and the
grounding checks: a turn names only what the message names, or it becomes a question."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from m3rec.agents.turns import Catalogue, Turn, read_command, understand
from m3rec.data import load_dataset
from m3rec.llm.registry import MODELS
from m3rec.llm.replay import ReplayBackend

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "ml-latest-slice"
RECORDED = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "replies" / "chat_turns.json").read_text()
)
SHOWN: list[str] = RECORDED["inputs"]["shown"]
MESSAGES: dict[str, str] = RECORDED["inputs"]["messages"]
HOSTILE = [name for name in MESSAGES if name.startswith("hostile-")]
# What a hostile message may become: a question back, or a turn that changes nothing.
HARMLESS = {"unclear", "why", "why_not", "profile", "help", "list"}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue(load_dataset(SLICE).items)


def title_id(catalogue: Catalogue, title: str) -> str:
    (found,) = catalogue.find_title(title)
    return found


@pytest.mark.parametrize(
    ("message", "intent", "item", "categories"),
    [
        ("/why 2", "why", 1, ()),
        ("/more 1", "more_like", 0, ()),
        ("/no horror", "exclude", None, ("Horror",)),
        ("/no kids", "exclude", None, ("Children",)),
        ("/no science fiction films", "exclude", None, ("Sci-Fi",)),
        ("/profile", "profile", None, ()),
        ("/list", "list", None, ()),
        ("/restart", "restart", None, ()),
        ("/help", "help", None, ()),
        ("/forget the eighties", "forget", None, ()),
    ],
)
def test_a_command_is_read_as_written(catalogue, message, intent, item, categories) -> None:  # type: ignore[no-untyped-def]
    turn = read_command(message, SHOWN, catalogue)
    assert turn is not None and turn.intent == intent, turn
    assert turn.item_id == (SHOWN[item] if item is not None else None)
    assert turn.categories == categories


@pytest.mark.parametrize(
    ("message", "asks"),
    [
        ("/why 9", "give a number from 1 to 5"),
        ("/why", "which item"),
        ("/more Nosuchfilm", "no item of this catalogue is called 'Nosuchfilm'"),
        ("/no cactus", "no category of this catalogue is called 'cactus'"),
        ("/forget", "which motivation"),
        ("/bogus", "there is no command /bogus"),
    ],
)
def test_a_command_that_names_nothing_real_asks_back(catalogue, message, asks) -> None:  # type: ignore[no-untyped-def]
    turn = read_command(message, SHOWN, catalogue)
    assert turn is not None and turn.intent == "unclear"
    assert asks in turn.question


def test_plain_words_are_not_a_command(catalogue) -> None:  # type: ignore[no-untyped-def]
    assert read_command("more like the first", SHOWN, catalogue) is None


def test_a_title_is_found_by_its_words_and_an_ambiguous_one_is_asked_about(catalogue) -> None:  # type: ignore[no-untyped-def]
    clueless = title_id(catalogue, "Clueless")
    assert catalogue.find_title("clueless (1995)") == [clueless]
    turn = read_command("/more star wars", SHOWN, catalogue)
    assert turn is not None and turn.intent == "unclear" and "could be" in turn.question


def test_an_empty_message_or_one_that_instructs_never_reaches_the_llm(catalogue) -> None:  # type: ignore[no-untyped-def]
    instructing = [MESSAGES[n] for n in HOSTILE if n not in READ_BY_A_MODEL]
    assert len(instructing) >= 14
    for message in ("   ", MESSAGES["inject-system"], MESSAGES["inject-close"], *instructing):
        llm = ReplayBackend([])
        turn = understand(llm, message, SHOWN, catalogue)
        assert turn.intent == "unclear" and turn.question and llm.requests == []


# The hostile messages that are read by a model (they hold no instruction to the recommender
# that the check knows); the rest are asked back before any LLM call.
READ_BY_A_MODEL = {
    "hostile-admin",
    "hostile-bidi",
    "hostile-flood",
    "hostile-unknown-id",
}


def _expected(catalogue: Catalogue) -> dict[str, set[tuple[str, str | None, tuple[str, ...]]]]:
    """What each message may become (besides a question back), whatever the model."""
    clueless = title_id(catalogue, "Clueless")
    return {
        "more-like-second": {("more_like", SHOWN[1], ())},
        "more-like-title": {("more_like", clueless, ())},
        "no-horror": {("exclude", None, ("Horror",))},
        "no-kids": {("exclude", None, ("Children",))},
        "different": {("different", None, ())},
        "gift": {("purpose", None, ())},
        "why-first": {("why", SHOWN[0], ())},
        "why-not": set(),  # the slice has no Toy Story: only a question back
        "profile": {("profile", None, ())},
        "forget": {("forget", None, ())},
        "restart": {("restart", None, ())},
        "gibberish": set(),
        "french": {("more_like", SHOWN[2], ())},
        "inject-everyone": set(),
        "inject-system": set(),
        "inject-close": set(),
        "long": {("more_like", SHOWN[0], ())},
        **{name: set() for name in HOSTILE},
    }


KEYS = sorted(k for k in RECORDED if k != "inputs")


def test_every_registry_model_read_every_message() -> None:
    for model in MODELS:
        assert {k.split("/")[1] for k in KEYS if k.startswith(f"{model}/")} == set(MESSAGES)


@pytest.mark.parametrize("key", KEYS)
def test_a_recorded_reading_becomes_what_the_message_says_or_a_question(catalogue, key) -> None:  # type: ignore[no-untyped-def]
    name = key.split("/")[1]
    turn = understand(ReplayBackend(RECORDED[key]["raw"]), MESSAGES[name], SHOWN, catalogue)
    if name in HOSTILE:
        assert turn.intent in HARMLESS, turn
        return
    if turn.intent == "unclear":
        assert turn.question
        return
    assert (turn.intent, turn.item_id, turn.categories) in _expected(catalogue)[name], turn
    if turn.intent in ("different", "purpose", "forget"):  # the person's words, not the examples'
        said = MESSAGES[name].lower()
        for word in turn.text.lower().split():
            assert word.strip(".,;:!?'\"") in said or len(word) <= 3, (turn.text, said)


def readings(model: str, catalogue: Catalogue) -> dict[str, Turn]:
    return {
        name: understand(
            ReplayBackend(RECORDED[f"{model}/{name}"]["raw"]), message, SHOWN, catalogue
        )
        for name, message in MESSAGES.items()
    }


def test_the_default_model_reads_most_plain_messages(catalogue) -> None:  # type: ignore[no-untyped-def]
    plain = [n for n, wanted in _expected(catalogue).items() if wanted and n != "french"]
    assert len(plain) == 11
    read = readings("qwen2.5-1.5b", catalogue)
    understood = [n for n in plain if read[n].intent != "unclear"]
    assert len(understood) >= len(plain) // 2, {n: read[n] for n in plain}


@pytest.mark.parametrize(
    "message",
    [
        "something everyone in my family can watch together",
        "I'd like to ignore horror for a while",  # the check's word, a person's wish: asked back
    ],
)
def test_what_the_instruction_check_lets_through_and_what_it_does_not(catalogue, message) -> None:  # type: ignore[no-untyped-def]
    llm = ReplayBackend(['{"intent": "purpose", "item": "", "text": "everyone in my family"}'])
    turn = understand(llm, message, SHOWN, catalogue)
    reached = bool(llm.requests)
    assert reached == ("everyone" in message), (message, turn)
