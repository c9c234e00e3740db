"""The llama.cpp backend counts tokens on the meter as it writes, without changing its replies."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from llama_cpp import Llama
from pydantic import BaseModel, Field

from m3rec.llm.base import ChatMessage, structured
from m3rec.llm.llamacpp import LlamaCppBackend
from m3rec.llm.meter import METER, MeterReading

pytestmark = pytest.mark.llm


class City(BaseModel):
    name: str = Field(min_length=1)
    country: str
    population_millions: float


CITY = "Name a French city with an accent (Orléans, Besançon) as JSON: name, country, population."
# (prompt, JSON schema or None, max_tokens): a reply that stops by itself under the grammar, one
# cut by max_tokens, and free text that stops by itself.
CASES: list[tuple[str, dict[str, Any] | None, int]] = [
    (CITY, City.model_json_schema(), 64),
    ("Tell me a long story about Zürich.", None, 7),
    ("Say hello.", None, 64),
]


def test_replies_and_counts_equal_a_plain_llama_call(smollm2_path: Path) -> None:
    """Metered calls write what an unmetered Llama writes for the same calls, token for token."""
    backend = LlamaCppBackend(smollm2_path, n_ctx=1024, n_threads=1, seed=0)
    plain = Llama(model_path=str(smollm2_path), n_ctx=1024, n_threads=1, seed=0, verbose=False)
    try:
        finishes = set()
        for prompt, schema, max_tokens in CASES:
            kwargs: dict[str, Any] = {"max_tokens": max_tokens, "temperature": 0.0}
            if schema is not None:
                kwargs["response_format"] = {"type": "json_object", "schema": schema}
            reference: Any = plain.create_chat_completion(
                messages=[{"role": "user", "content": prompt}], **kwargs
            )
            start = METER.snapshot()
            reply = backend.complete(
                [ChatMessage("user", prompt)], json_schema=schema, max_tokens=max_tokens
            )
            counted = METER.snapshot().since(start)
            usage = reference["usage"]
            assert reply.text == reference["choices"][0]["message"]["content"]
            assert reply.finish_reason == reference["choices"][0]["finish_reason"]
            assert (reply.prompt_tokens, reply.completion_tokens) == (
                usage["prompt_tokens"],
                usage["completion_tokens"],
            )
            assert counted == MeterReading(1, reply.prompt_tokens, reply.completion_tokens)
            finishes.add(reply.finish_reason)
        assert finishes == {"stop", "length"}
    finally:
        backend.close()
        plain.close()


def test_the_meter_moves_while_the_model_writes(smollm2_path: Path) -> None:
    backend = LlamaCppBackend(smollm2_path, n_ctx=1024, n_threads=1, max_tokens=64)
    seen: list[int] = []
    done = threading.Event()
    start = METER.snapshot()

    def watch() -> None:
        while not done.wait(0.002):
            seen.append(METER.snapshot().since(start).generated_tokens)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = structured(backend, [ChatMessage("user", CITY)], City)
    finally:
        done.set()
        watcher.join()
        backend.close()
    json.loads(result.raw_replies[0])  # still grammar-constrained: plain JSON, schema-valid
    final = result.usage.completion_tokens
    assert METER.snapshot().since(start).generated_tokens == final
    assert any(0 < count < final for count in seen), "no token was counted before the reply"
