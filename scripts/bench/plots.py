"""Plot HR@10 and NDCG@10 by cold_k for every model of the harness runs, one PNG per dataset
and protocol (mean ± std over seeds), from the finished runs of scripts/bench/run_one.sh
(runs/bench/out/DATASET/*/results.json).

Usage: .venv/bin/python scripts/bench/plots.py [OUT_DIR]   (default: bench/plots)
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "runs" / "bench" / "out"
METRICS = ("HR@10", "NDCG@10")


def collect() -> dict[tuple[str, str], dict[str, dict[int, tuple[float, float]]]]:
    """Return (dataset, protocol) -> model -> cold_k -> (mean, std) per metric pair."""
    found: dict = defaultdict(lambda: defaultdict(dict))
    for path in sorted(RUNS.glob("*/*/results.json")):
        for row in json.loads(path.read_text())["results"]:
            key = (path.parent.parent.name, row["protocol"])
            found[key][row["model"]][row["cold_k"]] = {
                m: (row["metrics"][m], row["std"][m], len(row["seeds"])) for m in METRICS
            }
    return found


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "plots"
    out.mkdir(parents=True, exist_ok=True)
    for (dataset, protocol), models in sorted(collect().items()):
        fig, axes = plt.subplots(1, len(METRICS), figsize=(10, 3.8))
        for ax, metric in zip(axes, METRICS, strict=True):
            for model, by_k in sorted(models.items()):
                ks = sorted(by_k)
                means = [by_k[k][metric][0] for k in ks]
                stds = [by_k[k][metric][1] for k in ks]
                seeds = min(by_k[k][metric][2] for k in ks)
                ax.errorbar(
                    ks, means, yerr=stds, marker="o", capsize=3, label=f"{model} ({seeds}s)"
                )
            ax.set_xticks([0, 1, 2], ["all history", "cold k=1", "cold k=2"])
            ax.set_title(f"{metric}, {protocol}")
            ax.grid(alpha=0.3)
        axes[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
        fig.suptitle(f"{dataset}: mean ± std over seeds (s = seeds)")
        fig.tight_layout()
        path = out / f"{dataset}-{protocol}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
