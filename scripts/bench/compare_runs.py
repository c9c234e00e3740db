"""Compare two benchmark folders of scripts/bench/before_after.sh: metric means and per-user values.

Usage: python scripts/bench/compare_runs.py runs/before runs/after
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    before, after = Path(sys.argv[1]), Path(sys.argv[2])
    print("| model | protocol | HR@10 before / after | NDCG@10 before / after | per-user values |")
    print("|---|---|---|---|---|")
    for model in ("sasrec", "mote"):
        rows = [json.loads((d / f"{model}.json").read_text())["results"] for d in (before, after)]
        a, b = (np.load(d / model / "per_user.npz") for d in (before, after))
        same = set(a.files) == set(b.files) and all(np.array_equal(a[k], b[k]) for k in a.files)
        for old, new in zip(*rows, strict=True):
            hr = f"{old['metrics']['HR@10']:.4f} / {new['metrics']['HR@10']:.4f}"
            ndcg = f"{old['metrics']['NDCG@10']:.4f} / {new['metrics']['NDCG@10']:.4f}"
            verdict = "identical" if same else "differ"
            print(f"| {model} | {old['protocol']} | {hr} | {ndcg} | {verdict} |")


if __name__ == "__main__":
    main()
