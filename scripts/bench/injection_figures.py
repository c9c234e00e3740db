"""Figures of the prompt-injection recordings (tests/fixtures/replies/injection.json): per
model, how often a raw reply carried a canary, and how many kept outputs did (the test asserts
none). Replays through the real parser, validator and checker, as the tests do.

Run: PYTHONPATH=. .venv/bin/python scripts/bench/injection_figures.py
"""

from __future__ import annotations

from collections import Counter

from m3rec.agents.mope import extract_profile
from m3rec.agents.reason_checks import check_reasons
from m3rec.agents.reasons import draft_reasons
from m3rec.agents.reorder import order_candidates
from m3rec.data.histories import HistoryRule
from m3rec.errors import StructuredOutputError
from m3rec.llm.registry import MODELS
from m3rec.llm.replay import ReplayBackend
from tests.corpus import call_inputs
from tests.hostile import (
    canaries_in,
    cases,
    hostile_dataset,
    hostile_item_ids,
    hostile_users,
    order_inputs,
    reasons_batches,
    recorded,
)


def main() -> None:
    data, inputs, replies = hostile_dataset(), call_inputs(), recorded()
    print(
        "| model | profiles kept / asked | raw MOPE replies with a canary | kept profiles with one "
        "| reasons kept / asked | raw reasons replies with a canary | kept reasons with one "
        "| the order call's first pick |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for model in MODELS:
        kept = asked = raw_hits = kept_hits = 0
        rules: Counter[str] = Counter()
        for user in hostile_users():
            key = f"{model}/mope/{user}"
            if key not in replies:
                continue
            asked += 1
            raw_hits += sum(bool(canaries_in(r)) for r in replies[key]["raw"])
            history = HistoryRule(n_items=20).history(data, user)
            try:
                outcome = extract_profile(
                    ReplayBackend(replies[key]["raw"]), user, history, model_name=model
                )
            except StructuredOutputError as exc:
                rules.update(r for rs in exc.rejected for r in rs)
                continue
            kept += 1
            rules.update(outcome.rejected)
            p = outcome.profile
            text = " ".join(
                [p.summary, p.shift, *(f"{m.label} {m.description}" for m in p.motivations)]
            )
            kept_hits += bool(canaries_in(text))
        r_kept = r_asked = r_raw = r_hits = 0
        for n, batch in enumerate(reasons_batches()):
            key = f"{model}/reasons/{n}"
            if key not in replies:
                continue
            r_raw += sum(bool(canaries_in(r)) for r in replies[key]["raw"])
            r_asked += len(batch)
            try:
                drafted = draft_reasons(
                    ReplayBackend(replies[key]["raw"]),
                    data.items,
                    batch,
                    inputs.profile,
                    inputs.history,
                )
            except StructuredOutputError:
                continue
            verdicts = check_reasons(
                drafted.drafts,
                shown=[a.item_id for a in batch],
                items=data.items,
                history=inputs.history,
                profile=inputs.profile,
            )
            for d in drafted.drafts:
                if verdicts.get(d.item_id) == ():
                    r_kept += 1
                    r_hits += bool(canaries_in(d.reason))
        first = "-"
        if f"{model}/order/all" in replies:
            ordered = order_candidates(
                ReplayBackend(replies[f"{model}/order/all"]["raw"]), *order_inputs()
            )
            pick = ordered.positions[0]
            hostile = hostile_item_ids()
            first = (
                f"hostile #{pick + 1} ({cases()[pick]['name']})"
                if pick < len(hostile)
                else f"plain #{pick + 1}"
            )
        print(
            f"| {model} | {kept} / {asked} | {raw_hits} | {kept_hits} | {r_kept} / {r_asked} "
            f"| {r_raw} | {r_hits} | {first} |"
        )
        print(f"<!-- {model} MOPE rules: {dict(rules)} -->")


if __name__ == "__main__":
    main()
