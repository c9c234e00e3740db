"""Write BENCHMARKS.md's generated tables from the runs of scripts/bench/run_one.sh.

Reads runs/bench/out/DATASET/MODEL-kK/{stdout.json,time.txt,per_user.npz} (and reruns of the
same commands in runs/bench/out2), and replaces the text between the markers
`<!-- tables:begin -->` and `<!-- tables:end -->` in BENCHMARKS.md; the prose around them is kept.
Usage: .venv/bin/python scripts/bench/tables.py [--drop-missing] [BENCHMARKS.md]
       .venv/bin/python scripts/bench/tables.py --print DATASET   (that dataset's tables, on stdout)

A row of the results or cost tables whose run this machine lacks (its runs/ went with an earlier
machine) is never dropped silently: the script names the missing rows and writes nothing, unless
--drop-missing says to drop them.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from m3rec.eval.baselines import BASELINES
from m3rec.eval.report import paired_across

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "runs" / "bench"
METRICS = ["HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20", "MRR"]
DATASETS = ("ml-1m", "amazon-beauty", "amazon-sports")
BEGIN, END = "<!-- tables:begin -->", "<!-- tables:end -->"
# SASRec anchors: (source, HR@10, NDCG@10).
ANCHORS = {
    "ml-1m": [("SASRec paper (Kang & McAuley 2018), ML-1M, 100 sampled negatives", 0.8245, 0.5905)],
    "amazon-beauty": [
        (
            "S3-Rec (Zhou et al. 2020) Table 2, same 5-core data and protocol, as quoted in the "
            "authors' repo aHuiWang/CIKM2020-S3Rec, reproduce/README.md, row 'SASRec in paper'",
            0.4696,
            0.3156,
        ),
        ("SASRec paper, Beauty (larger filtering, ~52k users: not the same data)", 0.4854, 0.3219),
    ],
}


def is_baseline(model: str) -> bool:
    return model in BASELINES


def commands() -> dict[tuple[str, str, str], tuple[str, str]]:
    """Return (seeds, extra args) of the latest done.log line for each (dataset, model, k)."""
    found = {}
    pattern = r"\S+ \S+ rc=(\d+) (\S+) (\S+) k=(\S+) seeds=(\d+) ?(.*)"
    log = RUNS / "done.log"
    for line in log.read_text().splitlines() if log.exists() else []:
        if m := re.match(pattern, line.strip()):
            found[(m[2], m[3], m[4])] = (m[5], m[6].strip())
    return found


def seconds(clock: str) -> float:
    return sum(float(v) * 60**i for i, v in enumerate(reversed(clock.split(":"))))


def load_runs(base: Path) -> list[dict]:
    runs = []
    for d in sorted(base.glob("*/*")):
        try:
            doc = json.loads((d / "stdout.json").read_text())
            timing = (d / "time.txt").read_text()
        except (OSError, json.JSONDecodeError):
            continue
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", timing)[1]
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing)[1]) / 1024
        cpu = sum(
            float(re.search(rf"{w} time \(seconds\): (\S+)", timing)[1]) for w in ("User", "System")
        )
        model, k = d.name.rsplit("-k", 1)
        runs.append(
            dict(
                ds=d.parent.name,
                model=model,
                k=k.replace("_", ","),
                doc=doc,
                dir=d,
                wall=wall,
                rss=rss,
                cpu=cpu,
            )
        )
    return runs


def command(run: dict, cmds: dict) -> str:
    seeds, extra = cmds.get((run["ds"], run["model"], run["k"]), ("?", ""))
    return " ".join(
        f"m3rec evaluate --data ../shared/data/{run['ds']} --models {run['model']} --protocol both "
        f"--cold-k {run['k']} --seeds {seeds} {extra} --out OUT --json".split()
    )


def results_tables(runs: list[dict]) -> list[str]:
    out = []
    for ds in DATASETS:
        for prot in ("sampled", "full"):
            for k in (0, 1, 2):
                rows = [
                    x
                    for r in runs
                    if r["ds"] == ds
                    for x in r["doc"]["results"]
                    if x["protocol"] == prot and x["cold_k"] == k
                ]
                if not rows:
                    continue
                out += [
                    f"\n#### {ds}, {prot}, cold_k {k}\n",
                    "| model | " + " | ".join(METRICS) + " | users | seeds |",
                    "|---" * (len(METRICS) + 3) + "|",
                ]
                for x in sorted(rows, key=lambda x: -x["metrics"]["NDCG@10"]):
                    name = x["model"] if is_baseline(x["model"]) else f"**{x['model']}**"
                    cells = [name] + [f"{x['metrics'][m]:.4f} ± {x['std'][m]:.4f}" for m in METRICS]
                    out.append(
                        "| " + " | ".join([*cells, str(x["n_users"]), str(len(x["seeds"]))]) + " |"
                    )
    return out


def cost_table(runs: list[dict], cmds: dict) -> list[str]:
    out = [
        "\n### Cost per run (one process per row)\n",
        "| dataset | model | cold_k | seeds | fit s per seed, wall (mean) | best epochs | process wall "
        "| process CPU s (user+sys) | peak RSS MB | command |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        rows = r["doc"]["results"]
        fits = sorted(
            {(x["cold_k"], round(x["fit_seconds"], 1), tuple(x["best_epochs"])) for x in rows}
        )
        fit = ", ".join(f"k{c}: {f}" for c, f, _ in fits)
        best = "; ".join(f"k{c}: " + ",".join(map(str, b)) for c, _, b in fits if any(b)) or "-"
        out.append(
            f"| {r['ds']} | {r['model']} | {r['k']} | {len(rows[0]['seeds'])} | {fit} | {best} "
            f"| {r['wall']} | {r['cpu']:.0f} | {r['rss']:.0f} | `{command(r, cmds)}` |"
        )
    return out


def anchor_table(runs: list[dict]) -> list[str]:
    out = [
        "\n### SASRec against the anchors (sampled protocol, cold_k 0)\n",
        "| dataset | ours HR@10 | anchor HR@10 | ratio | ours NDCG@10 | anchor NDCG@10 | ratio | within 5%? |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        if r["model"] != "sasrec":
            continue
        for x in r["doc"]["results"]:
            if x["protocol"] != "sampled" or x["cold_k"] != 0:
                continue
            h, n = x["metrics"]["HR@10"], x["metrics"]["NDCG@10"]
            for name, ah, an in ANCHORS[r["ds"]]:
                ok = abs(h / ah - 1) <= 0.05 and abs(n / an - 1) <= 0.05
                out.append(
                    f"| {r['ds']} ({name}) | {h:.4f} ± {x['std']['HR@10']:.4f} | {ah} | {h / ah:.3f} "
                    f"| {n:.4f} ± {x['std']['NDCG@10']:.4f} | {an} | {n / an:.3f} | {'yes' if ok else 'no'} |"
                )
    return out


def candidates(runs: list[dict], ds: str, prot: str, k: int) -> list[tuple[float, str, Path, dict]]:
    """Return (NDCG@10, model, per-user file, result row) of the runs with per-user values."""
    found = []
    for r in runs:
        # A rerun's per-user values stand in for a first run made before they existed.
        f = RUNS / "out2" / r["ds"] / r["dir"].name / "per_user.npz"
        if not f.exists():
            f = r["dir"] / "per_user.npz"
        if r["ds"] != ds or not f.exists():
            continue
        for x in r["doc"]["results"]:
            if x["protocol"] == prot and x["cold_k"] == k:
                found.append((x["metrics"]["NDCG@10"], x["model"], f, x))
    return sorted(found, key=lambda c: -c[0])


def best_baseline_row(runs: list[dict], ds: str, prot: str, k: int) -> dict | None:
    """Return the result row of the baseline with the highest mean NDCG@10, per-user or not."""
    rows = [
        x
        for r in runs
        if r["ds"] == ds
        for x in r["doc"]["results"]
        if x["protocol"] == prot and x["cold_k"] == k and is_baseline(x["model"])
    ]
    return max(rows, key=lambda x: x["metrics"]["NDCG@10"], default=None)


def versus_best(runs: list[dict], model: str) -> list[str]:
    out = [
        f"\n### {model} against the best baseline\n",
        "| dataset | protocol | cold_k | best baseline | its NDCG@10 | its HR@10 "
        f"| {model} NDCG@10 | {model} HR@10 | NDCG@10 change | seeds paired | Wilcoxon p |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ds in DATASETS:
        for prot in ("sampled", "full"):
            for k in (0, 1, 2):
                cands = candidates(runs, ds, prot, k)
                ours = [c for c in cands if c[1] == model]
                bx = best_baseline_row(runs, ds, prot, k)
                if not ours or bx is None:
                    continue
                nd, _, f, x = ours[0]
                bname, bnd = bx["model"], bx["metrics"]["NDCG@10"]
                files = [c[2] for c in cands if c[1] == bname]
                if files:
                    t = paired_across([f, files[0]], model, bname, prot, k)
                    seeds = ",".join(map(str, t["seeds"]))
                    p = "< 1e-300" if t["p_value"] == 0 else format(t["p_value"], ".2g")
                else:
                    seeds, p = "-", "not paired: no per-user values for the baseline"
                out.append(
                    f"| {ds} | {prot} | {k} | {bname} | {bnd:.4f} ± {bx['std']['NDCG@10']:.4f} "
                    f"| {bx['metrics']['HR@10']:.4f} | {nd:.4f} ± {x['std']['NDCG@10']:.4f} "
                    f"| {x['metrics']['HR@10']:.4f} | {100 * (nd / bnd - 1):+.1f}% | {seeds} | {p} |"
                )
    return out


def paired_table(runs: list[dict]) -> list[str]:
    out = [
        "\n### Paired tests against the best baseline (Wilcoxon signed-rank on per-user NDCG@10, "
        "(seed, user) pairs)\n",
        "Best baseline = the baseline with the highest mean NDCG@10 that has per-user values; "
        "non-baseline models (MOTE) in bold.\n",
        "| dataset | protocol | cold_k | best baseline (NDCG@10) | model | seeds paired | mean diff | p-value |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for ds in DATASETS:
        for prot in ("sampled", "full"):
            for k in (0, 1, 2):
                cands = [c[:3] for c in candidates(runs, ds, prot, k)]
                base = [c for c in cands if is_baseline(c[1])]
                if not base:
                    continue
                best = base[0]
                for _, m, f in (c for c in cands if c[1] != best[1]):
                    name = m if is_baseline(m) else f"**{m}**"
                    try:
                        t = paired_across([f, best[2]], m, best[1], prot, k)
                    except ValueError as e:
                        out.append(
                            f"| {ds} | {prot} | {k} | {best[1]} | {name} | - | - | not paired: {e} |"
                        )
                        continue
                    p = "< 1e-300" if t["p_value"] == 0 else format(t["p_value"], ".2g")
                    out.append(
                        f"| {ds} | {prot} | {k} | {best[1]} ({best[0]:.4f}) | {name} "
                        f"| {','.join(map(str, t['seeds']))} | {t['mean_diff']:+.4f} | {p} |"
                    )
    return out


def rerun_table(runs: list[dict]) -> list[str]:
    out = [
        "\n### Reproducibility: the same command run twice\n",
        "| dataset | model | cold_k | rows compared | max abs difference of any metric mean |",
        "|---|---|---|---|---|",
    ]
    for r in runs:
        again = RUNS / "out2" / r["ds"] / r["dir"].name / "stdout.json"
        try:
            doc = json.loads(again.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        first = {(x["protocol"], x["cold_k"]): x for x in r["doc"]["results"]}
        diffs = [
            abs(x["metrics"][m] - first[(x["protocol"], x["cold_k"])]["metrics"][m])
            for x in doc["results"]
            for m in METRICS
        ]
        out.append(
            f"| {r['ds']} | {r['model']} | {r['k']} | {len(doc['results'])} | {max(diffs):.2g} |"
        )
    return out


def suite_cost(runs: list[dict]) -> list[str]:
    k0 = [r for r in runs if r["ds"] == "ml-1m" and r["k"] == "0" and is_baseline(r["model"])]
    if not k0:
        return []
    cpu = sum(r["cpu"] for r in k0)
    wall = sum(seconds(r["wall"]) for r in k0)
    per_seed = sum(r["cpu"] / len(r["doc"]["results"][0]["seeds"]) for r in k0)
    return [
        "\n### Whole baseline suite on ML-1M, cold_k 0, both protocols\n",
        f"- models measured: {', '.join(sorted(r['model'] for r in k0))}",
        f"- CPU time, all seeds as run: {cpu / 60:.1f} min (user+sys); wall time as run: {wall / 60:.1f} min",
        f"- CPU time for one seed of every model (process CPU / seeds run): {per_seed / 60:.1f} min",
        f"- peak RSS of the largest process: {max(r['rss'] for r in k0):.0f} MB",
    ]


def row_keys(lines: list[str]) -> set[tuple[str, ...]]:
    """Return each results-table row as (heading, model) and each cost-table row as (heading,
    dataset, model, cold_k): what a rewrite must keep."""
    keys, heading = set(), ""
    for line in lines:
        if line.startswith("#"):
            heading = line.strip()
        elif line.startswith("| ") and (heading.startswith("#### ") or "Cost per run" in heading):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            keys.add((heading, *cells[: 1 if heading.startswith("#### ") else 3]))
    return keys


def main() -> None:
    runs = load_runs(RUNS / "out")
    cmds = commands()
    if sys.argv[1:2] == ["--print"]:
        runs = [r for r in runs if r["ds"] == sys.argv[2]]
        lines = results_tables(runs) + cost_table(runs, cmds) + paired_table(runs)
        print("\n".join(lines))
        return
    args = sys.argv[1:]
    drop_missing = "--drop-missing" in args
    args = [a for a in args if a != "--drop-missing"]
    target = Path(args[0]) if args else ROOT / "BENCHMARKS.md"
    lines = (
        results_tables(runs)
        + versus_best(runs, "mote")
        + cost_table(runs, cmds)
        + anchor_table(runs)
        + paired_table(runs)
        + rerun_table(runs)
        + suite_cost(runs)
    )
    text = target.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"{target} has no {BEGIN} ... {END} block to replace")
    head, rest = text.split(BEGIN, 1)
    old, tail = rest.split(END, 1)
    missing = sorted(row_keys(old.splitlines()) - row_keys(lines))
    if missing and not drop_missing:
        shown = "; ".join(" / ".join(k) for k in missing[:5])
        sys.exit(
            f"{len(missing)} rows of {target.name}'s tables have no run under {RUNS / 'out'} "
            f"(e.g. {shown}); nothing written. Rerun them (make bench-all) or pass --drop-missing."
        )
    target.write_text(head + BEGIN + "\n" + "\n".join(lines) + "\n\n" + END + tail)


if __name__ == "__main__":
    main()
