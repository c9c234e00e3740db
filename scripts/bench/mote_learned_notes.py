"""Learned uses of MOPE's motivations on cold-start users: do they add to MOTE once fitted?

The raw note-to-item cosine hurt and MAR's alignment did nothing (BENCHMARKS.md, session 11).
Both are fixed maps; this script fits small ones on validation users and tests them on the
profiled test users. Each arm gives a user a direction d in MOTE's item space (unit) and adds
`weight * cos(d, item)` to MOTE's score:

- `global`: the mean direction of the validation users' next items (a popularity control; it
  uses no motivation at all);
- `kinds`: a direction per motivation kind, the mean of the next items of the validation users
  whose profiles name that kind (weighted by strength, shrunk towards `global`); a user's
  direction is the strength-weighted sum over its kinds. The issue's "learned embedding per kind";
- `ridge-notes`: a ridge map from the mean sentence embedding of the user's notes to the
  direction of the next item;
- `ridge-history`: the same map from the mean sentence embedding of the visible history's items
  (the "without MOPE" control: what the notes' text is worth against the items it came from);
- `ridge-both`: both embeddings side by side (do the notes add to the history?).

Fitting data: warm users profiled before their validation item (`profile --stage valid`), MOTE
scoring them from the same COLD_K items the LLM read. The weight (and ridge's lambda) is chosen
by 5-fold cross-fitting on those users only; the map is then refitted on all of them and applied
to the test users profiled at COLD_K (the split's cold users). With `--fit-train`, warm users
profiled before their train item (`profile --stage train`: the third to last, a training target)
are extra rows for fitting the maps (never for choosing the weight): the motivations in
training, with the leak-free history rule. Per seed: one MOTE fit. Paired
Wilcoxon on per-user NDCG@10 over (seed, user) pairs, each arm against MOTE alone, `kinds`
against `global` and `ridge-both` against `ridge-history`.

Usage: .venv/bin/python scripts/bench/mote_learned_notes.py DATA_DIR [--cold-k 2] [--seeds 3]
       [--store runs/tune-store] [--set PARAM=VALUE ...] [--out runs/learned-notes]
       [--model-id llamacpp:qwen2.5-1.5b:...] [--fit-train]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from mote_notes import fit_seed, validation_cases  # this folder's script, the same fit

from m3rec.agents.mope_drafts import KIND_WORDS
from m3rec.agents.notes import notes_by_user_index
from m3rec.data import index_dataset, leave_one_out, load_dataset
from m3rec.data.histories import MIN_EVAL_LENGTH, evaluation_window
from m3rec.encoders.recommender import MoteRecommender
from m3rec.llm.factory import model_identity
from m3rec.ranking.candidates import PROTOCOLS, full_mask, sampled_candidates
from m3rec.ranking.metrics import metrics_from_ranks, paired_test, target_ranks
from m3rec.settings import StoreSettings, load_settings
from m3rec.store import open_store

WEIGHTS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
LAMBDAS = (1.0, 10.0, 100.0)
SHRINK = 5.0  # pseudo-users of the global direction in each kind's mean
FOLDS = 5
KINDS = sorted(KIND_WORDS)
ARMS = ("global", "kinds", "ridge-notes", "ridge-history", "ridge-both")
SHOWN = ("HR@5", "HR@10", "NDCG@10", "MRR")
PAIRS = (("kinds", "global"), ("ridge-both", "ridge-history"), ("ridge-notes", "ridge-history"))


def unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def kind_shares(store, dataset: str, cold_k: int, stage: str, model_id: str, index) -> dict:
    """Return each profiled user's strength share per motivation kind (newest profile), keyed by
    the user's index."""
    out = {}
    for user, notes in store.newest_profile_notes(dataset, cold_k, stage, model_id).items():
        f = np.zeros(len(KINDS))
        for note in notes:
            if note.kind in KIND_WORDS:
                f[KINDS.index(note.kind)] += note.strength
        if f.sum() > 0 and user in index:
            out[index[user]] = f / f.sum()
    return out


class Features:
    """What the arms read of a user: kind shares, note embedding, history embedding."""

    def __init__(self, model: MoteRecommender, notes: dict, kinds: dict, hists: dict) -> None:
        embedded = {}
        users = sorted(notes)
        if users:
            vecs = model.embed_items([t for u in users for t in notes[u]])
            start = 0
            for u in users:
                embedded[u] = unit_rows(vecs[start : start + len(notes[u])].mean(0))
                start += len(notes[u])
        text = model.item_units.detach().cpu().numpy()
        self.notes = embedded
        self.kinds = kinds
        self.history = {u: unit_rows(text[h].mean(0)) for u, h in hists.items()}

    def matrix(self, arm: str, users: np.ndarray) -> np.ndarray:
        if arm == "ridge-notes":
            return np.stack([self.notes[u] for u in users])
        if arm == "ridge-history":
            return np.stack([self.history[u] for u in users])
        return np.hstack([self.matrix("ridge-notes", users), self.matrix("ridge-history", users)])


def fit_arm(arm: str, feats: Features, users: np.ndarray, targets: np.ndarray, lam: float):
    """Return a function users -> unit directions, fitted on USERS' next-item vectors TARGETS."""
    glob = unit_rows(targets.mean(0))
    if arm == "global":
        return lambda us: np.tile(glob, (len(us), 1))
    if arm == "kinds":
        shares = np.stack([feats.kinds[u] for u in users])
        per_kind = unit_rows(shares.T @ targets + SHRINK * glob)
        return lambda us: unit_rows(np.stack([feats.kinds[u] for u in us]) @ per_kind)
    x = feats.matrix(arm, users)
    w = np.linalg.solve(x.T @ x + lam * np.eye(x.shape[1]), x.T @ targets)
    return lambda us: unit_rows(feats.matrix(arm, us) @ w)


def alignment(items: np.ndarray, cand: np.ndarray | None, direction: np.ndarray) -> np.ndarray:
    """Return the cosine of each user's direction with each candidate (every item when None)."""
    if cand is None:
        return direction @ items.T
    return np.einsum("ucd,ud->uc", items[np.where(cand >= 0, cand, 0)], direction)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--cold-k", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--store", type=Path, default=Path("runs/tune-store"))
    ap.add_argument("--set", action="append", default=[], dest="settings")
    ap.add_argument("--out", type=Path, default=Path("runs/learned-notes"))
    ap.add_argument("--model-id", help="only profiles this LLM wrote (default: the settings')")
    ap.add_argument("--fit-train", action="store_true", help="also fit on train-stage profiles")
    args = ap.parse_args()
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.settings)}
    data = index_dataset(load_dataset(args.data))
    store = open_store(StoreSettings(path=args.store))
    model_id = args.model_id or model_identity(load_settings())
    index = {u: i for i, u in enumerate(data.user_ids)}
    k = args.cold_k
    test_notes = notes_by_user_index(store, data.name, data.user_ids, k, "test", model_id)
    valid_notes = notes_by_user_index(store, data.name, data.user_ids, k, "valid", model_id)
    kinds = {
        **kind_shares(store, data.name, k, "valid", model_id, index),
        **kind_shares(store, data.name, k, "test", model_id, index),
    }
    cold = np.array(sorted(u for u in test_notes if u in kinds), dtype=np.int64)
    split = leave_one_out(data, k, cold)
    tune = np.array(
        sorted(u for u in set(valid_notes) - set(test_notes) if u in kinds), dtype=np.int64
    )
    tune, cut = validation_cases(data, split, tune, k)
    tune_hists = dict(zip(tune, cut, strict=True))
    test_hists = {u: split.test_history[u] for u in cold}
    extra = train_rows(store, data, k, model_id, index, set(cold)) if args.fit_train else {}
    extra_keys = np.array(sorted(extra), dtype=np.int64)
    extra_items = np.array([extra[key][2] for key in extra_keys], dtype=np.int64)
    print(f"{data.name}: {len(cold)} test users, {len(tune)} validation users", flush=True)
    report: dict = {
        "dataset": data.name,
        "cold_k": k,
        "profiles_by": model_id,
        "weights": WEIGHTS,
        "lambdas": LAMBDAS,
        "n_test_users": len(cold),
        "n_valid_users": len(tune),
        "n_train_rows": len(extra_keys),
        "seeds": [],
    }
    per_user: dict[str, dict[str, list]] = {p: {} for p in PROTOCOLS}
    for seed in range(args.seeds):
        model, fit_s = fit_seed(data, split, seed, overrides)
        items = model.encoder.unit(model.item_vecs).detach().cpu().numpy()
        feats = Features(
            model,
            {**valid_notes, **test_notes, **{key: e[0] for key, e in extra.items()}},
            {**kinds, **{key: e[3] for key, e in extra.items()}},
            {**tune_hists, **test_hists, **{key: e[1] for key, e in extra.items()}},
        )
        row = {"seed": seed, "fit_seconds": round(fit_s, 1), "best_epoch": model.best_epoch}
        fit_extra = (extra_keys, items[extra_items])
        row.update(
            run_seed(model, split, tune, tune_hists, cold, items, feats, seed, per_user, fit_extra)
        )
        report["seeds"].append(row)
        print(json.dumps(row), flush=True)
    report["paired_ndcg10"] = {protocol: paired_tests(per_user[protocol]) for protocol in PROTOCOLS}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{data.name}-k{k}{'-fit-train' if args.fit_train else ''}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["paired_ndcg10"], indent=1), "->", path)


def paired_tests(ndcg: dict[str, list]) -> dict:
    base = np.concatenate(ndcg["mote"])
    out = {arm: paired_test(np.concatenate(ndcg[arm]), base) for arm in ARMS}
    for a, b in PAIRS:
        out[f"{a} vs {b}"] = paired_test(np.concatenate(ndcg[a]), np.concatenate(ndcg[b]))
    return out


def train_rows(store, data, cold_k: int, model_id: str, index, cold: set) -> dict:
    """Return the train-stage rows to fit on, keyed past every user index (n_users + u): notes,
    visible history, train item and kind shares of each warm user with a train-stage profile."""
    notes = notes_by_user_index(store, data.name, data.user_ids, cold_k, "train", model_id)
    kinds = kind_shares(store, data.name, cold_k, "train", model_id, index)
    rows = {}
    for u in sorted(set(notes) & set(kinds) - cold):
        seq = data.sequences[u]
        if len(seq) > MIN_EVAL_LENGTH:
            seen = seq[evaluation_window(len(seq), "train", cold_k)]
            rows[len(data.user_ids) + u] = (notes[u], seen, int(seq[-3]), kinds[u])
    return rows


def run_seed(model, split, tune, tune_hists, cold, items, feats, seed, per_user, extra) -> dict:
    """Choose each arm's weight by cross-fitting on TUNE, refit (with EXTRA's rows: keys and
    target vectors), and rank COLD's test items."""
    extra_keys, extra_targets = extra
    tune_cand = sampled_candidates(split, tune, seed, stage="valid")
    tune_base = np.asarray(
        model.score(tune, [tune_hists[u] for u in tune], tune_cand), dtype=np.float64
    )
    tune_targets = items[split.valid_target[tune]]
    folds = np.random.default_rng([seed, 0xF01D]).permutation(len(tune)) % FOLDS
    zeros = np.zeros(len(tune), dtype=np.int64)
    out: dict = {"valid_ndcg10": {}, "chosen": {}, "test": {p: {} for p in PROTOCOLS}}

    def cross_fitted(arm: str, lam: float) -> np.ndarray:
        directions = np.zeros((len(tune), items.shape[1]))
        for f in range(FOLDS):
            held = folds == f
            keys = np.concatenate([tune[~held], extra_keys])
            targets = np.vstack([tune_targets[~held], extra_targets])
            fitted = fit_arm(arm, feats, keys, targets, lam)
            directions[held] = fitted(tune[held])
        return directions

    def valid_ndcg(directions: np.ndarray, weight: float) -> float:
        rng = np.random.default_rng([seed, 0x7A11D, 1])
        scores = tune_base + weight * alignment(items, tune_cand, directions)
        ranks = target_ranks(scores, zeros, tune_cand >= 0, rng)
        return float(metrics_from_ranks(ranks)["NDCG@10"].mean())

    test_arms: dict[str, tuple[Callable, float]] = {}
    for arm in ARMS:
        curve = {}
        for lam in LAMBDAS if arm.startswith("ridge") else (0.0,):
            directions = cross_fitted(arm, lam)
            curve.update({(lam, w): valid_ndcg(directions, w) for w in WEIGHTS})
        lam, weight = max(curve, key=lambda lw: (curve[lw], -lw[1], lw[0]))
        out["valid_ndcg10"][arm] = {f"{lam_}/{w}": v for (lam_, w), v in curve.items()}
        out["chosen"][arm] = {"lambda": lam, "weight": weight}
        keys, targets = np.concatenate([tune, extra_keys]), np.vstack([tune_targets, extra_targets])
        test_arms[arm] = (fit_arm(arm, feats, keys, targets, lam), weight)
    hists = [split.test_history[u] for u in cold]
    for protocol in PROTOCOLS:
        rng_seed = [seed, 0x71E5, PROTOCOLS.index(protocol)]
        if protocol == "sampled":
            cand = sampled_candidates(split, cold, seed)
            tgt, mask = np.zeros(len(cold), dtype=np.int64), cand >= 0
        else:
            cand, tgt = None, split.test_target[cold]
            mask = full_mask(hists, tgt, split.n_items)
        base = np.asarray(model.score(cold, hists, cand), dtype=np.float64)
        for arm in ("mote", *ARMS):
            fitted, weight = test_arms.get(arm, (None, 0.0))
            direction = fitted(cold) if fitted else np.zeros((len(cold), items.shape[1]))
            rng = np.random.default_rng(rng_seed)
            scores = base + weight * alignment(items, cand, direction)
            ranks = target_ranks(scores, tgt, mask, rng)
            m = metrics_from_ranks(ranks)
            per_user[protocol].setdefault(arm, []).append(m["NDCG@10"])
            out["test"][protocol][arm] = {s: float(m[s].mean()) for s in SHOWN}
    return out


if __name__ == "__main__":
    main()
