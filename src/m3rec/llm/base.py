"""The one protocol every LLM backend implements, and the structured-output loop shared by all."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from m3rec.errors import LLMResponseError, StructuredOutputError, Usage
from m3rec.llm.parsing import ReplyParseError, parse_json_object
from m3rec.schemas import ChatMessage

T = TypeVar("T", bound=BaseModel)

__all__ = [
    "REPAIR_INSTRUCTION",
    "ChatMessage",
    "Completion",
    "LLMBackend",
    "StructuredResult",
    "Usage",
    "astructured",
    "require_text",
    "structured",
]


@dataclass(frozen=True)
class Completion:
    """A raw reply and what it cost."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str | None = None


@dataclass(frozen=True)
class StructuredResult(Generic[T]):
    """A validated object, the raw replies that produced it, and the cost."""

    value: T
    raw_replies: list[str]
    usage: Usage = field(default_factory=Usage)

    @property
    def repaired(self) -> bool:
        """Whether the first reply failed and the repair succeeded."""
        return len(self.raw_replies) > 1


class LLMBackend(Protocol):
    """A chat model that can be asked for free text or for JSON under a schema."""

    name: str

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        """Return the model's reply; constrain it to JSON_SCHEMA where the backend can."""
        ...

    def describe(self) -> dict[str, Any]:
        """Return what a user needs to know about this backend (model, device), no secrets."""
        ...

    def close(self) -> None:
        """Release the model or connection."""
        ...


REPAIR_INSTRUCTION = (
    "Your reply was not valid: {error}\n"
    "Reply again with only one JSON object that follows the schema exactly. "
    "No prose, no code fence."
)


def structured(
    backend: LLMBackend,
    messages: list[ChatMessage],
    schema: type[T],
    *,
    max_tokens: int | None = None,
) -> StructuredResult[T]:
    """Ask BACKEND for an object of SCHEMA: constrained generation, validation, one repair."""
    json_schema = schema.model_json_schema()
    usage = Usage()
    raw_replies: list[str] = []
    conversation = list(messages)
    error = ""
    for _attempt in range(2):
        completion = backend.complete(conversation, json_schema=json_schema, max_tokens=max_tokens)
        usage.add(completion)
        raw_replies.append(completion.text)
        try:
            value = schema.model_validate(parse_json_object(completion.text))
        except ReplyParseError as exc:
            error = str(exc)
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            error = _summarise_validation(exc)
        else:
            return StructuredResult(value=value, raw_replies=raw_replies, usage=usage)
        conversation = [
            *messages,
            ChatMessage("assistant", completion.text),
            ChatMessage("user", REPAIR_INSTRUCTION.format(error=error)),
        ]
    raise StructuredOutputError(
        f"the model's reply did not match the {schema.__name__} schema after one repair ({error}): "
        "try a larger model (--model) or a lower temperature",
        raw_replies=raw_replies,
        usage=usage,
    )


async def astructured(
    backend: LLMBackend,
    messages: list[ChatMessage],
    schema: type[T],
    *,
    max_tokens: int | None = None,
) -> StructuredResult[T]:
    """Run structured() without blocking the event loop."""
    return await asyncio.to_thread(structured, backend, messages, schema, max_tokens=max_tokens)


def _summarise_validation(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for item in errors()[:5]:
        loc = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{loc}: {item['msg']}")
    return "; ".join(parts)


def require_text(text: str | None, backend_name: str) -> str:
    """Return TEXT or fail if the server sent no message content."""
    if text is None:
        raise LLMResponseError(
            f"the {backend_name} server returned an empty reply: check that the model is loaded"
        )
    return text
