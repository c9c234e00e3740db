"""Batch MOPE: profile many users, resumably, with token and time accounting."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from m3rec.agents.mope import (
    HistoryEntry,
    ProfileOutcome,
    current_prompt_id,
    extract_profile,
    profile_key,
    store_profile,
)
from m3rec.data import Dataset
from m3rec.data.splits import MIN_EVAL_LENGTH
from m3rec.errors import (
    ConfigError,
    EmptyHistoryError,
    LLMAuthError,
    LLMError,
    LLMUnavailableError,
)
from m3rec.llm.base import LLMBackend
from m3rec.llm.registry import MODELS
from m3rec.settings import Settings
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

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data, rounded."""
        data = asdict(self)
        data["seconds"] = round(self.seconds, 2)
        return data


Stage = Literal["test", "valid"]


def visible_history(
    dataset: Dataset, user_id: str, cold_k: int = 0, stage: Stage = "test"
) -> list[HistoryEntry]:
    """Return what a model may see of USER_ID when predicting its STAGE item: the history before
    the test item (its last) or before the validation item (its second to last), cut to the most
    recent COLD_K items when COLD_K > 0. Users too short to be evaluated show their whole history.
    """
    events = dataset.histories[user_id]
    held_out = 1 if stage == "test" else 2
    visible = events[:-held_out] if len(events) >= MIN_EVAL_LENGTH else events
    if cold_k > 0:
        visible = visible[-cold_k:]
    return [
        HistoryEntry(e.item_id, dataset.items[e.item_id].text(), e.rating, e.timestamp)
        for e in visible
    ]


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


def model_identity(settings: Settings) -> str:
    """Return what identifies the model in cache keys: a changed model never serves old notes."""
    if settings.llm.backend == "openai":
        return f"openai:{settings.openai.base_url}:{settings.openai.model}"
    spec = MODELS.get(settings.llm.model)
    if spec is not None:
        return f"llamacpp:{spec.name}:{spec.sha256[:16]}"
    return f"llamacpp:{settings.llm.model}"


def run_profiles(
    dataset: Dataset,
    users: list[str],
    *,
    llm: Callable[[], LLMBackend],
    store: MotivationStore,
    model_id: str,
    cold_k: int = 0,
    stage: Stage = "test",
    concurrency: int = 1,
    on_progress: Callable[[str, str], None] | None = None,
) -> BatchSummary:
    """Profile USERS; skip what the store has, save each profile as it completes, retry failures.

    LLM is only called when some profile is missing, so a fully cached batch loads no model.
    A user whose reply never validates is recorded as failed; an unreachable server or a
    refused key stops the batch, keeping everything finished so far.
    """
    started = time.perf_counter()
    summary = BatchSummary()
    prompt_id = current_prompt_id()
    histories = {u: visible_history(dataset, u, cold_k, stage) for u in users}
    keys = {u: profile_key(u, histories[u], prompt_id, model_id) for u in users}
    done = store.existing_profile_keys(list(keys.values()))
    todo = [u for u in users if keys[u] not in done]
    summary.cache_hits = len(users) - len(todo)
    for user in users:
        if keys[user] in done and on_progress:
            on_progress(user, "cached")
    if todo:
        context = {"dataset": dataset.name, "cold_k": cold_k, "stage": stage}
        backend = llm()
        try:
            _run_todo(
                todo,
                histories,
                keys,
                backend,
                store,
                model_id=model_id,
                context=context,
                concurrency=concurrency,
                summary=summary,
                on_progress=on_progress,
            )
        finally:
            backend.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _run_todo(
    todo: list[str],
    histories: dict[str, list[HistoryEntry]],
    keys: dict[str, str],
    backend: LLMBackend,
    store: MotivationStore,
    *,
    model_id: str,
    context: dict[str, Any],
    concurrency: int,
    summary: BatchSummary,
    on_progress: Callable[[str, str], None] | None,
) -> None:
    model_name = str(backend.describe().get("model", model_id))
    pending: dict[Future[ProfileOutcome], str] = {}
    queue = list(todo)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        while queue or pending:
            while queue and len(pending) < max(1, concurrency):
                user = queue.pop(0)
                future = pool.submit(
                    extract_profile, backend, user, histories[user], model_name=model_name
                )
                pending[future] = user
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                user = pending.pop(future)
                try:
                    outcome = future.result()
                except (LLMUnavailableError, LLMAuthError):
                    queue.clear()
                    for other in pending:
                        other.cancel()
                    raise
                except (LLMError, EmptyHistoryError) as exc:
                    summary.failed += 1
                    summary.failures.append({"user_id": user, "error": str(exc)})
                    store.record_failure(keys[user], user, str(exc), context)
                    if on_progress:
                        on_progress(user, "failed")
                    continue
                _save(outcome, keys[user], store, model_id, context, summary)
                if on_progress:
                    on_progress(user, "profiled")


def _save(
    outcome: ProfileOutcome,
    key: str,
    store: MotivationStore,
    model_id: str,
    context: dict[str, Any],
    summary: BatchSummary,
) -> None:
    store_profile(store, key, outcome, model_id, context)
    usage = outcome.usage
    summary.profiles += 1
    summary.llm_calls += usage.calls
    summary.prompt_tokens += usage.prompt_tokens
    summary.completion_tokens += usage.completion_tokens
    summary.first_try_valid += int(outcome.first_try_valid)
    summary.cited_evidence += outcome.profile.cited_evidence
    summary.dropped_evidence += outcome.profile.dropped_evidence
