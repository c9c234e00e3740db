"""Paired test of one model between two `m3rec evaluate` output folders (a new configuration
against an old one): Wilcoxon signed-rank on per-user NDCG@10 over (seed, user) pairs.

Usage: .venv/bin/python scripts/bench/paired_runs.py MODEL NEW_DIR OLD_DIR
Prints one markdown row per (protocol, cold_k) the two runs share. HR@10 is each run's mean over
all its seeds; NDCG@10 and the change are over the paired (seed, user) values only, the seeds
both runs have (shown), so runs with different seed counts are still compared like for like.
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
        "| protocol | cold_k | HR@10 new / old (all seeds) | paired NDCG@10 new / old | change "
        "| seeds paired | pairs | Wilcoxon p |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for prot, k in sorted(set(ma) & set(mb)):
        seeds, x, y = paired_values(
            per_user_values([new / "per_user.npz"], model, prot, k),
            per_user_values([old / "per_user.npz"], model, prot, k),
        )
        test = paired_test(x, y)
        hr = f"{ma[prot, k]['HR@10']:.4f} / {mb[prot, k]['HR@10']:.4f}"
        nd = f"{x.mean():.4f} / {y.mean():.4f}"
        change = f"{100 * (x.mean() / y.mean() - 1):+.1f}%"
        paired = ",".join(map(str, seeds))
        print(
            f"| {prot} | {k} | {hr} | {nd} | {change} | {paired} | {len(x)} "
            f"| {test['p_value']:.2g} |"
        )


if __name__ == "__main__":
    main()
