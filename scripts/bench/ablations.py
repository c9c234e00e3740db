"""The ablation table of `make bench-paper` (scripts/bench/paper.sh): every row of its runs, with
the paired test of each against m3rec on the same users and seeds (Wilcoxon signed-rank on
per-user NDCG@10, and the bootstrap 95% interval of the mean difference).

Usage: .venv/bin/python scripts/bench/ablations.py MAIN_DIR NO_TIME_DIR [LLM_DIR]
MAIN_DIR holds m3rec and the other rows; NO_TIME_DIR holds m3rec run with recency=false; LLM_DIR
holds m3rec-llm (each row is paired with MAIN_DIR's m3rec, the same users and seeds).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from m3rec.eval.report import paired_values, per_user_values
from m3rec.ranking.metrics import paired_test

WHAT = {
    "m3rec": "m3rec: MOTE + MAR's alignment with MOPE's motivations",
    "mote": "without MAR alignment (MOTE alone)",
    "m3rec-history": "without MOPE (the history's text in place of the motivations)",
    "notesim": "without MOTE (raw sentence-embedding cosine of motivations and items)",
    "textsim": "without MOPE and MOTE (raw cosine of the history's text and items)",
    "m3rec-llm": "with the LLM re-order of m3rec's top 10",
    "no-time": "without time weighting (MOTE's recency decay off)",
}
SHOWN = ("HR@5", "HR@10", "NDCG@10", "MRR")


def rows(folder: Path) -> list[dict]:
    return json.loads((folder / "results.json").read_text())["results"]


def main() -> None:
    main_dir, no_time_dir = Path(sys.argv[1]), Path(sys.argv[2])
    runs = [(r["model"], r, main_dir) for r in rows(main_dir)]
    runs += [("no-time", r, no_time_dir) for r in rows(no_time_dir) if r["model"] == "m3rec"]
    for llm_dir in map(Path, sys.argv[3:]):
        runs += [(r["model"], r, llm_dir) for r in rows(llm_dir) if r["model"] == "m3rec-llm"]
    for protocol in dict.fromkeys(r["protocol"] for _, r, _ in runs):
        chosen = [(name, r, d) for name, r, d in runs if r["protocol"] == protocol]
        k = chosen[0][1]["cold_k"]
        base = per_user_values([main_dir / "per_user.npz"], "m3rec", protocol, k)
        print(f"\n#### Amazon Beauty, {protocol}, cold_k {k}\n")
        print(
            "| row | " + " | ".join(SHOWN) + " | users x seeds | against m3rec: NDCG@10 "
            "difference (95% interval) | p |"
        )
        print("|---|" + "---|" * (len(SHOWN) + 3))
        for name, r, folder in sorted(chosen, key=lambda c: list(WHAT).index(c[0])):
            cells = [f"{r['metrics'][m]:.4f}" for m in SHOWN]
            test = " | "  # m3rec itself: nothing to pair with
            if name != "m3rec":
                model = "m3rec" if name == "no-time" else name
                mine = per_user_values([folder / "per_user.npz"], model, protocol, k)
                _, x, y = paired_values(mine, base)
                t = paired_test(x, y)
                lo, hi = t["mean_diff_ci95"]
                test = f"{t['mean_diff']:+.4f} ({lo:+.4f} to {hi:+.4f}) | {t['p_value']:.2g}"
            size = f"{r['n_users']} x {len(r['seeds'])}"
            print(f"| {WHAT[name]} | " + " | ".join(cells) + f" | {size} | {test} |")


if __name__ == "__main__":
    main()
