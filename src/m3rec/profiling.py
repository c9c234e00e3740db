"""Batch MOPE: profile many users, resumably, with token and time accounting."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from m3rec.agents.mope import DEFAULT_WINDOWS
from m3rec.agents.profiles import ProfileFailure, ProfileResult, profile_user
from m3rec.data import Dataset
from m3rec.data.histories import MIN_EVAL_LENGTH, HistoryRule
from m3rec.errors import ConfigError, LLMAuthError, LLMUnavailableError, StoreUnavailableError
from m3rec.llm.base import LLMBackend, Usage
from m3rec.llm.factory import LazyBackend
from m3rec.settings import HistoryWindows
from m3rec.store import MotivationStore

logger = logging.getLogger(__name__)


@dataclass
class BatchSummary:
    """What a profile batch did and cost."""

    profiles: int = 0
    llm_calls: int = 0
    cache_hits: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    first_try_valid: int = 0
    cited_evidence: int = 0
    dropped_evidence: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    users: list[dict[str, str]] = field(default_factory=list)  # each user: key and outcome
    results: dict[str, ProfileResult] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data, rounded: the counts, and each user's profile
        key and outcome (profiled, cached or failed), not the profiles themselves."""
        data = {k: v for k, v in asdict(self).items() if k != "results"}
        data["seconds"] = round(self.seconds, 2)
        return data

    def count(self, usage: Usage) -> None:
        """Add what some LLM calls cost, whether or not they ended in a profile."""
        self.llm_calls += usage.calls
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens


def select_users(dataset: Dataset, spec: str, seed: int) -> list[str]:
    """Resolve --users: a bare number N is a count (a seeded sample of users with 3+ interactions);
    anything with a comma is a list of ids ('12,' is the one user 12)."""
    spec = spec.strip()
    if spec.isdigit():
        count = int(spec)
        eligible = sorted(u for u, h in dataset.histories.items() if len(h) >= MIN_EVAL_LENGTH)
        if count < 1:
            raise ConfigError("--users must be at least 1")
        return random.Random(seed).sample(eligible, min(count, len(eligible)))
    users = [u.strip() for u in spec.split(",") if u.strip()]
    unknown = [u for u in users if u not in dataset.histories]
    if unknown:
        raise ConfigError(
            f"unknown user id(s) {', '.join(unknown[:5])} in {dataset.name}: check --users"
        )
    if not users:
        raise ConfigError("--users is empty: give a count or comma-separated user ids")
    return users


def run_profiles(
    dataset: Dataset,
    users: list[str],
    *,
    llm: Callable[[], LLMBackend],
    store: MotivationStore,
    model_id: str,
    prompt_id: str | None = None,
    windows: HistoryWindows = DEFAULT_WINDOWS,
    rule: HistoryRule | None = None,
    concurrency: int = 1,
    skip_failed: bool = False,
    on_progress: Callable[[str, str], None] | None = None,
) -> BatchSummary:
    """Profile USERS with the history RULE (default: the product rule), one `profile_user` call
    each: what the store has is reused, each new profile is saved as it completes.

    LLM is only called when some profile is missing, so a fully cached batch loads no model.
    A user whose reply never validates is recorded as failed (its calls and tokens still
    counted); an unreachable LLM or Chroma server or a refused key stops the batch, keeping
    everything finished so far. SKIP_FAILED: a user the store records as failed for the same
    key (same history, prompt, model and windows) is reported failed again without a call; a
    local model at temperature 0 would give the same replies.
    """
    rule = rule or HistoryRule()
    started = time.perf_counter()
    summary = BatchSummary()
    context = rule.context(dataset.name)
    histories = {u: rule.history(dataset, u) for u in users}
    backend = LazyBackend(llm)
    failed = {f["key"]: f["error"] for f in store.list_failures()} if skip_failed else None
    pending: dict[Future[ProfileResult], str] = {}
    queue = list(users)
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            while queue or pending:
                while queue and len(pending) < max(1, concurrency):
                    user = queue.pop(0)
                    future = pool.submit(
                        profile_user,
                        store,
                        backend,
                        user,
                        histories[user],
                        model_id=model_id,
                        context=context,
                        prompt_id=prompt_id,
                        windows=windows,
                        failed=failed,
                    )
                    pending[future] = user
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    _collect(future, pending.pop(future), summary, on_progress, queue, pending)
    finally:
        backend.close()
        position = {u: i for i, u in enumerate(users)}
        summary.users.sort(key=lambda row: position[row["user_id"]])
        summary.seconds = time.perf_counter() - started
    return summary


def _collect(
    future: Future[ProfileResult],
    user: str,
    summary: BatchSummary,
    on_progress: Callable[[str, str], None] | None,
    queue: list[str],
    pending: dict[Future[ProfileResult], str],
) -> None:
    try:
        result = future.result()
    except (LLMUnavailableError, LLMAuthError, StoreUnavailableError):
        queue.clear()
        for other in pending:
            other.cancel()
        raise
    except ProfileFailure as exc:
        summary.failed += 1
        summary.failures.append({"user_id": user, "error": str(exc)})
        summary.users.append({"user_id": user, "key": exc.key, "outcome": "failed"})
        summary.count(exc.usage)
        if on_progress:
            on_progress(user, "failed")
        return
    summary.results[user] = result
    outcome = "cached" if result.source == "store" else "profiled"
    summary.users.append({"user_id": user, "key": result.key, "outcome": outcome})
    if result.source == "store":
        summary.cache_hits += 1
    else:
        summary.profiles += 1
        summary.count(result.usage)
        summary.first_try_valid += int(result.first_try_valid)
        summary.cited_evidence += result.profile.cited_evidence
        summary.dropped_evidence += result.profile.dropped_evidence
    if on_progress:
        on_progress(user, outcome)
