"""Run models through the protocol: splits, candidates, fit, score, rank, aggregate."""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydantic

from m3rec.data.splits import (
    IndexedDataset,
    Split,
    choose_cold_users,
    eligible_users,
    leave_one_out,
)
from m3rec.eval.baselines import base_model, build_model, compared_with, model_class
from m3rec.llm.base import LLMBackend
from m3rec.ranking.candidates import N_NEGATIVES, PROTOCOLS, full_mask, sampled_candidates
from m3rec.ranking.contract import EpochCallback, ModelConfig, Recommender
from m3rec.ranking.metrics import (
    METRICS,
    bootstrap_ci,
    metrics_from_ranks,
    paired_test,
    summarize_seeds,
    target_ranks,
)
from m3rec.ranking.training_data import VALID_USERS, train_data
from m3rec.settings import TORCH_THREADS, StoreSettings

logger = logging.getLogger(__name__)

# Called as (event, info): events "job" (a model fit begins), "epoch", "scored", "done".
ProgressCallback = Callable[[str, dict[str, Any]], None]

PAIRED_METRIC = "NDCG@10"


@dataclass(frozen=True)
class EvalSettings:
    """What to run: models, protocols, cold-start settings, seeds and user sampling."""

    models: tuple[str, ...]
    protocols: tuple[str, ...] = ("sampled",)
    cold_ks: tuple[int, ...] = (0,)
    seeds: int = 3
    users: int | None = None
    cold_users: int | None = None
    n_negatives: int = N_NEGATIVES
    valid_users: int = VALID_USERS
    batch_size: int = 256
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    torch_threads: int = TORCH_THREADS  # settings.torch.threads; a model's `threads` override wins
    cache_dir: Path | None = None  # settings.paths.embeddings_dir; None: embeddings not cached
    # MOPE test profiles for the models that read them (m3rec, m3rec-llm): with a store, the
    # users evaluated at each cold_k are those profiled at it (by PROFILE_MODEL only, if given).
    profiles: Path | StoreSettings | None = None  # a store folder, or any store's settings
    profile_model: str | None = None
    llm: Callable[[], LLMBackend] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        bad = [p for p in self.protocols if p not in PROTOCOLS]
        if bad:
            raise ValueError(f"unknown protocol {bad[0]!r}; use sampled, full or both")
        if any(k < 0 for k in self.cold_ks):
            raise ValueError("cold-k values must be 0 (no cut) or positive counts such as 1,2")
        if self.seeds < 1:
            raise ValueError("seeds must be at least 1")
        if self.users is not None and self.users < 1:
            raise ValueError("users must be at least 1")
        if self.torch_threads < 1:
            raise ValueError("torch threads must be at least 1")
        for name in self.models:
            try:
                self.model_config(name)  # KeyError for an unknown model
            except pydantic.ValidationError as e:
                err = e.errors()[0]
                where = ".".join(str(x) for x in err["loc"])
                raise ValueError(f"invalid setting {name}.{where}: {err['msg']}") from None
            cls = model_class(name)
            if getattr(cls, "reads_profiles", False) and self.profiles is None:
                raise ValueError(
                    f"{name} reads MOPE profiles: give --store with the cold users' test "
                    "profiles (m3rec profile --stage test --cold-k K --store ...)"
                )
            if getattr(cls, "asks_llm", False) and self.llm is None:
                raise ValueError(f"{name} asks an LLM, and none is configured")

    def model_overrides(self, name: str) -> dict[str, Any]:
        """Return the config values model NAME runs with beside its defaults: torch threads
        from the settings, then the --set overrides (which win); a variant (`MODEL@TAG`) takes
        MODEL's overrides, then its own."""
        fields = model_class(name).config_class.model_fields
        threads = {"threads": self.torch_threads} if "threads" in fields else {}
        inherited = self.overrides.get(base_model(name), {}) if base_model(name) != name else {}
        return {**threads, **inherited, **self.overrides.get(name, {})}

    def model_config(self, name: str) -> ModelConfig:
        """Return the full configuration model NAME runs with (seed 0; each run sets its own)."""
        return model_class(name).config_class.model_validate(self.model_overrides(name))

    def build(self, name: str, seed: int) -> Recommender:
        """Return model NAME for SEED with these settings (threads, overrides, cache folder)."""
        cls = model_class(name)
        extra: dict[str, Any] = (
            {"cache_dir": self.cache_dir} if getattr(cls, "embeds_text", False) else {}
        )
        if getattr(cls, "asks_llm", False):
            extra["llm"] = self.llm
        return build_model(name, seed, **extra, **self.model_overrides(name))


@dataclass
class RunRecord:
    """One model fitted and scored for one cold_k and one seed."""

    model: str
    cold_k: int
    seed: int
    users: np.ndarray
    per_user: dict[str, dict[str, np.ndarray]]
    fit_seconds: float
    score_seconds: float
    peak_rss_mb: float
    best_epoch: int | None
    is_baseline: bool
    report: dict[str, Any] = field(default_factory=dict)  # e.g. what an LLM re-ranker cost


@dataclass
class EvaluationResult:
    """Every run's per-user metrics, and their aggregation into the results table."""

    dataset: str
    settings: EvalSettings
    records: list[RunRecord]
    dataset_stats: dict[str, Any]

    def rows(self) -> list[dict[str, Any]]:
        """Return one row per (model, protocol, cold_k): mean and std over seeds, paired test."""
        rows = []
        for cold_k in self.settings.cold_ks:
            for protocol in self.settings.protocols:
                group = [self._row(m, protocol, cold_k) for m in self.settings.models]
                _add_paired_tests(group, self, protocol, cold_k)
                rows.extend(group)
        return rows

    def _runs(self, model: str, cold_k: int) -> list[RunRecord]:
        return sorted(
            (r for r in self.records if r.model == model and r.cold_k == cold_k),
            key=lambda r: r.seed,
        )

    def _row(self, model: str, protocol: str, cold_k: int) -> dict[str, Any]:
        runs = self._runs(model, cold_k)
        per_seed = [{m: float(r.per_user[protocol][m].mean()) for m in METRICS} for r in runs]
        mean, std = summarize_seeds(per_seed)
        return {
            "model": model,
            "protocol": protocol,
            "cold_k": cold_k,
            "metrics": mean,
            "std": std,
            "n_users": int(np.mean([len(r.users) for r in runs])),
            "seeds": [r.seed for r in runs],
            "fit_seconds": float(np.mean([r.fit_seconds for r in runs])),
            "score_seconds": float(np.mean([r.score_seconds for r in runs])),
            "peak_rss_mb": float(max(r.peak_rss_mb for r in runs)),
            "best_epochs": [r.best_epoch for r in runs],
            "ci95": {
                PAIRED_METRIC: list(
                    bootstrap_ci(
                        np.concatenate([r.per_user[protocol][PAIRED_METRIC] for r in runs])
                    )
                )
            },
            **_summed_reports(runs),
        }

    def paired_values(self, model: str, protocol: str, cold_k: int) -> np.ndarray:
        """Return the model's per-user paired metric, seeds concatenated in order."""
        return np.concatenate(
            [r.per_user[protocol][PAIRED_METRIC] for r in self._runs(model, cold_k)]
        )

    def to_json(self) -> dict[str, Any]:
        """Return the results document: dataset, protocol description, settings, rows."""
        s = self.settings
        return {
            "dataset": self.dataset,
            "dataset_stats": self.dataset_stats,
            "protocol": {
                "split": "chronological leave-one-out: last = test, second last = validation",
                "sampled": f"target + {s.n_negatives} negatives drawn uniformly, seeded, "
                "from items the user never touched",
                "full": "target among all items not in the user's visible history",
                "cold_start": "cold_k > 0: a seeded sample of users is cut to their last k "
                "visible items, in training and at test time; only they are evaluated"
                + (
                    "; the sample is the users with a MOPE test profile at that cold_k, "
                    "the same for every seed"
                    if s.profiles
                    else ""
                ),
                "ties": "broken uniformly at random, seeded",
                "std": "sample standard deviation over seeds (ddof=1)",
                "ci95": f"percentile bootstrap (2,000 resamples) of mean {PAIRED_METRIC} over "
                "(seed, user) pairs; a paired test's mean_diff_ci95 likewise of the differences",
                "paired_test": f"Wilcoxon signed-rank over (seed, user) pairs on {PAIRED_METRIC} "
                "against the best baseline of the same protocol and cold_k",
                "paired_test_base": "the same test against the model it builds on "
                "(m3rec: mote; m3rec-llm: m3rec; llmrank: mote), when both ran",
            },
            "settings": {
                "models": list(s.models),
                "protocols": list(s.protocols),
                "cold_ks": list(s.cold_ks),
                "seeds": s.seeds,
                "users": s.users,
                "cold_users": s.cold_users,
                "n_negatives": s.n_negatives,
                "valid_users": s.valid_users,
                "torch_threads": s.torch_threads,
                "profiles": _store_name(s.profiles) if s.profiles else None,
                "profile_model": s.profile_model,
                "model_configs": {
                    m: s.model_config(m).model_dump(mode="json", exclude={"seed"}) for m in s.models
                },
            },
            "results": self.rows(),
        }


def _summed_reports(runs: list[RunRecord]) -> dict[str, Any]:
    """Return the runs' reports (such as an LLM re-ranker's cost) with counts summed over seeds."""
    out: dict[str, dict[str, float]] = {}
    for run in runs:
        for section, values in run.report.items():
            into = out.setdefault(section, {})
            for key, value in values.items():
                into[key] = into.get(key, 0) + value
    return out


def _add_paired_tests(
    group: list[dict[str, Any]], result: EvaluationResult, protocol: str, cold_k: int
) -> None:
    _add_base_tests(group, result, protocol, cold_k)
    baseline_names = {r.model for r in result.records if r.is_baseline}
    ranked = sorted(
        (row for row in group if row["model"] in baseline_names),
        key=lambda row: -row["metrics"][PAIRED_METRIC],
    )
    if not ranked:
        return
    best = ranked[0]["model"]
    for row in group:
        against = (
            best if row["model"] != best else (ranked[1]["model"] if len(ranked) > 1 else None)
        )
        if against is None:
            continue
        test = paired_test(
            result.paired_values(row["model"], protocol, cold_k),
            result.paired_values(against, protocol, cold_k),
        )
        row["paired_test"] = {"against": against, "metric": PAIRED_METRIC, **test}
    for row in group:
        row["best_baseline"] = row["model"] == best


def _add_base_tests(
    group: list[dict[str, Any]], result: EvaluationResult, protocol: str, cold_k: int
) -> None:
    """Test each model that builds on another (`builds_on`: m3rec on mote, m3rec-llm on m3rec,
    llmrank on mote; a variant `MODEL@TAG` on MODEL) against it, when both ran: does the added
    step help?"""
    ran = {row["model"] for row in group}
    for row in group:
        base = compared_with(row["model"])
        if base is not None and base in ran:
            test = paired_test(
                result.paired_values(row["model"], protocol, cold_k),
                result.paired_values(base, protocol, cold_k),
            )
            row["paired_test_base"] = {"against": base, "metric": PAIRED_METRIC, **test}


def _store_name(where: Path | StoreSettings) -> str:
    """Return a store's folder or server URL, as results and errors name it."""
    if isinstance(where, StoreSettings):
        return where.url if where.kind == "server" and where.url else str(where.path)
    return str(where)


def default_cold_users(data: IndexedDataset) -> int:
    """Return how many users a cold-start run cuts: 1,000, at most a fifth of eligible users."""
    return max(1, min(1000, len(eligible_users(data)) // 5))


def evaluation_users(
    data: IndexedDataset,
    split: Split,
    settings: EvalSettings,
    seed: int,
    profiled: Mapping[int, list[str]] | None = None,
) -> np.ndarray:
    """Return the users evaluated for a seed: the cold users, or all/a sample of test users
    (with PROFILED, only those with a profile)."""
    if split.cold_k > 0:
        return np.flatnonzero(split.cold)
    users = split.test_users()
    if profiled is not None:
        users = np.intersect1d(users, np.fromiter(profiled, dtype=np.int64))
    if settings.users is not None and settings.users < len(users):
        rng = np.random.default_rng([seed, 0x05E7])
        users = np.sort(rng.choice(users, size=settings.users, replace=False))
    return users


def make_split(
    data: IndexedDataset,
    settings: EvalSettings,
    cold_k: int,
    seed: int,
    profiled: Mapping[int, list[str]] | None = None,
) -> Split:
    """Return the split for one cold_k and seed: cold users drawn with the seed, or with
    PROFILED the users who have a profile at this cold_k (the same for every seed)."""
    if cold_k == 0:
        return leave_one_out(data)
    if profiled is not None:
        cold = np.array(sorted(profiled), dtype=np.int64)
        if settings.users is not None and settings.users < len(cold):
            rng = np.random.default_rng([seed, 0x05E7])
            cold = np.sort(rng.choice(cold, size=settings.users, replace=False))
        return leave_one_out(data, cold_k, cold)
    n = settings.users or settings.cold_users or default_cold_users(data)
    return leave_one_out(data, cold_k, choose_cold_users(data, n, seed))


def profiled_users(
    data: IndexedDataset, settings: EvalSettings, cold_k: int
) -> dict[int, list[str]] | None:
    """Return the notes of the users with a test profile at COLD_K in the settings' store (by
    user index), or None without a store. Raises ValueError when nobody is profiled there."""
    if settings.profiles is None:
        return None
    from m3rec.agents.notes import notes_by_user_index
    from m3rec.store import open_store

    where = settings.profiles
    store = open_store(where if isinstance(where, StoreSettings) else StoreSettings(path=where))
    notes = notes_by_user_index(
        store, data.name, data.user_ids, cold_k, "test", settings.profile_model
    )
    if not notes:
        by = f" by {settings.profile_model}" if settings.profile_model else ""
        raise ValueError(
            f"no test profile{by} of {data.name} at cold_k {cold_k} in {_store_name(where)}: "
            f"write them with m3rec profile --stage test --cold-k {cold_k} --store ..."
        )
    return notes


def rank_users(
    model: Recommender,
    split: Split,
    users: np.ndarray,
    protocol: str,
    seed: int,
    settings: EvalSettings,
    sampled: np.ndarray | None = None,
) -> np.ndarray:
    """Return each user's 0-based test-target rank under `protocol`."""
    rng = np.random.default_rng([seed, 0x71E5, PROTOCOLS.index(protocol)])
    ranks = np.empty(len(users), dtype=np.int64)
    for start in range(0, len(users), settings.batch_size):
        batch = users[start : start + settings.batch_size]
        hists = [split.test_history[u] for u in batch]
        if protocol == "sampled":
            cand = (
                sampled[start : start + len(batch)]
                if sampled is not None
                else (sampled_candidates(split, batch, seed, settings.n_negatives))
            )
            scores = np.asarray(model.score(batch, hists, cand), dtype=np.float64)
            ranks[start : start + len(batch)] = target_ranks(
                scores, np.zeros(len(batch), dtype=np.int64), cand >= 0, rng
            )
        else:
            targets = split.test_target[batch]
            scores = np.asarray(model.score(batch, hists, None), dtype=np.float64)
            mask = full_mask(hists, targets, split.n_items)
            ranks[start : start + len(batch)] = target_ranks(scores, targets, mask, rng)
    return ranks


def _epoch_notifier(notify: ProgressCallback, info: dict[str, Any]) -> EpochCallback:
    def on_epoch(epoch: int, epochs: int, logs: dict[str, float]) -> None:
        notify("epoch", {**info, "epoch": epoch, "epochs": epochs, **logs})

    return on_epoch


def _report(model: Recommender) -> dict[str, Any]:
    """Return what a model tells of its run: its LLM's cost; the model whose fit it took
    (`fit_taken_from`: that model's name, 1 a seed)."""
    report = model.run_report() if hasattr(model, "run_report") else {}
    if (source := getattr(model, "fit_from", None)) is not None:
        report["fit_taken_from"] = {source: 1}
    return report


def run_evaluation(
    data: IndexedDataset,
    settings: EvalSettings,
    progress: ProgressCallback | None = None,
    model_factory: Callable[[str, int], Recommender] | None = None,
) -> EvaluationResult:
    """Fit and score every model for every cold_k and seed; return all per-user metrics."""
    notify = progress or (lambda event, info: None)
    factory = model_factory or settings.build
    records: list[RunRecord] = []
    total = len(settings.cold_ks) * settings.seeds * len(settings.models)
    for cold_k in settings.cold_ks:
        profiled = profiled_users(data, settings, cold_k)
        for seed in range(settings.seeds):
            split = make_split(data, settings, cold_k, seed, profiled)
            users = evaluation_users(data, split, settings, seed, profiled)
            if not len(users):
                raise ValueError("no user has the 3 interactions a test case needs")
            tdata = train_data(
                data,
                split,
                seed,
                valid_users=settings.valid_users,
                n_negatives=settings.n_negatives,
            )
            sampled = None
            if "sampled" in settings.protocols:
                sampled = sampled_candidates(split, users, seed, settings.n_negatives)
            fits: dict[str, Recommender] = {}  # MOTE fits of this cut and seed, by training key
            for name in settings.models:
                info = {"model": name, "cold_k": cold_k, "seed": seed, "total": total}
                notify("job", {**info, "done": len(records)})
                model = factory(name, seed)
                if hasattr(model, "on_order"):  # an LLM re-ranker: one call per user and protocol
                    asked = len(users) * len(settings.protocols)
                    model.on_order = lambda n, info=info, asked=asked: notify(
                        "ordered", {**info, "done": n, "users": asked}
                    )
                if hasattr(model, "shared_fits"):
                    model.shared_fits = fits
                t0 = time.perf_counter()
                model.fit(tdata, _epoch_notifier(notify, info))
                fit_s = time.perf_counter() - t0
                if profiled is not None and getattr(model, "reads_profiles", False):
                    notes = {u: profiled[u] for u in users.tolist() if u in profiled}
                    model.use_notes(notes)  # type: ignore[attr-defined]  # a MoteRecommender
                t0 = time.perf_counter()
                per_user = {
                    p: metrics_from_ranks(
                        rank_users(model, split, users, p, seed, settings, sampled)
                    )
                    for p in settings.protocols
                }
                score_s = time.perf_counter() - t0
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                records.append(
                    RunRecord(
                        name,
                        cold_k,
                        seed,
                        users,
                        per_user,
                        fit_s,
                        score_s,
                        rss,
                        getattr(model, "best_epoch", None),
                        type(model).is_baseline,
                        _report(model),
                    )
                )
                notify("scored", {**info, "done": len(records), "fit_seconds": fit_s})
    stats = {
        "users": data.n_users,
        "items": data.n_items,
        "interactions": int(sum(len(s) for s in data.sequences)),
        "eligible_users": len(eligible_users(data)),
    }
    notify("done", {"total": total})
    return EvaluationResult(data.name, settings, records, stats)
