"""One process-wide count of the tokens every backend reads and writes, updated as they happen.

Backends report to `METER`; a progress display polls `METER.snapshot()` and shows the change since
it started. Nothing is passed through the agents: a profile run in worker threads is counted the
same as a call on the main thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["METER", "MeterReading", "TokenMeter"]


@dataclass(frozen=True)
class MeterReading:
    """The calls and tokens counted so far."""

    calls: int = 0
    prompt_tokens: int = 0
    generated_tokens: int = 0

    def since(self, start: MeterReading) -> MeterReading:
        """Return what was counted between START and this reading."""
        return MeterReading(
            self.calls - start.calls,
            self.prompt_tokens - start.prompt_tokens,
            self.generated_tokens - start.generated_tokens,
        )


class TokenMeter:
    """A thread-safe running count of LLM calls, prompt tokens and generated tokens."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls = 0
        self._prompt = 0
        self._generated = 0

    def add_prompt(self, n: int) -> None:
        """Count one call that reads a prompt of N tokens."""
        with self._lock:
            self._calls += 1
            self._prompt += n

    def add_generated(self, n: int) -> None:
        """Count N more generated tokens."""
        with self._lock:
            self._generated += n

    def snapshot(self) -> MeterReading:
        """Return the counts so far."""
        with self._lock:
            return MeterReading(self._calls, self._prompt, self._generated)


METER = TokenMeter()
