"""Measure a local model's prompt and generation speed through m3rec's llama.cpp backend.

Run: .venv/bin/python scripts/bench_llm.py [--models qwen2.5-1.5b,qwen2.5-0.5b,smollm2-135m]
Each model reads a ~500-token prompt (a MovieLens history) and writes 128 tokens, three times;
the medians are printed as JSON. Prompt speed is measured on a fresh context (no prefix reuse).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from m3rec.agents.mope import format_history
from m3rec.data import bundled_catalogue_path, load_dataset
from m3rec.demo import recent_history
from m3rec.llm.base import ChatMessage
from m3rec.llm.llamacpp import LlamaCppBackend, available_cores
from m3rec.llm.registry import MODELS, require_verified
from m3rec.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="qwen2.5-1.5b,qwen2.5-0.5b,smollm2-135m")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    settings = Settings()
    history = format_history(recent_history(load_dataset(bundled_catalogue_path()), "100", 14))
    results = []
    for name in args.models.split(","):
        path = require_verified(MODELS[name], settings.paths.model_dir)
        backend = LlamaCppBackend(path, model_name=name, n_ctx=2048, n_threads=args.threads)
        prompt_speeds, gen_speeds = [], []
        for run in range(3):
            backend._llama.reset()  # no prefix reuse between runs
            messages = [
                ChatMessage("user", f"Run {run}. Describe this viewer at length:\n{history}")
            ]
            # Prompt alone: generate one token.
            started = time.perf_counter()
            first = backend.complete(messages, max_tokens=1)
            prompt_speeds.append(first.prompt_tokens / (time.perf_counter() - started))
            # Generation: the prompt is now cached, so the time is almost all decoding.
            started = time.perf_counter()
            reply = backend._llama.create_chat_completion(
                messages=[m.as_dict() for m in messages],
                max_tokens=128,
                temperature=0.0,
            )
            elapsed = time.perf_counter() - started
            gen_speeds.append(reply["usage"]["completion_tokens"] / elapsed)
        backend.close()
        results.append(
            {
                "model": name,
                "threads": backend.n_threads,
                "prompt_tokens": first.prompt_tokens,
                "prompt_tok_s": round(statistics.median(prompt_speeds), 1),
                "generation_tok_s": round(statistics.median(gen_speeds), 1),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    print(json.dumps({"cores": available_cores(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
