"""The demo: a real user of the bundled catalogue, their recent history, their motivations."""

from __future__ import annotations

import random
from dataclasses import dataclass

from m3rec.agents.mope import HistoryEntry, MotivationProfile, extract_profile
from m3rec.data import Dataset, bundled_catalogue_path, load_dataset
from m3rec.errors import ConfigError
from m3rec.llm.base import Usage
from m3rec.llm.factory import build_backend
from m3rec.settings import Settings


@dataclass(frozen=True)
class DemoResult:
    """What the demo shows: the history read, the profile written, and its cost."""

    dataset: str
    history: list[HistoryEntry]
    titles: dict[str, str]
    profile: MotivationProfile
    usage: Usage
    repaired: bool
    backend: dict[str, object]


def recent_history(dataset: Dataset, user_id: str, n_items: int) -> list[HistoryEntry]:
    """Return USER_ID's N_ITEMS most recent interactions as MOPE reads them, oldest first."""
    if user_id not in dataset.histories:
        raise ConfigError(f"user '{user_id}' is not in {dataset.name}: pick another with --user")
    events = dataset.histories[user_id][-n_items:]
    return [
        HistoryEntry(
            item_id=event.item_id,
            text=dataset.items[event.item_id].text(),
            rating=event.rating,
            timestamp=event.timestamp,
        )
        for event in events
    ]


def pick_user(dataset: Dataset, n_items: int, seed: int) -> str:
    """Pick a user with at least N_ITEMS interactions, reproducibly from SEED."""
    eligible = sorted(u for u, h in dataset.histories.items() if len(h) >= n_items)
    if not eligible:
        raise ConfigError(f"no user in {dataset.name} has {n_items} interactions: lower --items")
    return random.Random(seed).choice(eligible)


def run_demo(settings: Settings, *, user_id: str | None, n_items: int, seed: int) -> DemoResult:
    """Load the bundled catalogue, take one user's recent history and ask the LLM why they act."""
    dataset = load_dataset(bundled_catalogue_path())
    user = user_id or pick_user(dataset, n_items, seed)
    history = recent_history(dataset, user, n_items)
    backend = build_backend(settings)
    try:
        model_name = str(backend.describe().get("model"))
        outcome = extract_profile(backend, user, history, model_name=model_name)
        described = backend.describe()
    finally:
        backend.close()
    titles = {entry.item_id: dataset.items[entry.item_id].title for entry in history}
    return DemoResult(
        dataset=dataset.name,
        history=history,
        titles=titles,
        profile=outcome.profile,
        usage=outcome.usage,
        repaired=not outcome.first_try_valid,
        backend=described,
    )
