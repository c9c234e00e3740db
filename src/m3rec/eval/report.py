"""Write evaluation results: JSON, a Markdown table and PNG charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from m3rec.eval.metrics import METRICS

CHART_METRICS = ("HR@10", "NDCG@10")


def markdown_table(doc: dict[str, Any]) -> str:
    """Return the results as a Markdown table, mean ± std over seeds."""
    head = ["model", "protocol", "cold_k", *METRICS, "users", "seeds", "fit s", "p vs best"]
    lines = [f"### {doc['dataset']}", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for row in doc["results"]:
        cells = [row["model"] + (" (best baseline)" if row.get("best_baseline") else "")]
        cells += [row["protocol"], str(row["cold_k"])]
        cells += [f"{row['metrics'][m]:.4f} ± {row['std'][m]:.4f}" for m in METRICS]
        test = row.get("paired_test")
        p = f"{test['p_value']:.2g} ({test['against']})" if test else ""
        cells += [str(row["n_users"]), str(len(row["seeds"])), f"{row['fit_seconds']:.1f}", p]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_charts(doc: dict[str, Any], out: Path) -> list[Path]:
    """Draw one PNG per protocol: HR@10 and NDCG@10 per model, grouped by cold_k."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    paths = []
    rows = doc["results"]
    for protocol in dict.fromkeys(r["protocol"] for r in rows):
        sel = [r for r in rows if r["protocol"] == protocol]
        models = list(dict.fromkeys(r["model"] for r in sel))
        colds = list(dict.fromkeys(r["cold_k"] for r in sel))
        fig, axes = plt.subplots(1, len(CHART_METRICS), figsize=(5 * len(CHART_METRICS), 3.8))
        width = 0.8 / max(1, len(colds))
        for ax, metric in zip(np.atleast_1d(axes), CHART_METRICS, strict=True):
            x = np.arange(len(models))
            for j, k in enumerate(colds):
                by_model = {r["model"]: r for r in sel if r["cold_k"] == k}
                means = [by_model[m]["metrics"][metric] if m in by_model else 0 for m in models]
                stds = [by_model[m]["std"][metric] if m in by_model else 0 for m in models]
                label = "all history" if k == 0 else f"cold k={k}"
                ax.bar(x + j * width, means, width, yerr=stds, capsize=2, label=label)
            ax.set_xticks(x + width * (len(colds) - 1) / 2, models, rotation=30)
            ax.set_title(f"{metric}, {protocol}")
            ax.set_ylim(0, 1 if protocol == "sampled" else None)
            ax.legend(fontsize=7)
        fig.suptitle(f"{doc['dataset']}: mean ± std over seeds")
        fig.tight_layout()
        path = out / f"{doc['dataset']}_{protocol}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def write_report(doc: dict[str, Any], out: Path) -> list[Path]:
    """Write results.json, results.md and the charts into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "results.json"
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    md_path = out / "results.md"
    md_path.write_text(markdown_table(doc))
    return [json_path, md_path, *write_charts(doc, out)]
