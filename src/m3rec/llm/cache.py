"""A backend that keeps every raw reply on disk, so that a long batch resumes where it stopped.

The cache sits at the wire: it stores the raw text a model returned for an exact request (the
model's identity, the messages, the schema, the token bound and the temperature) and gives it
back for the same request, so parsing and checking run on every reply as they did the first
time. A reply is appended and flushed as soon as it arrives; a killed run loses at most the
call it was in.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from m3rec.llm.base import ChatMessage, Completion, LLMBackend, OnText


def request_key(
    model_id: str,
    messages: list[ChatMessage],
    json_schema: dict[str, Any] | None,
    max_tokens: int | None,
    temperature: float | None,
) -> str:
    """Return the digest that names one exact request to one model."""
    doc = {
        "model": model_id,
        "messages": [[m.role, m.content] for m in messages],
        "schema": json_schema,
        "max_tokens": max_tokens,
        "temperature": temperature,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


class CachedBackend:
    """Answer a request seen before from the file at PATH, and any other from BACKEND.

    `hits` and `misses` count the calls each way; a reply from the file costs no tokens (its
    first cost was counted when it was made) and is returned with zero usage.
    """

    def __init__(self, backend: LLMBackend, path: Path, model_id: str) -> None:
        self.backend, self.path, self.model_id = backend, path, model_id
        self.name = backend.name
        self.hits = self.misses = 0
        self._replies: dict[str, str] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                    self._replies[str(record["key"])] = str(record["text"])
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a kill: that call is asked again

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        on_text: OnText | None = None,
    ) -> Completion:
        """Return the stored reply to this exact request, else ask the backend and store it."""
        key = request_key(self.model_id, messages, json_schema, max_tokens, temperature)
        if key in self._replies:
            self.hits += 1
            if on_text is not None:
                on_text(self._replies[key])
            return Completion(self._replies[key], 0, 0, 0.0, "cached")
        completion = self.backend.complete(
            messages,
            json_schema=json_schema,
            max_tokens=max_tokens,
            temperature=temperature,
            **({"on_text": on_text} if on_text is not None else {}),
        )
        self.misses += 1
        self._replies[key] = completion.text
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"key": key, "text": completion.text}) + "\n")
        return completion

    def describe(self) -> dict[str, Any]:
        """Return the wrapped backend's description and where its replies are kept."""
        return {**self.backend.describe(), "reply_cache": str(self.path)}

    def close(self) -> None:
        """Close the wrapped backend."""
        self.backend.close()
