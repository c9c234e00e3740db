"""Recall of MAR's retrieved candidates against MOTE's exact full-catalogue top K.

For USERS seeded users of a dataset, the candidates `retrieve` gathers (Chroma's nearest items
to the user's MOTE vectors, and co-consumed items) are compared with MOTE's exact ranking of
every item the user has not seen (the same seen-item rule: the history and every item of the
user's data). No motivation queries are passed: there is no LLM here. Prints one JSON document
on stdout; progress goes to stderr.

Run: nice -n 10 .venv/bin/python scripts/bench/retrieval_recall.py ../shared/data/ml-1m \\
       --checkpoint /tmp/mote-ml1m.pt
Without --checkpoint it trains one first (encoders.pipeline.train_mote, TRAIN_DEFAULTS
overridden by --set) and saves it to --train-out.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from m3rec.agents.encode import MoteScorer
from m3rec.agents.retrieval import (
    RETRIEVAL_CF,
    RETRIEVAL_VECTOR,
    ensure_item_index,
    retrieve_with_sources,
)
from m3rec.data import index_dataset, load_dataset
from m3rec.data.histories import PRODUCT_ITEMS, evaluation_history, product_history
from m3rec.encoders.pipeline import train_mote
from m3rec.ranking.cooccurrence import CoConsumption
from m3rec.settings import StoreSettings, load_settings
from m3rec.store import memory_store, open_store

TRAIN_DEFAULTS: dict[str, Any] = {"epochs": 3, "threads": 1}  # small: a benchmark, not a model


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Recall@K of MAR's retrieved candidates against MOTE's exact top K, "
        "candidate-set sizes, the share of each source and milliseconds per retrieval (JSON).",
    )
    ap.add_argument("data", type=Path, help="dataset folder (any format m3rec reads)")
    ap.add_argument(
        "--checkpoint", type=Path, help="MOTE checkpoint trained on DATA; none: train one"
    )
    ap.add_argument(
        "--train-out",
        type=Path,
        help="where a checkpoint trained here is saved (default: a temporary folder)",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        dest="settings",
        metavar="PARAM=VALUE",
        help=f"MOTE setting for a training run here, over {TRAIN_DEFAULTS} (repeatable; JSON "
        "values, e.g. slots=2)",
    )
    ap.add_argument("--users", type=int, default=200, help="users sampled (default: %(default)s)")
    ap.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the user sample and of training (default: %(default)s)",
    )
    ap.add_argument(
        "--k", type=int, default=100, help="size of MOTE's exact top list (default: %(default)s)"
    )
    ap.add_argument(
        "--n-vector",
        type=int,
        default=RETRIEVAL_VECTOR,
        help="unseen nearest items per query (default: %(default)s)",
    )
    ap.add_argument(
        "--n-cf", type=int, default=RETRIEVAL_CF, help="co-consumed items (default: %(default)s)"
    )
    ap.add_argument(
        "--history",
        choices=["product", "evaluation"],
        default="product",
        help=f"what the user shows: their {PRODUCT_ITEMS} most recent items (as `m3rec "
        "recommend` reads them) or everything before their test item (default: %(default)s)",
    )
    ap.add_argument(
        "--store",
        type=Path,
        help="Chroma folder for the item index (default: a fresh in-memory store)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for scoring and training (default: %(default)s)",
    )
    return ap.parse_args()


def checkpoint_for(args: argparse.Namespace, dataset: Any, cache: Path) -> tuple[Path, Any]:
    """Return the checkpoint to measure, training one first unless --checkpoint names it."""
    if args.checkpoint is not None:
        return args.checkpoint, None
    overrides = {**TRAIN_DEFAULTS, "threads": args.threads}
    overrides.update({k: json.loads(v) for k, v in (s.split("=", 1) for s in args.settings)})
    out = args.train_out or Path(tempfile.mkdtemp(prefix="mote-")) / "mote.pt"
    print(f"training MOTE ({overrides}) to {out}", file=sys.stderr)
    outcome = train_mote(dataset, out, seed=args.seed, overrides=overrides, cache_dir=cache)
    trained = {
        "overrides": overrides,
        "train_seconds": round(outcome.train_seconds, 1),
        "valid_ndcg10": outcome.result.best_valid_ndcg10,
    }
    return out, trained


def exact_top(scorer: MoteScorer, user: str, history: list[str], k: int) -> set[str]:
    """Return MOTE's exact top K of every item USER has not seen."""
    seen = scorer.seen_items(user, history)
    unseen = [i for i in scorer.item_ids if i not in seen]
    scores = scorer.history_scores(user, history, unseen)
    return {unseen[j] for j in np.argsort(-scores, kind="stable")[:k]}


def measure(
    scorer: MoteScorer,
    store: Any,
    cooc: CoConsumption,
    user: str,
    history: list[str],
    args: argparse.Namespace,
) -> dict[str, float]:
    """Retrieve USER's candidates, time it, and compare them with MOTE's exact top K."""
    started = time.perf_counter()
    found = retrieve_with_sources(
        scorer, store, cooc, user, history, n_vector=args.n_vector, n_cf=args.n_cf
    )
    ms = 1000 * (time.perf_counter() - started)
    started = time.perf_counter()
    top = exact_top(scorer, user, history, args.k)
    exact_ms = 1000 * (time.perf_counter() - started)
    candidates, vector = set(found.candidates), set(found.vector)
    return {
        "recall": len(top & candidates) / len(top),
        "recall_vector": len(top & vector) / len(top),
        "candidates": len(candidates),
        "share_vector": len(vector) / len(candidates),
        "share_cf_only": len(candidates - vector) / len(candidates),
        "seen": len(scorer.seen_items(user, history)),
        "ms": ms,
        "exact_ms": exact_ms,
    }


def summary(values: list[float], digits: int = 2) -> dict[str, float]:
    """Return the mean, median, p90, min and max of VALUES."""
    a = np.asarray(values, dtype=np.float64)
    stats = {
        "mean": a.mean(),
        "median": np.median(a),
        "p90": np.percentile(a, 90),
        "min": a.min(),
        "max": a.max(),
    }
    return {k: round(float(v), digits) for k, v in stats.items()}


def main() -> None:
    args = parse_args()
    settings = load_settings()
    cache = settings.paths.embeddings_dir
    dataset = load_dataset(args.data)
    checkpoint, trained = checkpoint_for(args, dataset, cache)
    scorer = MoteScorer.load(checkpoint, dataset, cache_dir=cache, threads=args.threads)
    indexed = index_dataset(dataset)
    started = time.perf_counter()
    cooc = CoConsumption(indexed.sequences, indexed.n_items)
    cooc_seconds = time.perf_counter() - started
    store = memory_store() if args.store is None else open_store(StoreSettings(path=args.store))
    started = time.perf_counter()
    built = ensure_item_index(scorer, store)
    index_seconds = time.perf_counter() - started

    rng = np.random.default_rng(args.seed)
    users = sorted(
        rng.choice(
            sorted(dataset.histories), size=min(args.users, len(dataset.histories)), replace=False
        ).tolist()
    )
    show = product_history if args.history == "product" else evaluation_history
    rows = [
        measure(scorer, store, cooc, user, [h.item_id for h in show(dataset, user)], args)
        for user in users
    ]
    column = {key: [row[key] for row in rows] for key in rows[0]}

    doc = {
        "dataset": indexed.name,
        "items": indexed.n_items,
        "checkpoint": str(checkpoint),
        "trained_here": trained,
        "slots": scorer.model.cfg.slots,
        "users": len(users),
        "seed": args.seed,
        "history": args.history,
        "k": args.k,
        "n_vector": args.n_vector,
        "n_cf": args.n_cf,
        f"recall@{args.k}": summary(column["recall"], 4),
        f"recall@{args.k}_vector_only": summary(column["recall_vector"], 4),
        "candidates": summary(column["candidates"], 1),
        "share_vector": round(float(np.mean(column["share_vector"])), 4),
        "share_cf_only": round(float(np.mean(column["share_cf_only"])), 4),
        "seen_items": summary(column["seen"], 1),
        "ms_per_retrieval": summary(column["ms"]),
        "ms_per_exact_scoring": summary(column["exact_ms"]),
        "index_built": built,
        "index_build_seconds": round(index_seconds, 2),
        "cooccurrence_build_seconds": round(cooc_seconds, 2),
        "torch_threads": args.threads,
    }
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
