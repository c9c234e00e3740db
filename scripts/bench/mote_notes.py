"""MOTE with and without MOPE notes, on cold-start users that have LLM profiles (sampled).

`--term notes` (the default) weighs the cosine between the mean note and an item's text
(`notes_weight`); `--term align` weighs MAR's alignment, the cosine in MOTE's space between an
item's traits and the motivation it serves best (`align_weight`, the `[mar] align_weight` of
`m3rec recommend`).

The notes weight is chosen on validation users only: warm users profiled from the history before
their validation item (`m3rec profile --stage valid`, scripts/profile_valid.sh), cut to the same
k items. The chosen weight is then applied to the test users profiled at that cold_k
(scripts/bench_mope.sh), who are the cold users of the split. Per seed: one MOTE fit; ranks
with weight 0 and with the chosen weight; Wilcoxon on per-user NDCG@10 over (seed, user) pairs.
Usage: .venv/bin/python scripts/bench/mote_notes.py DATA_DIR [--cold-k 2] [--seeds 3]
       [--store runs/bench-mope/store] [--set PARAM=VALUE ...] [--out runs/bench/notes]
       [--term notes|align] [--model-id llamacpp:qwen2.5-1.5b:...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from m3rec.agents.notes import notes_by_user_index
from m3rec.data import index_dataset, leave_one_out, load_dataset
from m3rec.data.histories import evaluation_window
from m3rec.encoders.recommender import MoteRecommender
from m3rec.eval.harness import EvalSettings, rank_users
from m3rec.llm.factory import model_identity
from m3rec.ranking.candidates import sampled_candidates
from m3rec.ranking.metrics import metrics_from_ranks, paired_test, target_ranks
from m3rec.ranking.training_data import train_data
from m3rec.settings import StoreSettings, load_settings
from m3rec.store import open_store

GRID = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
SHOWN = ("HR@5", "HR@10", "NDCG@10", "MRR")


TERMS = {"notes": "notes_weight", "align": "align_weight"}


def set_weight(model: MoteRecommender, weight: float, term: str) -> None:
    model.config = model.cfg.model_copy(update={term: weight})


def valid_ndcg(model, split, users, hists, seed, weight, term) -> np.ndarray:
    set_weight(model, weight, term)
    cand = sampled_candidates(split, users, seed, stage="valid")
    rng = np.random.default_rng([seed, 0x7A11D, 1])
    scores = np.asarray(model.score(users, hists, cand), dtype=np.float64)
    ranks = target_ranks(scores, np.zeros(len(users), dtype=np.int64), cand >= 0, rng)
    return metrics_from_ranks(ranks)["NDCG@10"]


def fit_seed(data, split, seed: int, overrides: dict) -> tuple[MoteRecommender, float]:
    """Fit MOTE with SEED on SPLIT's training data as the harness does; return it and the fit's
    seconds."""
    settings = EvalSettings(models=())
    started = time.perf_counter()
    model = MoteRecommender(
        seed=seed, cache_dir=load_settings().paths.embeddings_dir, **overrides
    ).fit(
        train_data(
            data, split, seed, valid_users=settings.valid_users, n_negatives=settings.n_negatives
        )
    )
    return model, time.perf_counter() - started


def validation_cases(data, split, users: np.ndarray, cold_k: int):
    """Return the USERS with a validation case and their histories before it, cut to COLD_K (as
    their `profile --stage valid` profiles read them)."""
    users = users[split.valid_target[users] >= 0]
    seq = data.sequences
    return users, [seq[u][evaluation_window(len(seq[u]), "valid", cold_k)] for u in users]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--cold-k", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--store", type=Path, default=Path("runs/bench-mope/store"))
    ap.add_argument("--set", action="append", default=[], dest="settings")
    ap.add_argument("--out", type=Path, default=Path("runs/bench/notes"))
    ap.add_argument("--term", choices=sorted(TERMS), default="notes")
    ap.add_argument(
        "--model-id", help="only profiles this LLM wrote (default: the settings' model)"
    )
    args = ap.parse_args()
    term = TERMS[args.term]
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.settings)}
    data = index_dataset(load_dataset(args.data))
    store = open_store(StoreSettings(path=args.store))
    model_id = args.model_id or model_identity(load_settings())
    test_notes = notes_by_user_index(store, data.name, data.user_ids, args.cold_k, "test", model_id)
    valid_notes = notes_by_user_index(
        store, data.name, data.user_ids, args.cold_k, "valid", model_id
    )
    cold = np.array(sorted(test_notes), dtype=np.int64)
    tune = np.array(sorted(set(valid_notes) - set(test_notes)), dtype=np.int64)
    print(
        f"{data.name}: {len(cold)} test users with notes, {len(tune)} validation users", flush=True
    )
    split = leave_one_out(data, args.cold_k, cold)
    settings = EvalSettings(models=())
    tune, tune_hists = validation_cases(data, split, tune, args.cold_k)
    report: dict = {
        "dataset": data.name,
        "cold_k": args.cold_k,
        "term": term,
        "profiles_by": model_id,
        "grid": GRID,
        "seeds": [],
    }
    base_all, notes_all = [], []
    for seed in range(args.seeds):
        model, fit_s = fit_seed(data, split, seed, overrides)
        model.use_notes({**valid_notes, **test_notes})
        curve = {
            w: float(valid_ndcg(model, split, tune, tune_hists, seed, w, term).mean()) for w in GRID
        }
        best = max(GRID, key=lambda w: (curve[w], -w))
        per_w = {}
        for w in (0.0, best):
            set_weight(model, w, term)
            per_w[w] = metrics_from_ranks(rank_users(model, split, cold, "sampled", seed, settings))
        base_all.append(per_w[0.0]["NDCG@10"])
        notes_all.append(per_w[best]["NDCG@10"])
        row = {
            "seed": seed,
            "fit_seconds": round(fit_s, 1),
            "best_epoch": model.best_epoch,
            "valid_ndcg10_by_weight": curve,
            "chosen_weight": best,
            "test_without_notes": {m: float(per_w[0.0][m].mean()) for m in SHOWN},
            "test_with_notes": {m: float(per_w[best][m].mean()) for m in SHOWN},
        }
        report["seeds"].append(row)
        print(json.dumps(row), flush=True)
    report["paired_ndcg10_with_vs_without"] = paired_test(
        np.concatenate(notes_all), np.concatenate(base_all)
    )
    report["n_test_users"], report["n_valid_users"] = len(cold), len(tune)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.term == "notes" else f"-{args.term}"
    path = args.out / f"{data.name}-k{args.cold_k}{suffix}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["paired_ndcg10_with_vs_without"]), "->", path)


if __name__ == "__main__":
    main()
