"""A backend that replays raw replies recorded from a real model, for tests and offline demos."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from m3rec.errors import LLMError
from m3rec.llm.base import ChatMessage, Completion, OnText
from m3rec.llm.cancel import CANCEL
from m3rec.llm.meter import METER

STREAM_CHARS = 8  # a replayed reply streams in pieces this long


class ReplayBackend:
    """Return recorded raw strings in order, and keep the requests it saw."""

    name = "replay"

    def __init__(self, replies: Iterable[str]) -> None:
        self._replies = list(replies)
        self.requests: list[dict[str, Any]] = []

    @classmethod
    def from_file(cls, path: Path, *keys: str) -> ReplayBackend:
        """Load the recorded replies named KEYS from a JSON fixture of {key: {"raw": ...}}."""
        recorded = json.loads(path.read_text())
        return cls(recorded[key]["raw"] for key in keys)

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        on_text: OnText | None = None,
    ) -> Completion:
        """Return the next recorded reply; ON_TEXT is told it as a stream would grow it, in
        pieces of STREAM_CHARS characters."""
        self.requests.append(
            {
                "messages": list(messages),
                "json_schema": json_schema,
                "max_tokens": max_tokens,
                "temperature": temperature,
            }
        )
        CANCEL.check()
        if not self._replies:
            raise LLMError("the replay backend has no recorded reply left")
        text = self._replies.pop(0)
        completion = Completion(
            text=text,
            prompt_tokens=sum(len(m.content.split()) for m in messages),
            completion_tokens=len(text.split()),
            seconds=0.0,
        )
        METER.add_prompt(completion.prompt_tokens)
        METER.add_generated(completion.completion_tokens)
        if on_text is not None:
            for end in range(STREAM_CHARS, len(text) + STREAM_CHARS, STREAM_CHARS):
                on_text(text[:end])
                CANCEL.check()  # as a stream would stop
        return completion

    def describe(self) -> dict[str, Any]:
        """Describe the replay backend."""
        return {"backend": self.name, "model": "recorded replies", "device": "none"}

    def close(self) -> None:
        """Nothing to release."""
