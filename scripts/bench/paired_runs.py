"""Paired test of one model between two `m3rec evaluate` output folders (a new configuration
against an old one): Wilcoxon signed-rank on per-user NDCG@10 over (seed, user) pairs.

Usage: .venv/bin/python scripts/bench/paired_runs.py MODEL NEW_DIR OLD_DIR
Prints one markdown row per (protocol, cold_k) the two runs share.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from m3rec.eval.report import paired_values, per_user_values
from m3rec.ranking.metrics import paired_test


def means(folder: Path, model: str) -> dict[tuple[str, int], dict[str, float]]:
    doc = json.loads((folder / "results.json").read_text())
    return {
        (r["protocol"], r["cold_k"]): r["metrics"] for r in doc["results"] if r["model"] == model
    }


def main() -> None:
    model, new, old = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    ma, mb = means(new, model), means(old, model)
    print(
        "| protocol | cold_k | HR@10 new / old | NDCG@10 new / old | change | pairs | Wilcoxon p |"
    )
    print("|---|---|---|---|---|---|---|")
    for prot, k in sorted(set(ma) & set(mb)):
        _, x, y = paired_values(
            per_user_values([new / "per_user.npz"], model, prot, k),
            per_user_values([old / "per_user.npz"], model, prot, k),
        )
        test = paired_test(x, y)
        hr = f"{ma[prot, k]['HR@10']:.4f} / {mb[prot, k]['HR@10']:.4f}"
        nd = f"{ma[prot, k]['NDCG@10']:.4f} / {mb[prot, k]['NDCG@10']:.4f}"
        change = f"{100 * (x.mean() / y.mean() - 1):+.1f}%"
        print(f"| {prot} | {k} | {hr} | {nd} | {change} | {len(x)} | {test['p_value']:.2g} |")


if __name__ == "__main__":
    main()
