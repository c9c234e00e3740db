"""Choose MOTE's maxpool_weight on validation users: one fit per seed, every weight scored.

The 5,000 validation users of each seed's split (sampled, 99 negatives), their whole history
and cut to their last 1 and 2 items (the cold-start cuts, as the validation histories of cold
users would be), MOTE's defaults plus --set, at most 10 epochs, patience 2, one thread.
Usage: .venv/bin/python scripts/bench/mote_maxpool.py DATASET [--seeds 1] [--set PARAM=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from m3rec.data.readers import load_dataset
from m3rec.data.splits import index_dataset, leave_one_out
from m3rec.encoders.recommender import MoteRecommender
from m3rec.ranking.metrics import metrics_from_ranks, target_ranks
from m3rec.ranking.training_data import train_data
from m3rec.settings import load_settings

WEIGHTS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
CUTS = (0, 1, 2)


def quality(model: MoteRecommender, users, hists, cand) -> dict[str, float]:
    parts = [
        model.score(users[s : s + 512], hists[s : s + 512], cand[s : s + 512])
        for s in range(0, len(users), 512)
    ]
    scores = np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
    col = np.zeros(len(scores), dtype=np.int64)
    m = metrics_from_ranks(target_ranks(scores, col, cand >= 0, np.random.default_rng(0)))
    return {k: round(float(m[k].mean()), 4) for k in ("HR@5", "HR@10", "NDCG@10")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], dest="settings")
    args = ap.parse_args()
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.settings)}
    data = index_dataset(load_dataset(Path("../shared/data") / args.dataset))
    cache = load_settings().paths.embeddings_dir
    for seed in range(args.seeds):
        tdata = train_data(data, leave_one_out(data), seed, valid_users=5000)
        cases = tdata.valid
        assert cases is not None
        settings = {"threads": 1, "epochs": 10, "patience": 2, **overrides}
        model = MoteRecommender(seed=seed, cache_dir=cache, **settings).fit(tdata)
        row: dict = {"seed": seed, "best_epoch": model.best_epoch, "valid": {}}
        for k in CUTS:
            hists = [h[-k:] if k else h for h in cases.histories]
            for w in WEIGHTS:
                model.config = model.cfg.model_copy(update={"maxpool_weight": w})
                got = quality(model, cases.users, hists, cases.candidates)
                row["valid"][f"k{k} w{w}"] = got
                print(f"seed {seed} cold_k {k} maxpool_weight {w}: {got}", flush=True)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
