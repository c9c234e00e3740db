"""Find the one JSON object in a model's raw reply: fences, preambles and trailing chatter allowed."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


class ReplyParseError(ValueError):
    """The reply holds no complete JSON object."""


def parse_json_object(text: str) -> dict[str, Any]:
    """Return the first complete JSON object in TEXT, looking inside code fences first."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    saw_brace = False
    for candidate in candidates:
        for start in _brace_positions(candidate):
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


def _brace_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch == "{"][:50]
