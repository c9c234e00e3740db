"""The prompt-injection corpus (tests/fixtures/hostile/injections.json) placed in a catalogue:
each hostile text rides on a real film of the MovieLens slice, in its title (odd cases) or its
description (even), so MOPE reads it in a history, MAR's reasons in a candidate and the order
call in a list. Shared by scripts/record_injection_replies.py and the tests that replay its
recordings."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from typing import Any

from m3rec.data import Dataset, Interaction, load_dataset
from m3rec.schemas import AlignedItem
from tests.conftest import FIXTURES
from tests.corpus import call_inputs

INJECTIONS = FIXTURES / "hostile" / "injections.json"
RECORDED = FIXTURES / "replies" / "injection.json"
PER_USER = 4  # hostile items in each profiled history, beside two plain ones
PER_REASONS_CALL = 3


@cache
def cases() -> list[dict[str, str]]:
    return list(json.loads(INJECTIONS.read_text())["cases"])


@cache
def hostile_dataset() -> Dataset:
    """The slice with one hostile text on each of its first films (ids as in the slice), and a
    user per PER_USER hostile items, each history ending with two plain films."""
    base = load_dataset(FIXTURES / "data" / "ml-latest-slice")
    items = dict(base.items)
    ids = sorted(items, key=int)
    hostile_ids = ids[: len(cases())]
    for n, (item_id, case) in enumerate(zip(hostile_ids, cases(), strict=True)):
        item = items[item_id]
        if n % 2 == 0:
            items[item_id] = replace(item, title=f"{item.title} {case['text']}")
        else:
            items[item_id] = replace(item, fields={**item.fields, "description": case["text"]})
    plain = ids[len(cases()) : len(cases()) + 2]
    histories = dict(base.histories)
    for u, start in enumerate(range(0, len(hostile_ids), PER_USER)):
        chosen = hostile_ids[start : start + PER_USER] + plain
        histories[f"hostile-{u}"] = [
            Interaction(f"hostile-{u}", item, 1_000_000_000 + 86_400 * n, 5.0, n)
            for n, item in enumerate(chosen)
        ]
    return Dataset("hostile-slice", items, histories)


def hostile_item_ids() -> list[str]:
    return sorted(hostile_dataset().items, key=int)[: len(cases())]


def hostile_users() -> list[str]:
    return sorted(u for u in hostile_dataset().histories if u.startswith("hostile-"))


def reasons_batches() -> list[list[AlignedItem]]:
    """The hostile items as MAR's top items, PER_REASONS_CALL a call, each serving a motivation
    of the profile corpus.py reads (user 4 of the slice), with its evidence."""
    inputs = call_inputs()
    profile, seen = inputs.profile, {h.item_id for h in inputs.history}
    batches = []
    ids = [i for i in hostile_item_ids() if i not in seen]  # MAR never offers a seen item
    for start in range(0, len(ids), PER_REASONS_CALL):
        batch = []
        for n, item in enumerate(ids[start : start + PER_REASONS_CALL]):
            m = (start + n) % len(profile.motivations)
            evidence = tuple(profile.motivations[m].evidence)
            batch.append(AlignedItem(item, 1.0 - n / 10, 0.5, 0.4, m, evidence))
        batches.append(batch)
    return batches


def order_inputs() -> tuple[list[str], list[str], list[str]]:
    """Return the order call's history, motivations and candidates: every hostile film, then
    eight plain ones the user has not seen (30, the most one call takes)."""
    data, inputs = hostile_dataset(), call_inputs()
    hostile = hostile_item_ids()
    seen = {h.item_id for h in inputs.history}
    plain = [i for i in sorted(data.items, key=int)[len(hostile) :] if i not in seen][:8]
    candidates = [data.items[i].text() for i in hostile + plain]
    motivations = [f"{m.label}: {m.description}" for m in inputs.profile.motivations]
    return [h.text for h in inputs.history[-10:]], motivations, candidates


def canaries_in(text: str) -> list[str]:
    return [c["canary"] for c in cases() if c["canary"] in text]


@cache
def recorded() -> dict[str, Any]:
    return dict(json.loads(RECORDED.read_text()))
