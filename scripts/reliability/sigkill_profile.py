"""`m3rec profile` killed with SIGKILL at random points, then run again: is the store whole?

Each trial starts a profile batch of USERS users against an OpenAI-compatible replay server on
loopback (the default model's recorded reply, re-keyed to each history), kills it with SIGKILL
after a random delay drawn from the trial's seed, checks the store as the kill left it, runs the
batch again to the end and checks it once more:
  - the store opens, and SQLite's integrity check of its file passes;
  - every stored profile has all its notes (ranks 0..n-1); notes whose profile record the kill
    cut off are counted (no read returns them);
  - after the rerun, no note lacks its profile, every user has exactly one profile, and the
    rerun asked the server only for the users the kill left without one.
Usage (from the repository root):
  PYTHONPATH=. .venv/bin/python scripts/reliability/sigkill_profile.py --trials 24 --users 24 \
      --delay-s 0.3 --longest-s 24 --out runs/reliability/sigkill.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.llm.wire import ChatReplayServer
from tests.replies import AnyUserReplies


def profile_command(server: ChatReplayServer, store: Path, users: int) -> list[str]:
    return [
        sys.executable, "-m", "m3rec.cli", "profile", "--users", str(users), "--stage", "test",
        "--cold-k", "1", "--backend", "openai", "--base-url", server.base_url,
        "--store", str(store), "--json",
    ]  # fmt: skip


def inspect_store(store: Path) -> dict[str, Any]:
    """Open the store in this process and check what a kill could have broken."""
    from m3rec.settings import StoreSettings
    from m3rec.store.chroma import open_store

    found: dict[str, Any] = {"integrity": "no file"}
    database = store / "chroma.sqlite3"
    if database.is_file():
        with sqlite3.connect(database) as connection:
            found["integrity"] = connection.execute("PRAGMA integrity_check").fetchone()[0]
    opened = open_store(StoreSettings(path=store))
    profiles = opened._profiles.get(include=["metadatas"])
    notes = opened._notes.get(include=["metadatas"])
    ranks: dict[str, list[int]] = {}
    for meta in notes["metadatas"]:
        ranks.setdefault(str(meta["profile_key"]), []).append(int(meta["rank"]))
    keys = set(profiles["ids"])
    found["profiles"] = len(keys)
    found["users"] = Counter(str(m["user_id"]) for m in profiles["metadatas"])
    found["profiles_missing_notes"] = sorted(
        k
        for k in keys
        if sorted(ranks.get(k, [])) != list(range(len(ranks.get(k, [])))) or k not in ranks
    )
    found["notes_without_profile"] = sorted(k for k in ranks if k not in keys)
    return found


def trial(n: int, seed: int, users: int, delay_s: float, longest_s: float) -> dict[str, Any]:
    rng = random.Random(seed * 1000 + n)
    kill_after = rng.uniform(0.5, longest_s)
    env = {**os.environ, "M3REC_OPENAI__MAX_RETRIES": "0"}
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store"
        server = ChatReplayServer(AnyUserReplies(), delay_s=delay_s)
        try:
            started = time.monotonic()
            batch = subprocess.Popen(
                profile_command(server, store, users), env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                batch.wait(timeout=kill_after)
                finished_first = True
            except subprocess.TimeoutExpired:
                batch.send_signal(signal.SIGKILL)
                batch.wait()
                finished_first = False
            killed_at = time.monotonic() - started
            asked_first = server.requests
            after_kill = inspect_store(store) if store.exists() else {"profiles": 0, "users": {}}
            rerun = subprocess.run(
                profile_command(server, store, users), env=env, capture_output=True, text=True,
                timeout=600,
            )  # fmt: skip
            asked_rerun = server.requests - asked_first
            after_rerun = inspect_store(store)
        finally:
            server.close()
    summary = json.loads(rerun.stdout) if rerun.stdout.strip() else {}
    stored_before = after_kill.get("profiles", 0)
    checks = {
        "store_opened_after_kill": True,  # inspect_store would have raised
        "integrity_after_kill": after_kill.get("integrity") in ("ok", "no file", None),
        # Notes without their profile record may remain (a kill between the two writes); no
        # read finds them (`search_notes` skips them) and the rerun writes them again.
        "no_profile_missing_notes_after_kill": not after_kill.get("profiles_missing_notes"),
        "rerun_exit_0": rerun.returncode == 0,
        "every_user_once": after_rerun["profiles"] == users
        and all(c == 1 for c in after_rerun["users"].values())
        and len(after_rerun["users"]) == users,
        "whole_profiles_after_rerun": not after_rerun["profiles_missing_notes"]
        and not after_rerun["notes_without_profile"],
        "rerun_asked_only_the_missing": asked_rerun == users - stored_before,
    }
    return {
        "trial": n,
        "kill_after_s": round(kill_after, 2),
        "killed_at_s": round(killed_at, 2),
        "finished_before_kill": finished_first,
        "requests_before_kill": asked_first,
        "profiles_after_kill": stored_before,
        "profiles_missing_notes_after_kill": len(after_kill.get("profiles_missing_notes", [])),
        "notes_without_profile_after_kill": len(after_kill.get("notes_without_profile", [])),
        "requests_rerun": asked_rerun,
        "rerun_cache_hits": summary.get("cache_hits"),
        "rerun_error": rerun.stderr.strip().splitlines()[-1:] if rerun.returncode else [],
        "checks": checks,
        "ok": all(checks.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--delay-s", type=float, default=0.2, help="the server's time per reply")
    parser.add_argument(
        "--longest-s", type=float, default=14.0, help="kill delays are drawn from 0.5 s to this"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = []
    for n in range(args.trials):
        row = trial(n, args.seed, args.users, args.delay_s, args.longest_s)
        rows.append(row)
        failed = ", ".join(name for name, ok in row["checks"].items() if not ok)
        print(
            f"trial {n}: killed at {row['killed_at_s']} s, {row['profiles_after_kill']} stored, "
            f"rerun asked {row['requests_rerun']}: {'ok' if row['ok'] else 'FAILED ' + failed}",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "command": " ".join(sys.argv),
        "settings": vars(args) | {"out": str(args.out)},
        "trials": len(rows),
        "passed": sum(r["ok"] for r in rows),
        "killed_mid_batch": sum(not r["finished_before_kill"] for r in rows),
        "rows": rows,
    }
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"{result['passed']}/{result['trials']} trials passed; {args.out}")


if __name__ == "__main__":
    main()
