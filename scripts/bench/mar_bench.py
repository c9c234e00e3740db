"""MAR end to end per user: where the time of `recommend` goes, and how the reasons fare.

Run: .venv/bin/python scripts/bench/mar_bench.py ../shared/data/ml-1m --store STORE \
        [--users 30] [--cold-k 2] [--llm] [--checkpoint PATH] [--json OUT]

The users are those whose profile for the test-stage history at COLD_K (written by the configured
model, e.g. by scripts/bench/mope_quality.sh) is in STORE, in a fixed order, so no MOPE call is
made and the figures are MAR's own. One pipeline serves them all (as a long-lived process would);
the first user warms it and is left out of the timings. Without --llm: `recommend --no-llm`, the
time per graph node. With --llm: the configured LLM words the reasons of the top mar.reasons
items; reported are the time to the ranked list and to the whole answer, and the share of
reasons kept on the first try, after the regeneration, and left to the template, with the rules
that turned the others down. The checkpoint is the one `recommend` builds (artifacts), unless
--checkpoint is given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

from m3rec.artifacts import ensure_checkpoint
from m3rec.data import load_dataset
from m3rec.data.histories import HistoryRule
from m3rec.llm.factory import model_identity
from m3rec.recommending import RecommendPipeline
from m3rec.settings import Settings, StoreSettings
from m3rec.store import open_store


def stored_users(store_path: Path, dataset: str, cold_k: int, model_id: str) -> list[str]:
    """Return, sorted, the users with a test-stage profile at COLD_K by MODEL_ID in the store."""
    store = open_store(StoreSettings(path=store_path))
    found = {
        p.user_id
        for p in store.list_profiles(dataset)
        if p.meta.get("stage") == "test"
        and int(p.meta.get("cold_k", -1)) == cold_k
        and p.meta.get("model_id", model_id) == model_id
    }
    return sorted(found)


def node_times(pipeline: RecommendPipeline, state: dict[str, Any]) -> dict[str, float]:
    """Run one user through the graph, timing each node (seconds), and return the times."""

    async def go() -> dict[str, float]:
        times: dict[str, float] = {}
        last = time.perf_counter()
        async for update in pipeline.graph.astream(
            state,  # type: ignore[arg-type]
            context=pipeline.deps,
            stream_mode="updates",
        ):
            now = time.perf_counter()
            for node in update:  # type: ignore[union-attr]
                times[node] = times.get(node, 0.0) + now - last
            last = now
        return times

    return asyncio.run(go())


def summary(values: list[float]) -> dict[str, float]:
    """Return the median, p90 and max of VALUES in milliseconds."""
    ms = np.asarray(values) * 1000
    return {
        "median_ms": round(float(median(ms)), 1),
        "p90_ms": round(float(np.percentile(ms, 90)), 1),
        "max_ms": round(float(ms.max()), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="a dataset folder")
    parser.add_argument("--store", type=Path, required=True, help="Chroma folder with profiles")
    parser.add_argument("--users", type=int, default=30, help="how many stored users to run")
    parser.add_argument("--cold-k", type=int, default=2, help="the profiles' cold_k")
    parser.add_argument("--llm", action="store_true", help="let the LLM word the reasons")
    parser.add_argument("--checkpoint", type=Path, help="MOTE checkpoint (default: built)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    settings = Settings(store=StoreSettings(path=args.store))
    dataset = load_dataset(args.data)
    checkpoint = args.checkpoint or ensure_checkpoint(settings, dataset).path
    model_id = model_identity(settings)
    users = stored_users(args.store, dataset.name, args.cold_k, model_id)[: args.users + 1]
    rule = HistoryRule("test", args.cold_k)
    started = time.perf_counter()
    pipeline = RecommendPipeline(settings, dataset, checkpoint, use_llm=args.llm)
    load_seconds = time.perf_counter() - started
    per_node: dict[str, list[float]] = {}
    totals, to_list, to_reason = [], [], []
    sources: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    errors: list[str] = []
    calls = tokens = 0
    for n, user in enumerate(users):
        state = {"user_id": user, "history": rule.history(dataset, user)}
        state["history_context"] = rule.context(dataset.name)
        if not args.llm:
            times = node_times(pipeline, state)
            if n:
                for node, seconds in times.items():
                    per_node.setdefault(node, []).append(seconds)
                totals.append(sum(times.values()))
            continue
        ranked_at: list[float] = []
        reason_at: list[float] = []
        begun = time.perf_counter()
        answer = pipeline.recommend(
            user,
            rule=rule,
            on_ranked=lambda *_, at=ranked_at: at.append(time.perf_counter()),
            on_reason=lambda _, at=reason_at: at.append(time.perf_counter()),
        )
        total = time.perf_counter() - begun
        if answer.profile is None:
            errors.extend(answer.errors)
            continue
        if n:
            totals.append(total)
            to_list.append(ranked_at[0] - begun)
            if reason_at:
                to_reason.append(reason_at[0] - begun)
        explained = answer.ranked[: settings.mar.reasons]
        for aligned in explained:
            reason = answer.reasons[aligned.item_id]
            sources[reason.source] += 1
            rules.update(reason.rejected)
        errors.extend(answer.errors)
        calls += answer.reason_usage.calls
        tokens += answer.reason_usage.completion_tokens
        print(user, dict(sources), flush=True)
    pipeline.close()
    reasons = sum(sources.values())
    doc: dict[str, Any] = {
        "dataset": dataset.name,
        "users": len(users) - 1,
        "cold_k": args.cold_k,
        "llm": model_id if args.llm else None,
        "checkpoint": str(checkpoint),
        "load_seconds": round(load_seconds, 2),
        "per_user": summary(totals) if totals else None,
    }
    if args.llm:
        doc["to_ranked_list"] = summary(to_list) if to_list else None
        doc["to_first_streamed_reason"] = summary(to_reason) if to_reason else None
        doc["users_with_a_streamed_reason"] = len(to_reason)
        doc["reasons"] = reasons
        doc["reason_sources"] = {k: round(v / reasons, 3) for k, v in sources.items()}
        doc["rejections"] = dict(rules.most_common())
        doc["reason_calls"], doc["generated_tokens"] = calls, tokens
        doc["errors"] = errors
    else:
        doc["per_node"] = {node: summary(v) for node, v in per_node.items()}
    print(json.dumps(doc, indent=1))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
