"""Plot HR@10 and NDCG@10 by cold_k for every model of the harness runs, one PNG per dataset
and protocol (mean ± std over seeds), from the finished runs of scripts/bench/run_one.sh
(runs/bench/out/DATASET/*/results.json). A (dataset, protocol, model, cold_k) that no run on
this machine has is read from BENCHMARKS.md's result tables ("#### DATASET, PROTOCOL, cold_k K",
which scripts/bench/tables.py wrote from such runs), so a plot keeps the rows of runs made on
an earlier machine.

Usage: .venv/bin/python scripts/bench/plots.py [OUT_DIR]   (default: bench/plots)
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "runs" / "bench" / "out"
METRICS = ("HR@10", "NDCG@10")
# Published figures on the same data at cold_k 0, marked beside the curves: (source, metric, value).
PEERS = {
    ("amazon-beauty", "sampled"): [
        ("DLFS-Rec (published)", "HR@10", 0.6056),
        ("DLFS-Rec (published)", "NDCG@10", 0.4166),
        ("S3-Rec (its repository)", "HR@10", 0.5687),
        ("S3-Rec (its repository)", "NDCG@10", 0.3816),
        ("M-LLM3Rec paper (protocol unpublished)", "HR@10", 0.709),
    ],
    ("amazon-sports", "sampled"): [
        ("DLFS-Rec (published)", "HR@10", 0.6029),
        ("S3-Rec (published)", "HR@10", 0.5614),
        ("M-LLM3Rec paper (protocol unpublished)", "HR@10", 0.5734),
    ],
}
PEER_MARKERS = {"DLFS-Rec": "*", "S3-Rec": "P", "M-LLM3Rec": "X"}
HEADING = re.compile(r"^#### ([\w.-]+), (sampled|full), cold_k (\d+)\s*$")


def tabled(text: str) -> dict:
    """Return (dataset, protocol) -> model -> cold_k -> metric -> (mean, std, seeds), from the
    result tables of TEXT (BENCHMARKS.md)."""
    found: dict = defaultdict(lambda: defaultdict(dict))
    key, columns = None, []
    for line in text.splitlines():
        if heading := HEADING.match(line):
            key, columns = heading.groups(), []
            continue
        if key is None or not line.startswith("|"):
            key = key if not line.strip() or line.startswith("|") else None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == "model":
            columns = cells
        elif columns and not set(cells[0]) <= set("-:"):
            row = dict(zip(columns, cells, strict=True))
            mean_std = {m: row[m].split("±") for m in METRICS}
            found[key[:2]][row["model"].strip("*")][int(key[2])] = {
                m: (float(v[0]), float(v[1]) if len(v) > 1 else 0.0, int(row["seeds"]))
                for m, v in mean_std.items()
            }
    return found


def collect() -> dict[tuple[str, str], dict[str, dict[int, tuple[float, float]]]]:
    """Return (dataset, protocol) -> model -> cold_k -> (mean, std) per metric pair: this
    machine's runs, and the tables for what they lack."""
    found = tabled((ROOT / "BENCHMARKS.md").read_text())
    for path in sorted(RUNS.glob("*/*/results.json")):
        for row in json.loads(path.read_text())["results"]:
            key = (path.parent.parent.name, row["protocol"])
            found[key][series(row["model"], path.parent.name)][row["cold_k"]] = {
                m: (row["metrics"][m], row["std"][m], len(row["seeds"])) for m in METRICS
            }
    return found


def series(model: str, run: str) -> str:
    """Return the plot's name for MODEL run in folder RUN: MODEL, and the tag that run_one.sh's
    TAG put in the folder's name (`mote-members3-k0`: `mote members3`) after it."""
    tag = re.sub(r"-k[\d_]+$", "", run).removeprefix(model.split("@")[0]).strip("-")
    return f"{model} {tag}" if tag else model  # a variant (mote@near) keeps its own name


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
            for source, peer_metric, value in PEERS.get((dataset, protocol), []):
                if peer_metric == metric:
                    marker = PEER_MARKERS[source.split()[0]]
                    ax.plot([-0.08], [value], marker, color="black", ms=9, label=source)
            ax.set_xticks([0, 1, 2], ["all history", "cold k=1", "cold k=2"])
            ax.set_title(f"{metric}, {protocol}")
            ax.grid(alpha=0.3)
        legend: dict = {}
        for ax in axes:
            legend.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
        axes[-1].legend(
            legend.values(), legend.keys(), fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5)
        )
        fig.suptitle(f"{dataset}: mean ± std over seeds (s = seeds)")
        fig.tight_layout()
        path = out / f"{dataset}-{protocol}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
