"""A bounded load test: CLIENTS processes run `recommend --no-llm` (the graph in process, as the
CLI runs it) against one Chroma server on loopback for SECONDS, on the bundled catalogue.

Set-up, before the clock starts: a real `chroma run` in a temporary folder; PROFILED users'
product-rule profiles written into it by `m3rec profile` against an OpenAI-compatible replay
server (the default model's recorded reply, re-keyed to each history); the catalogue's MOTE
checkpoint (built once, cached as `recommend` caches it). Each client then builds its own
pipeline, asks once to warm it, and, from a shared start time, asks for random profiled users
(its seed), so every request runs MAR's alignment, until the window ends.
Reported: requests, throughput, p50/p90/p99/max latency, errors (with the first few messages).
Usage (from the repository root):
  PYTHONPATH=. .venv/bin/python scripts/reliability/load_recommend.py --clients 8 --seconds 60 \
      --out runs/reliability/load.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.conftest import ChromaServer
from tests.llm.wire import ChatReplayServer
from tests.replies import AnyUserReplies


def reading_settings(store_url: str, llm_url: str) -> Any:
    """The settings of a client that reads the profiles `write_profiles` stored: the same model
    identity (the replay server's URL), though no LLM is called."""
    from m3rec.settings import LLMSettings, OpenAISettings, Settings, StoreSettings

    return Settings(
        llm=LLMSettings(backend="openai"),
        openai=OpenAISettings(base_url=llm_url),
        store=StoreSettings(url=store_url),
    )


def client(
    n: int,
    url: str,
    llm_url: str,
    users: list[str],
    start_at: float,
    seconds: float,
    seed: int,
    queue: Any,
) -> None:
    from m3rec.artifacts import ensure_checkpoint
    from m3rec.data import bundled_catalogue_path, load_dataset
    from m3rec.recommending import RecommendPipeline

    settings = reading_settings(url, llm_url)
    dataset = load_dataset(bundled_catalogue_path())
    checkpoint = ensure_checkpoint(settings, dataset).path
    pipeline = RecommendPipeline(settings, dataset, checkpoint, top_k=10, use_llm=False)
    rng = random.Random(seed * 100 + n)
    latencies: list[float] = []
    errors: list[str] = []
    profiled = 0
    pipeline.recommend(users[0])  # warm: the first call may build the server's item index
    time.sleep(max(0.0, start_at - time.time()))
    end = start_at + seconds
    while time.time() < end:
        user = rng.choice(users)
        began = time.perf_counter()
        try:
            answer = pipeline.recommend(user)
            assert len(answer.ranked) == 10
            profiled += answer.profile is not None
        except Exception as exc:  # counted and reported, never fatal to the run
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
        latencies.append(time.perf_counter() - began)
    pipeline.close()
    queue.put({"client": n, "latencies": latencies, "errors": errors, "with_profile": profiled})


def write_profiles(url: str, users: int) -> tuple[dict[str, Any], str]:
    """Store USERS' profiles on the Chroma server at URL; return the batch summary and the
    LLM URL they are keyed by."""
    replay = ChatReplayServer(AnyUserReplies())
    try:
        command = [
            sys.executable, "-m", "m3rec.cli", "profile", "--users", str(users),
            "--backend", "openai", "--base-url", replay.base_url, "--store-url", url, "--json",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        return dict(json.loads(done.stdout)), replay.base_url
    finally:
        replay.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--profiled", type=int, default=100, help="users given a stored profile")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup-s", type=float, default=60.0, help="time for clients to load")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    from m3rec.artifacts import ensure_checkpoint
    from m3rec.data import bundled_catalogue_path, load_dataset
    from m3rec.settings import Settings

    ensure_checkpoint(Settings(), load_dataset(bundled_catalogue_path()))  # before any client
    with tempfile.TemporaryDirectory() as folder:
        server = ChromaServer(Path(folder) / "chroma")
        try:
            profiles, llm_url = write_profiles(server.url, args.profiled)
            users = [row["user_id"] for row in profiles["users"]]
            load_before = os.getloadavg()
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            start_at = time.time() + args.warmup_s
            workers = [
                ctx.Process(
                    target=client,
                    args=(n, server.url, llm_url, users, start_at, args.seconds, args.seed, queue),
                )
                for n in range(args.clients)
            ]
            for worker in workers:
                worker.start()
            results = [queue.get(timeout=args.warmup_s + args.seconds + 600) for _ in workers]
            for worker in workers:
                worker.join()
        finally:
            server.stop()
    latencies = [t for r in results for t in r["latencies"]]
    errors = [e for r in results for e in r["errors"]]
    result = {
        "command": " ".join(sys.argv),
        "settings": vars(args) | {"out": str(args.out)},
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },
        "profiles_written": profiles.get("profiles"),
        "requests": len(latencies),
        "requests_with_profile": sum(r["with_profile"] for r in results),
        "errors": len(errors),
        "first_errors": errors[:5],
        "throughput_per_s": round(len(latencies) / args.seconds, 2),
        "latency_ms": {
            "p50": round(1000 * percentile(latencies, 0.5), 1),
            "p90": round(1000 * percentile(latencies, 0.9), 1),
            "p99": round(1000 * percentile(latencies, 0.99), 1),
            "max": round(1000 * max(latencies), 1),
            "mean": round(1000 * statistics.fmean(latencies), 1),
        },
        "per_client_requests": [
            len(r["latencies"]) for r in sorted(results, key=lambda r: r["client"])
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps({k: result[k] for k in ("requests", "errors", "throughput_per_s", "latency_ms")})
    )


if __name__ == "__main__":
    main()
