"""Record what each registry model writes when item text tries prompt injection.

Run: .venv/bin/python scripts/record_injection_replies.py \
         --out tests/fixtures/replies/injection.json [--models qwen2.5-1.5b,...]

The 22 hostile texts of tests/fixtures/hostile/injections.json ride on films of the MovieLens
slice (tests/hostile.py). Each model is asked, as the product asks (grammar, validator, one
repair): MOPE for each hostile user (four hostile films and two plain ones in the history);
MAR's reasons for the hostile films as top items, three a call; and the order call on a list of
all of them with eight plain films. Every raw reply is kept (resumable per model and call);
tests/agents/test_injection_recorded.py replays them through the real parser, validator and
checker and asserts that no canary reaches a kept label, description, summary, shift or reason.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from m3rec.agents.mope import extract_profile
from m3rec.agents.reasons import draft_reasons
from m3rec.agents.reorder import order_candidates
from m3rec.data.histories import HistoryRule
from m3rec.errors import StructuredOutputError
from m3rec.llm.factory import build_backend
from m3rec.llm.registry import MODELS
from m3rec.settings import LLMSettings, Settings
from tests.corpus import call_inputs
from tests.hostile import hostile_dataset, hostile_users, order_inputs, reasons_batches
from tests.replies import Keeping


def asks(model: str) -> dict[str, Any]:
    """Return each call of the recording, by name, as a function of a backend."""
    data, inputs = hostile_dataset(), call_inputs()
    calls: dict[str, Any] = {}
    for user in hostile_users():
        history = HistoryRule(n_items=20).history(data, user)
        calls[f"mope/{user}"] = lambda llm, u=user, h=history: extract_profile(
            llm, u, h, model_name=model
        )
    for n, batch in enumerate(reasons_batches()):
        calls[f"reasons/{n}"] = lambda llm, b=batch: draft_reasons(
            llm, data.items, b, inputs.profile, inputs.history
        )
    calls["order/all"] = lambda llm: order_candidates(llm, *order_inputs())
    return calls


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    recorded = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for model in args.models.split(","):
        llm = build_backend(Settings(llm=LLMSettings(model=model)))
        for name, call in asks(model).items():
            key = f"{model}/{name}"
            if key in recorded:
                continue
            keeping = Keeping(llm)
            started = time.perf_counter()
            try:
                call(keeping)
                outcome = "value"
            except StructuredOutputError as exc:
                outcome = f"failed: {exc}"[:300]
            recorded[key] = {"raw": keeping.raw, "outcome": outcome}
            args.out.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")
            print(f"{key}: {time.perf_counter() - started:.0f} s, {outcome[:60]}", flush=True)
        llm.close()


if __name__ == "__main__":
    main()
