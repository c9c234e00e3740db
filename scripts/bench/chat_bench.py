"""A scripted conversation through `m3rec chat`'s session: how long each turn takes to read, to
show its new list, to stream its first checked reason, and to finish.

Run: .venv/bin/python scripts/bench/chat_bench.py ../shared/data/ml-1m --user 10 \
        --store STORE --turns 20 [--model qwen2.5-0.5b] [--json OUT]

One session holds the whole conversation (as `m3rec chat` does), on a new thread in a temporary
chat database. The first turn (`/list`: the profile, from STORE or written now, and the opening
list) warms the session and is reported apart. Each later turn is one message of SCRIPT in turn;
a turn that changes the list (a steer, an exclusion) is a "steering turn". Settings (model,
threads, mar.reasons) come from the environment as for any command (M3REC_LLM__MODEL, ...).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from m3rec.artifacts import ensure_checkpoint
from m3rec.chatting import ChatSession
from m3rec.data import load_dataset
from m3rec.llm.meter import METER
from m3rec.settings import PathSettings, Settings, StoreSettings

SCRIPT = [
    "no horror please",
    "more like the second one",
    "why did you show me the first one?",
    "nothing for kids",
    "more like the third one",
    "what do you know about me?",
    "something lighter, less dark than these",
    "more like the first one",
    "why the second one?",
    "no documentaries",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--user", required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    base = Settings()
    settings = base.model_copy(
        update={
            "store": StoreSettings(path=args.store),
            "paths": PathSettings(
                model_dir=base.paths.model_dir,
                cache_dir=base.paths.cache_dir,
                chat_db=Path(tempfile.mkdtemp()) / "chat.sqlite",
            ),
        }
    )
    checkpoint = ensure_checkpoint(settings, dataset).path
    session = ChatSession(settings, dataset, checkpoint, args.user, top_k=args.k)
    rows = []
    try:
        for n, message in enumerate(
            ["/list"] + [SCRIPT[i % len(SCRIPT)] for i in range(args.turns)]
        ):
            rows.append(timed_turn(session, n, message))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        session.close()
    summary = summarise(rows[1:])
    print(json.dumps({"settings": describe(settings), "warm_up": rows[0], **summary}, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"turns": rows, **summary}, indent=2) + "\n")


def timed_turn(session: ChatSession, n: int, message: str) -> dict[str, Any]:
    """Run one turn and return when its list and first reason showed, and its cost."""
    marks: dict[str, float] = {}
    started = time.perf_counter()
    session.on_ranked = lambda ranked, profile: marks.setdefault("list", time.perf_counter())
    session.on_reason = lambda reason: marks.setdefault("reason", time.perf_counter())
    before = METER.snapshot()
    answers = session.turn(message)
    ended = time.perf_counter()
    after = METER.snapshot()
    kinds = [a.kind for a in answers]
    reasons = [r for a in answers if a.result is not None for r in a.result.reasons.values()]
    return {
        "turn": n,
        "message": message,
        "intent": session.state().get("turn", {}).get("intent"),
        "answers": kinds,
        "list_s": round(marks["list"] - started, 3) if "list" in marks else None,
        "first_reason_s": round(marks["reason"] - started, 3) if "reason" in marks else None,
        "turn_s": round(ended - started, 3),
        "llm_calls": after.calls - before.calls,
        "generated_tokens": after.generated_tokens - before.generated_tokens,
        "reasons": {
            s: sum(r.source == s for r in reasons) for s in ("llm", "regenerated", "template")
        },
        "rejected_by": dict(Counter(rule for r in reasons for rule in r.rejected)),
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the median and 90th percentile of each time, over all turns and steering turns."""
    steering = [r for r in rows if r["intent"] in ("more_like", "different", "purpose", "exclude")]

    def stats(group: list[dict[str, Any]], key: str) -> dict[str, float] | None:
        values = [r[key] for r in group if r[key] is not None]
        if not values:
            return None
        return {
            "n": len(values),
            "median": round(float(np.median(values)), 3),
            "p90": round(float(np.percentile(values, 90)), 3),
        }

    return {
        "all_turns": {k: stats(rows, k) for k in ("list_s", "first_reason_s", "turn_s")},
        "steering_turns": {k: stats(steering, k) for k in ("list_s", "first_reason_s", "turn_s")},
        "asked_back": sum(r["intent"] == "unclear" for r in rows),
    }


def describe(settings: Settings) -> dict[str, Any]:
    return {
        "model": settings.llm.model,
        "n_threads": settings.llm.n_threads,
        "mar_reasons": settings.mar.reasons,
        "torch_threads": settings.torch.threads,
    }


if __name__ == "__main__":
    main()
