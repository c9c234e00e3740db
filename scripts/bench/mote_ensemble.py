"""Validation NDCG@10 and HR@10 of MOTE trained with seeds 0..N-1, alone and as the mean of their
scores (an ensemble), and of the first seed's scores z-scored and summed with ItemKNN's.

The 5,000 validation users of seed 0's split (sampled, 99 negatives), MOTE's defaults, at most 8
epochs, patience 2, one thread. Optional TEXT: a .npy of item-text embeddings (in the order of
MOTE's item inputs) used instead of MiniLM's, e.g. all-mpnet-base-v2's.
Usage: .venv/bin/python scripts/bench/mote_ensemble.py DATASET [N] [--text PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from m3rec.data.readers import load_dataset
from m3rec.data.splits import index_dataset, leave_one_out
from m3rec.encoders.recommender import MoteRecommender
from m3rec.eval.baselines.simple import ItemKNN
from m3rec.ranking.contract import EvalCases, Recommender
from m3rec.ranking.metrics import metrics_from_ranks, target_ranks
from m3rec.ranking.training_data import train_data


def scores(model: Recommender, cases: EvalCases) -> np.ndarray:
    parts = [
        model.score(
            cases.users[s : s + 512], cases.histories[s : s + 512], cases.candidates[s : s + 512]
        )
        for s in range(0, len(cases.users), 512)
    ]
    return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])


def quality(values: np.ndarray, cases: EvalCases) -> str:
    col = np.zeros(len(values), dtype=np.int64)
    ranks = target_ranks(values, col, cases.candidates >= 0, np.random.default_rng(0))
    m = metrics_from_ranks(ranks)
    return f"NDCG@10 {m['NDCG@10'].mean():.4f} HR@10 {m['HR@10'].mean():.4f}"


def zscore(values: np.ndarray) -> np.ndarray:
    return (values - values.mean(1, keepdims=True)) / (values.std(1, keepdims=True) + 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("n", type=int, nargs="?", default=3)
    parser.add_argument("--text", type=Path)
    args = parser.parse_args()
    data = index_dataset(load_dataset(Path("../shared/data") / args.dataset))
    tdata = train_data(data, leave_one_out(data), 0, valid_users=5000)
    cases = tdata.valid
    assert cases is not None
    embed = None
    if args.text is not None:
        vectors = np.load(args.text)
        embed = lambda texts: vectors  # noqa: E731  # the order was fixed when they were made
    total, first = 0.0, None
    for seed in range(args.n):
        model = MoteRecommender(seed=seed, threads=1, patience=2, epochs=8, embed=embed)
        values = scores(model.fit(tdata), cases)
        first = values if first is None else first
        total = total + values
        print(
            f"seed {seed}: alone {quality(values, cases)}; mean of {seed + 1}: "
            f"{quality(total / (seed + 1), cases)}",
            flush=True,
        )
    knn = zscore(scores(ItemKNN().fit(tdata), cases))
    for w in (0.05, 0.1, 0.2, 0.5):
        print(f"seed 0 + {w} x ItemKNN (z-scored): {quality(zscore(first) + w * knn, cases)}")


if __name__ == "__main__":
    main()
