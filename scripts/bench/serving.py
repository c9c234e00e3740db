"""Profiles per hour against local OpenAI-compatible llama.cpp servers, by concurrency.

Each configuration starts SERVERS `python -m llama_cpp.server` processes (THREADS threads each)
with MODEL, behind a round-robin proxy on one URL (as a cluster behind a load balancer), and runs
`m3rec profile --users N --stage test --cold-k 2 --concurrency C` on the bundled catalogue into a
fresh store. Reported per configuration: wall time, users per hour, LLM calls per hour (MOPE
asks again after a rejected reply), generated tokens per second.
Usage (from the repository root; give it quiet cores):
  PYTHONPATH=. .venv/bin/python scripts/bench/serving.py --model smollm2-135m --users 12 \
      --configs 1x2:1 1x2:2 2x1:2 2x1:4 --out runs/bench/serving.json
(`SxT:C`: S servers of T threads, C requests in flight.)
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from m3rec.llm.registry import MODELS
from m3rec.settings import Settings
from tests.conftest import free_port, wait_for_port


class RoundRobin:
    """One URL in front of several servers: each request goes to the next."""

    def __init__(self, upstreams: list[str]) -> None:
        turn = itertools.cycle(upstreams)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    upstream = next(turn)
                request = urllib.request.Request(
                    upstream + self.path, data=body, headers={"Content-Type": "application/json"}
                )
                try:
                    with urllib.request.urlopen(request, timeout=600) as reply:
                        status, data = reply.status, reply.read()
                except urllib.error.HTTPError as exc:
                    status, data = exc.code, exc.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_server(model: Path, threads: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", "4096", "--n_threads", str(threads), "--seed", "0",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, process)
    return process, f"http://127.0.0.1:{port}"


def run(model: Path, servers: int, threads: int, concurrency: int, users: int) -> dict[str, Any]:
    started_servers = [start_server(model, threads) for _ in range(servers)]
    proxy = RoundRobin([url for _, url in started_servers])
    try:
        with tempfile.TemporaryDirectory() as store:
            command = [
                sys.executable, "-m", "m3rec.cli", "profile", "--users", str(users),
                "--stage", "test", "--cold-k", "2", "--backend", "openai",
                "--base-url", proxy.url, "--concurrency", str(concurrency),
                "--store", store, "--json",
            ]  # fmt: skip
            env = {**os.environ, "M3REC_OPENAI__TIMEOUT_S": "600"}
            began = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
            seconds = time.perf_counter() - began
    finally:
        proxy.close()
        for process, _ in started_servers:
            process.kill()
            process.wait()
    summary = json.loads(done.stdout) if done.stdout.strip() else {"error": done.stderr[-300:]}
    return {
        "servers": servers,
        "threads_each": threads,
        "concurrency": concurrency,
        "users": users,
        "wall_s": round(seconds, 1),
        "users_per_hour": round(users * 3600 / seconds, 1),
        "llm_calls": summary.get("llm_calls"),
        "calls_per_hour": round((summary.get("llm_calls") or 0) * 3600 / seconds, 1),
        "generated_tokens_per_s": round((summary.get("completion_tokens") or 0) / seconds, 2),
        "profiles": summary.get("profiles"),
        "failed": summary.get("failed"),
        "load_after": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", choices=sorted(MODELS))
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--configs", nargs="+", default=["1x2:1", "1x2:2", "2x1:2", "2x1:4"])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    model = Settings().paths.model_dir / MODELS[args.model].filename
    rows = []
    for config in args.configs:
        shape, concurrency = config.split(":")
        servers, threads = (int(x) for x in shape.split("x"))
        row = run(model, servers, threads, int(concurrency), args.users)
        rows.append(row)
        print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "command": " ".join(sys.argv),
        "model": args.model,
        "cpus": os.cpu_count(),
        "rows": rows,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
