"""The rules a motivation profile must keep beyond its schema: what the validator rejects.

A profile that breaks one is sent back for one repair (with what was wrong), then recorded as a
failure. Each rule has a name, counted in the quality figures:

- `copied_example`: a label shares a run of LABEL_RUN words, or a description, summary or shift a
  run of TEXT_RUN words, with the prompt's own examples;
- `title_label`: a label is an item's title, or most of one;
- `category_label`: a label says nothing but the items' genres or category names, or words that
  only name a kind of thing ("classic films");
- `repeated_motivation`: two motivations with the same label (or nearly: half their words);
- `no_valid_evidence`: no motivation cites an item of the history;
- `cites_everything`: on a history of EVERYTHING_MIN items or more, every motivation cites every
  item;
- `empty_shift`: the shift names nothing new ("from board games to board games").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from m3rec.llm.base import ReplyRejected
from m3rec.schemas import HistoryEntry, Motivation, MotivationProfile

RULES = (
    "copied_example",
    "title_label",
    "category_label",
    "repeated_motivation",
    "no_valid_evidence",
    "cites_everything",
    "empty_shift",
)
LABEL_RUN = 3
TEXT_RUN = 6
EVERYTHING_MIN = 5
TITLE_SHARE = 0.5
# Words that say what a thing is, not why: "action movies" is the category "Action".
_GENERIC = (
    "a an and the of for with in on to or my their his her its s "
    "movie movies film films flick flicks cinema genre genres classic classics "
    "product products item items thing things stuff goods set sets kit kits "
    "lover lovers fan fans enthusiast enthusiasts collection collector collectors "
    "type types style styles category categories related general various other"
)
GENERIC_WORDS = frozenset(_GENERIC.split())
_WORD = re.compile(r"[a-z0-9]+")
_FROM_TO = re.compile(r"\bfrom\s+(.+?)\s+(?:to|towards?|into)\s+(.+)$", re.IGNORECASE)
_SHIFT_FILLER = frozenset(
    ["more", "again", "same", "also", "even", "still", "another", "further", "other", "some"]
)
_NO_SHIFT = re.compile(r"^\s*no (clear )?shift\.?\s*$", re.IGNORECASE)


def check_profile(
    profile: MotivationProfile, history: Sequence[HistoryEntry], examples: Iterable[dict[str, Any]]
) -> None:
    """Raise `ReplyRejected` naming every rule PROFILE breaks, with what to change."""
    problems: list[tuple[str, str]] = []
    problems += _copied(profile, list(examples))
    problems += _labels_from_items(profile, history)
    problems += _repeated(profile)
    problems += _evidence(profile, history)
    problems += _shift(profile)
    if problems:
        rules = tuple(dict.fromkeys(rule for rule, _ in problems))
        raise ReplyRejected("; ".join(message for _, message in problems), rules)


def words(text: str) -> list[str]:
    """Return TEXT's lowercase words, plurals folded ("nails" is "nail")."""
    return [_singular(w) for w in _WORD.findall(text.lower())]


def content_words(text: str) -> set[str]:
    """Return the words of TEXT that are not GENERIC_WORDS."""
    return {w for w in words(text) if w not in GENERIC_WORDS}


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _runs(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def _example_texts(examples: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    labels, texts = [], []
    for example in examples:
        for motivation in example.get("motivations", []):
            labels.append(str(motivation.get("label", "")))
            texts.append(str(motivation.get("description") or motivation.get("detail") or ""))
        texts += [str(example.get("summary", "")), str(example.get("shift", ""))]
    return labels, texts


def _copied(profile: MotivationProfile, examples: list[dict[str, Any]]) -> list[tuple[str, str]]:
    example_labels, example_texts = _example_texts(examples)
    every_text = [words(t) for t in example_labels + example_texts]
    label_runs = set().union(*(_runs(w, LABEL_RUN) for w in every_text))
    label_whole = {tuple(words(label)) for label in example_labels}
    text_runs = set().union(*(_runs(w, TEXT_RUN) for w in every_text))
    copied = []
    for n, m in enumerate(profile.motivations, start=1):
        label = words(m.label)
        if tuple(label) in label_whole or _runs(label, LABEL_RUN) & label_runs:
            copied.append(f"motivation {n}'s label")
        elif _runs(words(m.description), TEXT_RUN) & text_runs:
            copied.append(f"motivation {n}'s description")
    for name, text in (("summary", profile.summary), ("shift", profile.shift)):
        if _runs(words(text), TEXT_RUN) & text_runs:
            copied.append(f"the {name}")
    if not copied:
        return []
    return [
        (
            "copied_example",
            f"{', '.join(copied)} copied from the prompt's examples, which describe another "
            "catalogue: describe this history",
        )
    ]


def _labels_from_items(
    profile: MotivationProfile, history: Sequence[HistoryEntry]
) -> list[tuple[str, str]]:
    titles = [words(entry.title) for entry in history if entry.title]
    categories = {c for entry in history for c in entry.categories}
    category_words = set().union(*(content_words(c) for c in categories)) if categories else set()
    problems = []
    for n, m in enumerate(profile.motivations, start=1):
        label = words(m.label)
        if any(_is_title(label, title) for title in titles):
            problems.append(
                (
                    "title_label",
                    f"motivation {n}'s label '{m.label}' is an item's title: "
                    "say why the person wants it",
                )
            )
            continue
        if set(label) <= category_words | GENERIC_WORDS:
            problems.append(
                (
                    "category_label",
                    f"motivation {n}'s label '{m.label}' only names the items' category: "
                    "say why the person wants them",
                )
            )
    return problems


def _is_title(label: list[str], title: list[str]) -> bool:
    if not label or not title:
        return False
    if label == title:
        return True
    n = len(label)
    contained = any(title[i : i + n] == label for i in range(len(title) - n + 1))
    return n >= 2 and contained and (n / len(title) >= TITLE_SHARE or n >= 4)


def _repeated(profile: MotivationProfile) -> list[tuple[str, str]]:
    motivations = profile.motivations
    repeats: dict[int, list[int]] = {}
    seen: set[int] = set()
    for i, a in enumerate(motivations):
        if i in seen:
            continue
        for j in range(i + 1, len(motivations)):
            if j not in seen and _same(a, motivations[j]):
                seen.add(j)
                repeats.setdefault(i, []).append(j)
    return [
        (
            "repeated_motivation",
            f"motivation {', '.join(str(j + 1) for j in later)} repeat(s) motivation {i + 1} "
            f"('{motivations[i].label}'): merge them or name another reason",
        )
        for i, later in repeats.items()
    ]


def _same(a: Motivation, b: Motivation) -> bool:
    words_a = content_words(a.label) or set(words(a.label))
    words_b = content_words(b.label) or set(words(b.label))
    if words(a.label) == words(b.label) or words(a.description) == words(b.description):
        return True
    return bool(words_a and words_b) and len(words_a & words_b) / len(words_a | words_b) >= 0.5


def _evidence(profile: MotivationProfile, history: Sequence[HistoryEntry]) -> list[tuple[str, str]]:
    if not any(m.evidence for m in profile.motivations):
        return [
            (
                "no_valid_evidence",
                "no evidence id is an item of the history: cite ids from the square brackets",
            )
        ]
    ids = {entry.item_id for entry in history}
    if len(ids) >= EVERYTHING_MIN and all(set(m.evidence) >= ids for m in profile.motivations):
        return [
            (
                "cites_everything",
                "every motivation cites every item: cite only the items that show each one",
            )
        ]
    return []


def _shift(profile: MotivationProfile) -> list[tuple[str, str]]:
    shift = profile.shift.strip()
    if _NO_SHIFT.match(shift):
        return []
    empty = (
        f"the shift '{shift}' names nothing new: say what the newest items add, or 'no clear shift'"
    )
    if not content_words(shift):
        return [("empty_shift", empty)]
    if match := _FROM_TO.search(shift):
        before, after = content_words(match.group(1)), content_words(match.group(2))
        if after - _SHIFT_FILLER <= before:
            return [("empty_shift", empty)]
    return []
