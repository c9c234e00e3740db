"""Which part of a user's history a model may see: the one home of that rule.

Two rules, named by purpose:

- the *product* rule (`product_history`): everything the user has done, the most recent N items.
  `demo`, `profile --user`, `recommend`, `explain` and `chat` read a user this way.
- the *said* rule (`said_history`): a new person's history is the items they named in a
  conversation (`m3rec chat` without `--user`), in the order named, dated when they said so.
- the *evaluation* rule (`evaluation_window`, `evaluation_history`): the held-out item of a stage
  removed (the last interaction is the test item, the second to last the validation item, the
  third to last the *train* item: a training target, for fitting on LLM outputs without touching
  validation or test items), then cut to the most recent `cold_k` items. The harness's
  leave-one-out split and batch profiling for benchmarks (`profile --stage test|valid|train`)
  both call it, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from m3rec.data.errors import DataError
from m3rec.data.types import Dataset, Interaction, Item
from m3rec.schemas import HistoryEntry

Stage = Literal["test", "valid", "train"]
STAGES: tuple[Stage, ...] = ("test", "valid", "train")
MIN_EVAL_LENGTH = 3  # train + validation + test
PRODUCT_ITEMS = 20  # how many recent items product commands read by default
_HELD_OUT = {"test": 1, "valid": 2, "train": 3}


def evaluation_window(length: int, stage: Stage, cold_k: int = 0) -> slice:
    """Return the slice of a time-ordered history of LENGTH that a model may see when predicting
    its STAGE item, cut to the most recent COLD_K items when COLD_K > 0.

    A history too short to be evaluated (under MIN_EVAL_LENGTH) has no held-out item: the slice is
    the whole of it, cut the same way. A history of exactly MIN_EVAL_LENGTH has no item before
    its train item: its train slice is empty.
    """
    if stage not in _HELD_OUT:
        raise DataError(f"stage must be test, valid or train, got {stage!r}")
    if cold_k < 0:
        raise DataError(f"cold_k must be 0 (no cut) or a positive count, got {cold_k}")
    end = max(0, length - _HELD_OUT[stage]) if length >= MIN_EVAL_LENGTH else length
    start = max(0, end - cold_k) if cold_k > 0 else 0
    return slice(start, end)


def evaluation_history(
    dataset: Dataset, user_id: str, cold_k: int = 0, stage: Stage = "test"
) -> list[HistoryEntry]:
    """Return what a model may see of USER_ID when predicting its STAGE item (evaluation rule)."""
    events = _events(dataset, user_id)
    return history_entries(dataset, events[evaluation_window(len(events), stage, cold_k)])


def product_history(
    dataset: Dataset, user_id: str, n_items: int = PRODUCT_ITEMS
) -> list[HistoryEntry]:
    """Return USER_ID's N_ITEMS most recent interactions, oldest first (product rule)."""
    if n_items < 1:
        raise DataError(f"the number of recent items read must be at least 1, got {n_items}")
    return history_entries(dataset, _events(dataset, user_id)[-n_items:])


def said_history(
    dataset: Dataset, user_id: str, item_ids: Sequence[str], when: int
) -> list[HistoryEntry]:
    """Return the items a new person named (said rule), in the order named, dated WHEN (a Unix
    time): a cold-start history that has no ratings."""
    unknown = [i for i in item_ids if i not in dataset.items]
    if unknown:
        raise DataError(f"no item {unknown[0]!r} in {dataset.name}")
    events = [Interaction(user_id, i, when, None, n) for n, i in enumerate(item_ids)]
    return history_entries(dataset, events)


def said_context(dataset_name: str, n_items: int) -> dict[str, Any]:
    """Return how a said history was made, as stored with its profile (never read by
    evaluation code: its stage is `chat`)."""
    return {"dataset": dataset_name, "stage": "chat", "cold_k": 0, "items": n_items}


@dataclass(frozen=True)
class HistoryRule:
    """Which rule cuts a user's history: the product rule (STAGE None, the N_ITEMS most recent)
    or the evaluation rule (STAGE test, valid or train, then COLD_K). Profiles record it."""

    stage: Stage | None = None
    cold_k: int = 0
    n_items: int = PRODUCT_ITEMS

    def __post_init__(self) -> None:
        if self.stage is None and self.cold_k:
            raise DataError("a cold-start cut (--cold-k) needs an evaluation stage (--stage)")

    def history(self, dataset: Dataset, user_id: str) -> list[HistoryEntry]:
        """Return what this rule lets a model see of USER_ID."""
        if self.stage is None:
            return product_history(dataset, user_id, self.n_items)
        return evaluation_history(dataset, user_id, self.cold_k, self.stage)

    def context(self, dataset_name: str) -> dict[str, Any]:
        """Return how the history was cut, as stored with a profile (stage `product` for the
        product rule, so evaluation code never reads those profiles)."""
        if self.stage is None:
            return {"dataset": dataset_name, "stage": "product", "cold_k": 0, "items": self.n_items}
        return {"dataset": dataset_name, "stage": self.stage, "cold_k": self.cold_k}


def describe_rule(context: Mapping[str, Any]) -> str:
    """Return, in words, how a history was cut, from what `HistoryRule.context` recorded
    (`product, 20 items`, `test, cold_k 2`); a context from before rules were recorded says
    `unrecorded`."""
    stage = context.get("stage")
    if stage == "product":
        return f"product, {context.get('items', '?')} items"
    if stage == "chat":
        return f"said in a chat, {context.get('items', '?')} items"
    if stage in STAGES:
        cold_k = int(context.get("cold_k", 0) or 0)
        return f"{stage}, cold_k {cold_k}" if cold_k else f"{stage}, whole history"
    return "unrecorded"


def history_entries(dataset: Dataset, events: Sequence[Interaction]) -> list[HistoryEntry]:
    """Return EVENTS as the entries a model reads: item id, item text, rating, time."""
    return [item_entry(dataset.items[e.item_id], e.rating, e.timestamp) for e in events]


def item_entry(
    item: Item, rating: float | None = None, timestamp: int | None = None
) -> HistoryEntry:
    """Return ITEM as a model reads it in a history: id, text, rating, time, title, categories."""
    return HistoryEntry(
        item.item_id, item.text(), rating, timestamp, item.title, item.category_names()
    )


def _events(dataset: Dataset, user_id: str) -> list[Interaction]:
    if user_id not in dataset.histories:
        raise DataError(f"user '{user_id}' is not in {dataset.name}: check --user")
    return dataset.histories[user_id]
