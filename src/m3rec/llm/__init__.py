"""LLM backends behind one protocol, and the structured-output loop they share."""

from m3rec.llm.base import (
    ChatMessage,
    Completion,
    LLMBackend,
    StructuredResult,
    Usage,
    astructured,
    structured,
)
from m3rec.llm.factory import build_backend

__all__ = [
    "ChatMessage",
    "Completion",
    "LLMBackend",
    "StructuredResult",
    "Usage",
    "astructured",
    "build_backend",
    "structured",
]
