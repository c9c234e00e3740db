"""The process-wide token meter: what backends report to it, read by the CLI's spinner."""

from __future__ import annotations

import threading

from pydantic import BaseModel

from m3rec.llm.base import ChatMessage, structured
from m3rec.llm.meter import METER, MeterReading, TokenMeter
from m3rec.llm.replay import ReplayBackend


class Answer(BaseModel):
    value: int


def test_counts_from_many_threads_add_up() -> None:
    meter = TokenMeter()

    def report() -> None:
        for _ in range(1000):
            meter.add_prompt(3)
            meter.add_generated(2)

    threads = [threading.Thread(target=report) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert meter.snapshot() == MeterReading(calls=4000, prompt_tokens=12000, generated_tokens=8000)


def test_a_repaired_structured_call_counts_both_replies() -> None:
    backend = ReplayBackend(['{"value": "many"} and some', '{"value": 3}'])
    start = METER.snapshot()
    result = structured(backend, [ChatMessage("user", "how many?")], Answer)
    done = METER.snapshot().since(start)
    assert result.value.value == 3
    assert done.calls == 2 == result.usage.calls
    assert done.prompt_tokens == result.usage.prompt_tokens
    assert done.generated_tokens == result.usage.completion_tokens == 6
