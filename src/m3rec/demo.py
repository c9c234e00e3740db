"""The demo: a real user of the bundled catalogue, their recent history, their motivations."""

from __future__ import annotations

import random
from dataclasses import dataclass

from m3rec.agents.profiles import ProfileResult, profile_user
from m3rec.data import Dataset, bundled_catalogue_path, load_dataset
from m3rec.data.histories import HistoryRule
from m3rec.errors import ConfigError
from m3rec.llm.factory import LazyBackend, build_backend, model_identity
from m3rec.schemas import HistoryEntry
from m3rec.settings import Settings
from m3rec.store import open_store


@dataclass(frozen=True)
class DemoResult:
    """What the demo shows: the history read, the profile (stored or written now), its cost."""

    dataset: str
    history: list[HistoryEntry]
    titles: dict[str, str]
    result: ProfileResult
    backend: dict[str, object]


def pick_user(dataset: Dataset, n_items: int, seed: int) -> str:
    """Pick a user with at least N_ITEMS interactions, reproducibly from SEED."""
    eligible = sorted(u for u, h in dataset.histories.items() if len(h) >= n_items)
    if not eligible:
        raise ConfigError(f"no user in {dataset.name} has {n_items} interactions: lower --items")
    return random.Random(seed).choice(eligible)


def run_demo(
    settings: Settings,
    *,
    user_id: str | None,
    n_items: int,
    seed: int,
    store_flag: str | None = None,
) -> DemoResult:
    """Load the bundled catalogue, take one user's recent history (the product rule) and read
    why they act: from the store when this history was profiled before, else by the LLM."""
    dataset = load_dataset(bundled_catalogue_path())
    user = user_id or pick_user(dataset, n_items, seed)
    rule = HistoryRule(n_items=n_items)
    history = rule.history(dataset, user)
    backend = LazyBackend(lambda: build_backend(settings))
    try:
        result = profile_user(
            open_store(settings.store, flag=store_flag),
            backend,
            user,
            history,
            model_id=model_identity(settings),
            context=rule.context(dataset.name),
            prompt_id=settings.mope.prompt_id,
            windows=settings.mope.windows,
        )
        described = backend().describe() if result.source == "llm" else _configured(settings)
    finally:
        backend.close()
    titles = {entry.item_id: dataset.items[entry.item_id].title for entry in history}
    return DemoResult(dataset.name, history, titles, result, described)


def _configured(settings: Settings) -> dict[str, object]:
    if settings.llm.backend == "openai":
        return {"backend": "openai", "model": settings.openai.model}
    return {"backend": "llamacpp", "model": settings.llm.model}
