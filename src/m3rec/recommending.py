"""One user through the recommendation graph: their motivations (stored or written now), then
MOTE's ranking of the items they have not touched."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from m3rec.data import Dataset
from m3rec.data.histories import PRODUCT_ITEMS, HistoryRule
from m3rec.schemas import HistoryEntry, MotivationProfile, ProfileSource, ScoredItem
from m3rec.settings import Settings


@dataclass(frozen=True)
class Recommendations:
    """What `recommend` answers: the history read, the profile and where it came from, the
    ranked items, and any step that failed (a missing profile still gives a ranking)."""

    user_id: str
    history: list[HistoryEntry]
    profile: MotivationProfile | None
    profile_source: ProfileSource | None
    items: list[ScoredItem]
    errors: list[str]
    steps: list[str]


def recommend(
    settings: Settings,
    dataset: Dataset,
    user_id: str,
    checkpoint: Path,
    *,
    n_items: int = PRODUCT_ITEMS,
    top_k: int = 10,
    store_flag: str | None = None,
) -> Recommendations:
    """Run USER_ID's N_ITEMS most recent items (the product rule) through the graph with the
    MOTE CHECKPOINT trained on DATASET; the LLM is built only if the store lacks the profile."""
    from langgraph.checkpoint.memory import InMemorySaver

    from m3rec.agents.encode import MoteScorer
    from m3rec.agents.nodes import Deps
    from m3rec.graph import build_graph
    from m3rec.llm.factory import LazyBackend, build_backend, model_identity
    from m3rec.state import RecInput
    from m3rec.store import open_store

    rule = HistoryRule(n_items=n_items)
    history = rule.history(dataset, user_id)
    scorer = MoteScorer.load(
        checkpoint,
        dataset,
        cache_dir=settings.paths.embeddings_dir,
        threads=settings.torch.threads,
    )
    deps = Deps(
        store=open_store(settings.store, flag=store_flag),
        model_id=model_identity(settings),
        llm=LazyBackend(lambda: build_backend(settings)),
        scorer=scorer,
        top_k=top_k,
        prompt_id=settings.mope.prompt_id,
    )
    graph = build_graph().compile(checkpointer=InMemorySaver())
    state: RecInput = {
        "user_id": user_id,
        "history": history,
        "history_context": rule.context(dataset.name),
    }
    try:
        final = asyncio.run(
            graph.ainvoke(state, {"configurable": {"thread_id": user_id}}, context=deps)
        )
    finally:
        deps.close()
    return Recommendations(
        user_id=user_id,
        history=history,
        profile=final.get("profile"),
        profile_source=final.get("profile_source"),
        items=final.get("candidates", []),
        errors=final.get("errors", []),
        steps=final.get("steps", []),
    )
