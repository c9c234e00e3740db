"""Reasons as the reply streams in: each item's reason once the LLM has closed its object.

The reply is `{"reasons": {"<item id>": {...}, ...}}`; an item's object can be read as soon as
its closing brace arrives, long before the whole reply is done. The scan knows JSON strings, so
a brace or an id inside a reason's text is never taken for structure.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence

from m3rec.agents.reason_checks import ReasonChecker
from m3rec.agents.reason_drafts import ItemReason, ReasonDraft
from m3rec.agents.reasons import to_draft
from m3rec.schemas import HistoryEntry, MotivationProfile, Reason, ReasonSource

_REASONS_DEPTH = 2  # the item objects are the values of the keys at this depth


def closed_reasons(text: str) -> dict[str, ItemReason]:
    """Return, by item id, every item reason whose object the partial reply TEXT has closed
    (in the order written); an object that does not fit the reply schema is left out."""
    found: dict[str, ItemReason] = {}
    depth, i, key, start = 0, 0, None, -1
    while i < len(text):
        c = text[i]
        if c == '"':
            end = _string_end(text, i)
            if end is None:
                break  # the string is still being written
            if depth == _REASONS_DEPTH and start < 0:
                key = json.loads(text[i : end + 1])
            i = end + 1
            continue
        if c in "{[":
            depth += 1
            if c == "{" and depth == _REASONS_DEPTH + 1 and key is not None and start < 0:
                start = i
        elif c in "}]":
            if c == "}" and depth == _REASONS_DEPTH + 1 and start >= 0 and key is not None:
                with contextlib.suppress(ValueError):  # not a reason: the final parse says so
                    found[key] = ItemReason.model_validate(json.loads(text[start : i + 1]))
                key, start = None, -1
            depth -= 1
        i += 1
    return found


def _string_end(text: str, start: int) -> int | None:
    """Return the index of the quote that closes the string opened at START, or None."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return None


class ReasonStream:
    """Check each item's reason as soon as the streaming reply closes it, and pass on the kept
    ones (`emit`) while the LLM is still writing the rest.

    A reason is judged with the drafts before it (PRIOR, then those streamed before it), as the
    checker judges it in the whole reply, so a reason passed on here stays kept. A repair
    attempt's reply starts from nothing and streams on the same terms.
    """

    def __init__(
        self,
        checker: ReasonChecker,
        *,
        shown: Sequence[str],
        history: Sequence[HistoryEntry],
        profile: MotivationProfile,
        labels: Mapping[str, str],
        source: ReasonSource,
        prior: Sequence[ReasonDraft] = (),
        emit: Callable[[Reason], None] | None = None,
    ) -> None:
        self.checker, self.shown, self.history, self.profile = checker, shown, history, profile
        self.labels, self.source, self.prior, self.emit = labels, source, list(prior), emit
        self.kept: dict[str, Reason] = {}
        self._kept_drafts: list[ReasonDraft] = []
        self._judged: list[ReasonDraft] = []
        self._seen: set[str] = set()
        self._length = 0

    def __call__(self, text: str) -> None:
        """Read the reply so far; check and pass on every reason it closed since last time."""
        if len(text) < self._length:  # a new attempt: what was kept stays kept
            self._judged, self._seen = list(self._kept_drafts), set(self.kept)
        self._length = len(text)
        for item, reply in closed_reasons(text).items():
            if item in self._seen or item not in self.labels:
                continue
            self._seen.add(item)
            draft = to_draft(item, reply, self.labels[item])
            drafts = [*self.prior, *self._judged, draft]
            self._judged.append(draft)
            verdict = self.checker.check(
                drafts, shown=self.shown, history=self.history, profile=self.profile
            )
            if verdict.get(item, ("unchecked",)):
                continue
            evidence = tuple(draft.evidence)
            reason = Reason(item, draft.reason, draft.motivation, evidence, self.source)
            self.kept[item] = reason
            self._kept_drafts.append(draft)
            if self.emit is not None:
                self.emit(reason)
