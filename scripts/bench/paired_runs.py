"""Paired test of one model between two `m3rec evaluate` output folders (a new configuration
against an old one): Wilcoxon signed-rank on per-user NDCG@10 over (seed, user) pairs.

Usage: .venv/bin/python scripts/bench/paired_runs.py MODEL NEW_DIR OLD_DIR
Prints one markdown row per (protocol, cold_k) the two runs share.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from m3rec.ranking.metrics import paired_test


def per_user(folder: Path, model: str) -> dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]]:
    with np.load(folder / "per_user.npz") as z:
        return {
            (prot, int(k), int(seed)): (z[key], z[key.replace("|users", "|NDCG@10")])
            for key in z.files
            for name, prot, k, seed, what in [key.split("|")]
            if name == model and what == "users"
        }


def means(folder: Path, model: str) -> dict[tuple[str, int], dict[str, float]]:
    doc = json.loads((folder / "results.json").read_text())
    return {
        (r["protocol"], r["cold_k"]): r["metrics"] for r in doc["results"] if r["model"] == model
    }


def main() -> None:
    model, new, old = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    a, b = per_user(new, model), per_user(old, model)
    ma, mb = means(new, model), means(old, model)
    print(
        "| protocol | cold_k | HR@10 new / old | NDCG@10 new / old | change | pairs | Wilcoxon p |"
    )
    print("|---|---|---|---|---|---|---|")
    for prot, k in sorted({(p, k) for p, k, _ in a} & {(p, k) for p, k, _ in b}):
        seeds = sorted(s for p, kk, s in a if (p, kk) == (prot, k) and (p, kk, s) in b)
        for s in seeds:
            if not np.array_equal(a[prot, k, s][0], b[prot, k, s][0]):
                raise SystemExit(f"{prot} cold_k {k} seed {s}: the runs evaluated other users")
        x = np.concatenate([a[prot, k, s][1] for s in seeds])
        y = np.concatenate([b[prot, k, s][1] for s in seeds])
        test = paired_test(x, y)
        hr = f"{ma[prot, k]['HR@10']:.4f} / {mb[prot, k]['HR@10']:.4f}"
        nd = f"{ma[prot, k]['NDCG@10']:.4f} / {mb[prot, k]['NDCG@10']:.4f}"
        change = f"{100 * (x.mean() / y.mean() - 1):+.1f}%"
        print(f"| {prot} | {k} | {hr} | {nd} | {change} | {len(x)} | {test['p_value']:.2g} |")


if __name__ == "__main__":
    main()
