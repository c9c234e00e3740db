"""Write Amazon Sports as a generic-format dataset (interactions.csv + items.jsonl), for benchmarks.

The generic format is what a user's own data looks like; Sports is a domain no other benchmark
set covers. Its item text is weak (a phrase another model generated, no real titles): say so
beside any figure.
Run: .venv/bin/python scripts/bench/sports_generic.py ../shared/data/amazon-sports OUT
The output is derived data: keep it under runs/, never commit it.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def main(source: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (
        (source / "items_weak_text.jsonl").open(encoding="utf-8") as lines,
        (out / "items.jsonl").open("w", encoding="utf-8") as items,
    ):
        for line in lines:
            obj = json.loads(line)
            row = {"item_id": obj["asin"], "title": obj.get("short_text_idgenrec") or ""}
            items.write(json.dumps(row) + "\n")
    with (
        (source / "user_sequence.txt").open(encoding="utf-8") as lines,
        (out / "interactions.csv").open("w", encoding="utf-8", newline="") as interactions,
    ):
        writer = csv.writer(interactions)
        writer.writerow(["user_id", "item_id"])
        for line in lines:
            user, *sequence = line.split()
            writer.writerows([user, item] for item in sequence)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
