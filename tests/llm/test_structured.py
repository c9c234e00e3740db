"""The real parser and repair loop on raw replies recorded from the real local models."""

import pytest

from m3rec.agents.mope import ProfileDraft
from m3rec.errors import StructuredOutputError
from m3rec.llm.base import REPAIR_INSTRUCTION, REPAIR_TEMPERATURE, ChatMessage, structured
from m3rec.llm.parsing import ReplyParseError, parse_json_object
from m3rec.llm.replay import ReplayBackend
from tests.replies import raw, recorded

ASK = [ChatMessage("system", "profile"), ChatMessage("user", "history")]


def test_grammar_constrained_reply_validates_first_time() -> None:
    result = structured(ReplayBackend([raw("qwen15_constrained")]), ASK, ProfileDraft)
    assert not result.repaired
    assert 2 <= len(result.value.motivations) <= 5


def test_fenced_json_is_found_inside_the_fence() -> None:
    assert raw("qwen15_free").lstrip().startswith("```")
    assert "motivations" in parse_json_object(raw("qwen15_free"))


def test_chatty_preamble_without_json_is_reported() -> None:
    text = raw("qwen15_preamble")
    assert not text.lstrip().startswith("{")
    if "{" in text:
        assert isinstance(parse_json_object(text), dict)
    else:
        with pytest.raises(ReplyParseError, match="no JSON object"):
            parse_json_object(text)


def test_truncated_json_is_not_mistaken_for_an_object() -> None:
    assert recorded()["qwen15_truncated"]["finish_reason"] == "length"
    with pytest.raises(ReplyParseError, match="truncated or malformed"):
        parse_json_object(raw("qwen15_truncated"))


def test_pretty_printed_json_from_the_small_model_validates() -> None:
    assert "\n" in raw("qwen05_free")
    assert ProfileDraft.model_validate(parse_json_object(raw("qwen05_free")))


def test_inner_objects_of_a_truncated_reply_are_never_returned() -> None:
    truncated = '{"motivations": [{"label": "a", "strength": 1}, {"label": "b'
    with pytest.raises(ReplyParseError, match="truncated"):
        parse_json_object(truncated)
    assert parse_json_object('Use {name} here. {"a": "}{"}') == {"a": "}{"}


def test_prose_from_the_tiny_model_holds_no_json() -> None:
    with pytest.raises(ReplyParseError):
        parse_json_object(raw("smollm2_free"))


def test_a_truncated_reply_is_repaired_once_with_the_error_shown() -> None:
    backend = ReplayBackend([raw("qwen15_truncated"), raw("qwen15_repair_source")])
    result = structured(backend, ASK, ProfileDraft)
    assert result.repaired
    assert result.usage.calls == 2
    repair_turns = backend.requests[1]["messages"]
    assert len(repair_turns) == len(ASK)  # asked afresh: the broken reply is not shown back
    assert repair_turns[-1].content.startswith(ASK[-1].content)
    assert REPAIR_INSTRUCTION.split("{")[0] in repair_turns[-1].content
    assert "truncated or malformed" in repair_turns[-1].content
    assert backend.requests[0]["temperature"] is None  # the backend's own (0 by default)
    assert backend.requests[1]["temperature"] == REPAIR_TEMPERATURE


def test_wrong_keys_twice_is_a_typed_error_with_both_raw_replies() -> None:
    wrong = raw("qwen15_traits")  # valid JSON, but an item-traits object, not a profile
    with pytest.raises(StructuredOutputError, match=r"motivations: Field required") as caught:
        structured(ReplayBackend([wrong, wrong]), ASK, ProfileDraft)
    assert caught.value.raw_replies == [wrong, wrong]


def test_schema_is_sent_with_every_request() -> None:
    backend = ReplayBackend([raw("qwen15_constrained")])
    structured(backend, ASK, ProfileDraft)
    assert backend.requests[0]["json_schema"]["title"] == "ProfileDraft"


def test_parser_prefers_the_first_complete_object() -> None:
    assert parse_json_object('Sure! {"a": 1} and also {"b": 2}') == {"a": 1}
    assert parse_json_object('{"outer": {"inner": 1}}') == {"outer": {"inner": 1}}
    with pytest.raises(ReplyParseError, match="empty"):
        parse_json_object("   ")
