"""Raw replies recorded from the real local models by scripts/record_replies.py (v1 reply
shapes) and scripts/record_rule_replies.py (the validator's cases and the default model's
library)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from m3rec.llm.base import ChatMessage, Completion, LLMBackend
from m3rec.llm.replay import ReplayBackend
from tests.conftest import FIXTURES


@cache
def recorded() -> dict[str, dict[str, Any]]:
    """Return every recorded case of mope_v1.json by key."""
    return json.loads((FIXTURES / "replies" / "mope_v1.json").read_text())


def raw(key: str) -> str:
    """Return the raw text the model wrote for KEY (prompt mope/v1)."""
    return str(recorded()[key]["raw"])


@cache
def library() -> dict[str, dict[str, Any]]:
    """Return the default model's recorded replies for each history the tests profile, keyed
    `dataset/user/rule` (scripts/record_rule_replies.py --library)."""
    return json.loads((FIXTURES / "replies" / "mope_v2_library.json").read_text())


def library_reply(key: str) -> str:
    """Return the last (kept) reply recorded for KEY (`ml-latest-small/398/product, 8 items`)."""
    return str(library()[key]["raw"][-1])


def history_ids(messages: Sequence[ChatMessage | dict[str, str]]) -> list[str]:
    """Return the item ids of the history block in the last user turn of MESSAGES."""
    last = [m for m in messages if (m.role if isinstance(m, ChatMessage) else m["role"]) == "user"]
    text = last[-1].content if isinstance(last[-1], ChatMessage) else last[-1]["content"]
    block = text.split("<<<HISTORY", 1)[-1].split("HISTORY>>>", 1)[0]
    return _ID.findall(block)


class LibraryReplies:
    """Answer each profile request with the reply recorded for its history: the first request
    for a history gets the first recorded reply, a repair the next."""

    def __init__(self) -> None:
        self.by_history = {tuple(c["history_ids"]): c for c in library().values()}
        self.asked: dict[tuple[str, ...], int] = {}

    def __call__(self, messages: Sequence[ChatMessage | dict[str, str]]) -> str:
        ids = tuple(history_ids(messages))
        if ids not in self.by_history:
            raise AssertionError(f"no reply recorded for the history {ids}: record it (LIBRARY)")
        n = self.asked.get(ids, 0)
        self.asked[ids] = n + 1
        raws = self.by_history[ids]["raw"]
        return str(raws[min(n, len(raws) - 1)])


class AnyUserReplies:
    """For tests of batch mechanics (resume, kill, concurrency, counts) over many users: the
    default model's reply for bundled user 12, its evidence ids replaced by the request's own
    history ids, so the validator reads it as a profile of whoever was asked about. Tests of what
    a profile says use LibraryReplies, the exact recordings."""

    BASE = "ml-latest-small/12/test, cold_k 2"

    def __init__(self) -> None:
        self.reply = json.loads(library_reply(self.BASE))

    def __call__(self, messages: Sequence[ChatMessage | dict[str, str]]) -> str:
        ids = history_ids(messages)
        reply = json.loads(json.dumps(self.reply))
        for n, motivation in enumerate(reply["motivations"]):
            motivation["evidence"] = [ids[n % len(ids)]]
        return json.dumps(reply)


class LibraryBackend(ReplayBackend):
    """The replay backend, answering from the library by the request's history (or with ANSWER,
    such as AnyUserReplies)."""

    def __init__(self, answer: Callable[[Sequence[ChatMessage]], str] | None = None) -> None:
        super().__init__([])
        self.answer = answer or LibraryReplies()

    def complete(self, messages: list[ChatMessage], **kwargs: Any) -> Completion:
        self._replies = [self.answer(messages)]
        return super().complete(messages, **kwargs)


class WrongFirst(LibraryBackend):
    """Answers the first N requests with WRONG, then as AnyUserReplies does."""

    def __init__(self, wrong: str, n: int) -> None:
        super().__init__(AnyUserReplies())
        self.wrong, self.n = wrong, n

    def complete(self, messages: list[ChatMessage], **kwargs: Any) -> Completion:
        if len(self.requests) < self.n:
            self._replies = [self.wrong]
            return ReplayBackend.complete(self, messages, **kwargs)
        return super().complete(messages, **kwargs)


_ID = re.compile(r"^\[([^\]]+)\] ", re.MULTILINE)


@cache
def rule_cases() -> dict[str, dict[str, Any]]:
    """Return the replies recorded for the validator's rules (scripts/record_rule_replies.py)."""
    path = FIXTURES / "replies" / "mope_rules.json"
    return json.loads(path.read_text()) if path.exists() else {}


_ITEM = re.compile(r"^item \[([^\]]+)\] ", re.MULTILINE)


def item_ids_of(messages: Sequence[ChatMessage | dict[str, str]]) -> list[str]:
    """Return the item ids of the ITEMS block in the last user turn of a reasons request."""
    last = messages[-1]
    text = last.content if isinstance(last, ChatMessage) else last["content"]
    return _ITEM.findall(text.split("<<<ITEMS", 1)[-1].split("ITEMS>>>", 1)[0])


@cache
def reason_cases() -> dict[str, Any]:
    """Return the reasons replies recorded by scripts/record_reason_replies.py: the MOTE settings
    they were ranked with and, per `model/user`, each request's items and raw reply."""
    return json.loads((FIXTURES / "replies" / "mar_reasons.json").read_text())


class MarReplies(LibraryBackend):
    """MOPE requests answered from the library, reasons requests by the recorded reply for the
    same items, in the order they were asked."""

    def __init__(self, case: dict[str, Any]) -> None:
        super().__init__()
        self.reasons = [(tuple(a["items"]), a["raw"]) for a in case["asked"]]
        self.reason_requests = 0

    def complete(self, messages: list[ChatMessage], **kwargs: Any) -> Completion:
        if "<<<ITEMS" not in messages[-1].content:
            return super().complete(messages, **kwargs)
        items, text = self.reasons[self.reason_requests]
        asked = tuple(item_ids_of(messages))
        if asked != items:
            raise AssertionError(f"reasons asked for {asked}, recorded for {items}: re-record")
        self.reason_requests += 1
        self._replies = [text]
        return ReplayBackend.complete(self, messages, **kwargs)


class RawReasons(LibraryBackend):
    """MOPE requests answered from the library, reasons requests by RAW in turn (garbage, a
    truncated object...); with none left, the call fails as a dead server's would."""

    def __init__(self, raw: Sequence[str]) -> None:
        super().__init__()
        self.raw = list(raw)
        self.reason_requests = 0

    def complete(self, messages: list[ChatMessage], **kwargs: Any) -> Completion:
        if "<<<ITEMS" not in messages[-1].content:
            return super().complete(messages, **kwargs)
        self.reason_requests += 1
        self._replies = [self.raw.pop(0)] if self.raw else []
        return ReplayBackend.complete(self, messages, **kwargs)


class Keeping:
    """Pass each request to MODEL and keep its raw reply (for the recording scripts)."""

    name = "keeping"

    def __init__(self, model: LLMBackend) -> None:
        self.model = model
        self.raw: list[str] = []

    def complete(self, messages: list[ChatMessage], **kwargs: Any) -> Completion:
        completion = self.model.complete(messages, **kwargs)
        self.raw.append(completion.text)
        return completion


@cache
def chat_turns() -> dict[str, Any]:
    """Return the registry models' recorded readings of chat messages
    (scripts/record_chat_replies.py), keyed `model/name`, with their inputs."""
    return json.loads((FIXTURES / "replies" / "chat_turns.json").read_text())


class ChatTurns(RawReasons):
    """Chat turn requests answered as MODEL read the same message when recorded (the request's
    message must be one of the recording's); MOPE from the library; reasons by RAW."""

    def __init__(self, model: str = "qwen2.5-1.5b", raw: Sequence[str] = ()) -> None:
        super().__init__(raw)
        recorded = chat_turns()
        self.by_message = {
            message: recorded[f"{model}/{name}"]["raw"]
            for name, message in recorded["inputs"]["messages"].items()
        }
        self.turn_requests = 0

    def complete(self, messages: list[ChatMessage], **kwargs: Any) -> Completion:
        content = messages[-1].content
        if "<<<MESSAGE" not in content:
            return super().complete(messages, **kwargs)
        said = content.split("<<<MESSAGE", 1)[1].rsplit("MESSAGE>>>", 1)[0].strip()
        from m3rec import prompts
        from m3rec.agents.turns import MESSAGE_CHARS

        found = [
            raw
            for message, raw in self.by_message.items()
            if prompts.data_text(message, MESSAGE_CHARS) == said
        ]
        if not found:
            raise AssertionError(f"no reading recorded for the message {said!r}")
        self.turn_requests += 1
        self._replies = list(found[0])
        return ReplayBackend.complete(self, messages, **kwargs)
