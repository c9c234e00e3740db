"""The batch summary of a MOPE quality run cut short: the longest prefix of its user sample that
the store has an answer for (a profile or a recorded failure), written as the `--json` that
`m3rec profile` would have printed for that many users, so scripts/bench/mope_quality.py reads it.

Run: .venv/bin/python scripts/bench/mope_prefix.py DATA --users 100 --cold-k 0 \
        --model qwen2.5-1.5b --runs runs/mope-quality/v2-k0a

The sample is `m3rec profile --users N --seed 0` (its first P users are the P-user sample), the
stage `test`, the prompt the settings name (M3REC_MOPE__PROMPT, default the newest). Writes
RUNS/MODEL-DATASET-kK-nP.json and prints P. No LLM is called.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from m3rec.agents.mope import current_prompt_id, profile_key
from m3rec.data import load_dataset
from m3rec.data.histories import HistoryRule
from m3rec.llm.factory import model_identity
from m3rec.profiling import select_users
from m3rec.settings import LLMSettings, Settings, StoreSettings
from m3rec.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--cold-k", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    settings = Settings(llm=LLMSettings(model=args.model))
    store = open_store(StoreSettings(kind="embedded", path=args.runs / "store"), flag="read")
    failed = {f["key"] for f in store.list_failures()}
    rule = HistoryRule(stage="test", cold_k=args.cold_k)
    prompt_id = settings.mope.prompt_id or current_prompt_id()
    rows = []
    for user in select_users(dataset, str(args.users), args.seed):
        history = rule.history(dataset, user)
        key = profile_key(user, history, prompt_id, model_identity(settings), settings.mope.windows)
        if store.get_profile(key) is not None:
            rows.append({"user_id": user, "key": key, "outcome": "profiled"})
        elif key in failed:
            rows.append({"user_id": user, "key": key, "outcome": "failed"})
        else:
            break
    name = f"{args.model}-{dataset.name}-k{args.cold_k}-n{len(rows)}.json"
    summary = {"prefix_of": args.users, "users": rows}
    (args.runs / name).write_text(json.dumps(summary, indent=1) + "\n")
    print(len(rows), args.runs / name)


if __name__ == "__main__":
    main()
