"""Write evaluation results: JSON, a Markdown table and PNG charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from m3rec.eval.harness import PAIRED_METRIC, EvaluationResult
from m3rec.ranking.metrics import METRICS, paired_test

CHART_METRICS = ("HR@10", "NDCG@10")


def markdown_table(doc: dict[str, Any]) -> str:
    """Return the results as a Markdown table, mean ± std over seeds."""
    head = [
        "model",
        "protocol",
        "cold_k",
        *METRICS,
        "users",
        "seeds",
        "fit s",
        "p vs best",
        "p vs base",
    ]
    lines = [f"### {doc['dataset']}", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for row in doc["results"]:
        cells = [row["model"] + (" (best baseline)" if row.get("best_baseline") else "")]
        cells += [row["protocol"], str(row["cold_k"])]
        cells += [f"{row['metrics'][m]:.4f} ± {row['std'][m]:.4f}" for m in METRICS]
        test = row.get("paired_test")
        p = f"{test['p_value']:.2g} ({test['against']})" if test else ""
        base = row.get("paired_test_base")
        p_base = f"{base['p_value']:.2g} ({base['against']})" if base else ""
        cells += [str(row["n_users"]), str(len(row["seeds"])), f"{row['fit_seconds']:.1f}"]
        cells += [p, p_base]
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


def write_per_user(result: EvaluationResult, out: Path) -> Path:
    """Save each run's users and per-user NDCG@10, so runs made apart can be paired later."""
    arrays: dict[str, np.ndarray] = {}
    for r in result.records:
        for protocol, metrics in r.per_user.items():
            key = f"{r.model}|{protocol}|{r.cold_k}|{r.seed}"
            arrays[f"{key}|users"] = r.users
            arrays[f"{key}|{PAIRED_METRIC}"] = metrics[PAIRED_METRIC]
    path = out / "per_user.npz"
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # numpy stubs: kwargs are arrays
    return path


def per_user_values(
    files: list[Path], model: str, protocol: str, cold_k: int
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Return MODEL's (users, per-user PAIRED_METRIC) by seed from per_user.npz files."""
    values: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for f in files:
        with np.load(f) as z:
            for key in z.files:
                name, prot, k, seed, what = key.split("|")
                if name == model and prot == protocol and int(k) == cold_k and what == "users":
                    base = key.rsplit("|", 1)[0]
                    values[int(seed)] = (z[key], z[f"{base}|{PAIRED_METRIC}"])
    return values


def paired_values(
    a: dict[int, tuple[np.ndarray, np.ndarray]], b: dict[int, tuple[np.ndarray, np.ndarray]]
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Return the common seeds and the two runs' values over their (seed, user) pairs."""
    seeds = sorted(set(a) & set(b))
    for seed in seeds:
        if not np.array_equal(a[seed][0], b[seed][0]):
            raise ValueError(f"seed {seed}: the two runs evaluated different users")

    def joined(values: dict[int, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        return np.concatenate([values[s][1] for s in seeds]) if seeds else np.zeros(0)

    return seeds, joined(a), joined(b)


def paired_across(
    files: list[Path], model: str, against: str, protocol: str, cold_k: int
) -> dict[str, Any]:
    """Run the paired test between two models saved in per_user.npz files of separate runs."""
    seeds, a, b = paired_values(
        per_user_values(files, model, protocol, cold_k),
        per_user_values(files, against, protocol, cold_k),
    )
    if not seeds:
        raise ValueError(f"no common seeds for {model} and {against} ({protocol}, cold_k {cold_k})")
    test = paired_test(a, b)
    return {"against": against, "metric": PAIRED_METRIC, "seeds": seeds, **test}


def write_report(doc: dict[str, Any], out: Path) -> list[Path]:
    """Write results.json, results.md and the charts into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "results.json"
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    md_path = out / "results.md"
    md_path.write_text(markdown_table(doc))
    return [json_path, md_path, *write_charts(doc, out)]
