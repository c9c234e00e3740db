"""Domain errors: each carries one line that names the problem and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class _Costed(Protocol):  # an llm.base.Completion
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def seconds(self) -> float: ...


@dataclass
class Usage:
    """Calls, tokens and time spent on LLM requests, failed attempts included.

    It lives here, below every layer, so that an error can carry what its attempts cost.
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def add(self, completion: _Costed) -> None:
        """Count one completion."""
        self.calls += 1
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.seconds += completion.seconds

    def include(self, other: Usage) -> None:
        """Count everything OTHER counted."""
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.seconds += other.seconds


class M3recError(Exception):
    """Base of every error the CLI turns into one line and exit code 1."""


class ConfigError(M3recError):
    """A setting, flag or config file is invalid."""


class ModelError(M3recError):
    """A model file is unknown, missing, partial or corrupt, or could not be fetched."""


class CacheDirError(M3recError):
    """A cache or store directory cannot be created or written."""


class StoreUnavailableError(M3recError):
    """The Chroma server the settings name cannot be reached, or stopped answering."""


class LLMError(M3recError):
    """An LLM backend failed."""


class LLMDisabledError(LLMError):
    """An LLM call was needed but the user asked for none (`--no-llm`)."""


class LLMUnavailableError(LLMError):
    """The LLM server could not be reached or did not answer in time."""


class LLMAuthError(LLMError):
    """The LLM server refused the credentials."""


class LLMResponseError(LLMError):
    """The LLM server answered with something that is not a usable reply."""


class StructuredOutputError(LLMError):
    """The model's reply did not validate against the schema, even after one repair.

    `usage` counts every call made for the request that failed (the first try and the repair,
    and for a profile read window by window, the windows before as well); `rejected` names, for
    each reply, the rules it broke.
    """

    def __init__(
        self,
        message: str,
        *,
        raw_replies: list[str],
        usage: Usage | None = None,
        rejected: list[tuple[str, ...]] | None = None,
    ) -> None:
        super().__init__(message)
        self.raw_replies = raw_replies
        self.usage = usage if usage is not None else Usage()
        self.rejected = rejected or []


class Cancelled(Exception):
    """The person asked to stop the work in progress (Ctrl-C during a conversation's turn).

    Not an M3recError and not an LLMError: no fallback catches it (no template reason, no
    recorded profile failure), so the work unwinds to the caller that offered the cancel.
    """


class EmptyHistoryError(M3recError):
    """A user has no visible interactions to read motivations from."""
