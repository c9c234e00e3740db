"""Summarise the MOPE benchmark store (scripts/bench_mope.sh) as a Markdown table.

Run: .venv/bin/python scripts/bench_mope_report.py [runs/bench-mope]
Rates come from every profile and failure in the store, grouped by dataset and cold_k; profiles
per hour are 3600 / (mean LLM seconds per profile), so model loading and waits are left out.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from m3rec.settings import StoreSettings
from m3rec.store import open_store


def peak_rss_mb(folder: Path) -> str:
    peaks = [
        int(m.group(1))
        for f in folder.glob("*.time")
        if (m := re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read_text()))
    ]
    return f"{max(peaks) / 1024:,.0f}" if peaks else "?"


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/bench-mope")
    store = open_store(StoreSettings(path=folder / "store"))
    groups: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for profile in store.list_profiles():
        meta = profile.meta
        groups[(str(meta["dataset"]), int(meta["cold_k"]))].append(dict(meta))
    failures: dict[tuple[str, int], int] = defaultdict(int)
    for meta in store.list_failures():
        failures[(str(meta.get("dataset")), int(meta.get("cold_k", -1)))] += 1
    print(
        "| dataset | cold_k | users | first-try valid | valid after repair | valid evidence ids "
        "| LLM calls / profile | prompt / generated tokens per profile | s / profile (median) "
        "| profiles / hour |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (dataset, cold_k), metas in sorted(groups.items()):
        failed = failures[(dataset, cold_k)]
        users = len(metas) + failed
        cited = dropped = 0
        for meta in metas:
            profile = json.loads(str(meta["profile_json"]))
            cited += profile["cited_evidence"]
            dropped += profile["dropped_evidence"]
        seconds = [float(m["seconds"]) for m in metas]
        print(
            f"| {dataset} | {cold_k or 'full'} | {users} "
            f"| {sum(bool(m['first_try_valid']) for m in metas) / users:.1%} "
            f"| {len(metas) / users:.1%} | {1 - dropped / max(cited, 1):.1%} "
            f"| {statistics.mean(int(m['llm_calls']) for m in metas):.2f} "
            f"| {statistics.mean(int(m['prompt_tokens']) for m in metas):.0f} / "
            f"{statistics.mean(int(m['completion_tokens']) for m in metas):.0f} "
            f"| {statistics.median(seconds):.1f} | {3600 / statistics.mean(seconds):.0f} |"
        )
    print(f"\nPeak resident memory of one `m3rec profile` run: {peak_rss_mb(folder)} MB")


if __name__ == "__main__":
    main()
