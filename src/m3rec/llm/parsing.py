"""Find the JSON object in a model's raw reply: fences, preambles and trailing chatter allowed."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_MAX_STARTS = 50


class ReplyParseError(ValueError):
    """The reply holds no complete JSON object."""


def parse_json_object(text: str) -> dict[str, Any]:
    """Return the first complete top-level JSON object in TEXT, looking inside code fences first.

    Only braces at the top level count: the inner objects of a truncated reply are never
    mistaken for the answer.
    """
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    saw_brace = False
    for candidate in candidates:
        for start in _top_level_braces(candidate):
            saw_brace = True
            try:
                value, _end = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    if not text.strip():
        raise ReplyParseError("the reply was empty")
    if saw_brace:
        raise ReplyParseError("the reply holds no complete JSON object (truncated or malformed)")
    raise ReplyParseError("the reply holds no JSON object")


def _top_level_braces(text: str) -> list[int]:
    """Return where each '{' opens at nesting depth 0, skipping braces inside JSON strings."""
    starts: list[int] = []
    depth = 0
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"' and depth > 0:
            in_string = True
        elif ch == "{":
            if depth == 0:
                starts.append(i)
                if len(starts) >= _MAX_STARTS:
                    break
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
    return starts
