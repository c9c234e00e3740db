"""Record the malformed-reply corpus: what each registry model writes for each structured call
when nothing holds it to the schema.

Run: .venv/bin/python scripts/record_malformed_replies.py \
         --out tests/fixtures/replies/malformed.json [--models qwen2.5-1.5b,...]

Each model is asked the four calls' real requests (tests/corpus.py: MOPE v2, traits, MAR's
reasons, the order call) with no grammar and no schema in the request, the way a server that
ignores `response_format` answers: at temperature 0 with a short token budget (cut off), at
temperature 0 with a long one, and at temperatures 0.7, 1.0 and 1.5 (seed 0). The raw text is
kept as the model wrote it; tests/llm/test_malformed_corpus.py replays every reply through
every call.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from m3rec.llm.factory import build_backend
from m3rec.llm.registry import MODELS
from m3rec.settings import LLMSettings, Settings
from tests.corpus import requests

# (name, max_tokens, temperature)
WAYS = (
    ("cut", 24, 0.0),
    ("free", 200, 0.0),
    ("warm", 120, 0.7),
    ("hot", 200, 1.0),
    ("wild", 120, 1.5),
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    recorded = json.loads(args.out.read_text()) if args.out.is_file() else {"replies": []}
    done = {(r["model"], r["call"], r["way"]) for r in recorded["replies"]}
    asked = requests()
    for model in args.models.split(","):
        llm = build_backend(Settings(llm=LLMSettings(model=model)))
        for call, messages in asked.items():
            for way, budget, temperature in WAYS:
                if (model, call, way) in done:
                    continue
                started = time.perf_counter()
                reply = llm.complete(messages, max_tokens=budget, temperature=temperature)
                recorded["replies"].append(
                    {
                        "model": model,
                        "call": call,
                        "way": way,
                        "max_tokens": budget,
                        "temperature": temperature,
                        "finish_reason": reply.finish_reason,
                        "completion_tokens": reply.completion_tokens,
                        "raw": reply.text,
                    }
                )
                args.out.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")
                seconds = time.perf_counter() - started
                print(f"{model} {call} {way}: {seconds:.0f} s {reply.text[:70]!r}", flush=True)
        llm.close()


if __name__ == "__main__":
    main()
