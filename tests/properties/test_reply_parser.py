"""Properties of the reply parser (hypothesis): it finds any object a reply holds, and anything
else it turns down with ReplyParseError, never another exception."""

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from m3rec.llm.parsing import ReplyParseError, parse_json_object

_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_objects = st.dictionaries(st.text(max_size=8), _json, min_size=1, max_size=5)
_chatter = st.text(max_size=40).filter(lambda t: "{" not in t and "`" not in t)
# Text made mostly of what JSON is made of, so the parser's edges are reached often.
_jsonish = st.text(alphabet='{}[]":,\\ab1 \n`', max_size=80)


def _parse_or_reject(text: str) -> dict[str, Any] | None:
    try:
        value = parse_json_object(text)
    except ReplyParseError:
        return None
    assert isinstance(value, dict)
    return value


@given(_objects, _chatter, st.text(max_size=40), st.booleans())
def test_an_object_in_chatter_is_found_whole(
    value: dict[str, Any], before: str, after: str, indent: bool
) -> None:
    reply = before + json.dumps(value, indent=2 if indent else None) + after
    assert parse_json_object(reply) == value


@given(_objects, _chatter, _chatter)
def test_an_object_in_a_code_fence_is_found_whole(
    value: dict[str, Any], before: str, after: str
) -> None:
    assert parse_json_object(f"{before}\n```json\n{json.dumps(value)}\n```\n{after}") == value


@given(_objects, st.data())
def test_a_truncated_object_is_never_taken_for_an_answer(
    value: dict[str, Any], data: st.DataObject
) -> None:
    whole = json.dumps(value)
    cut = data.draw(st.integers(0, len(whole) - 1))
    assert _parse_or_reject(whole[:cut]) is None


@given(st.text(max_size=200) | _jsonish)
def test_any_text_is_an_object_or_a_clear_rejection(text: str) -> None:
    _parse_or_reject(text)
