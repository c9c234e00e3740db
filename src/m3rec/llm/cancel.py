"""A process-wide switch that stops the LLM work in progress: the local model at its next
token, a recorded or remote reply when it arrives, a repair before it is asked."""

from __future__ import annotations

import threading

from m3rec.errors import Cancelled

__all__ = ["CANCEL", "CancelSwitch"]


class CancelSwitch:
    """Set by whoever offers a cancel (the chat's Ctrl-C); checked where the work can stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def request(self) -> None:
        """Ask the work in progress to stop at its next check."""
        self._event.set()

    def clear(self) -> None:
        """Let work run again (the cancelled turn is over)."""
        self._event.clear()

    @property
    def requested(self) -> bool:
        """Whether a cancel was asked for and not yet cleared."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise `Cancelled` if a cancel was asked for."""
        if self._event.is_set():
            raise Cancelled("cancelled")


CANCEL = CancelSwitch()
