"""One user through the recommendation graph: their motivations (stored or written now), the
candidates, MAR's alignment, and a checked reason for every item."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from m3rec.data import Dataset
from m3rec.data.histories import PRODUCT_ITEMS, HistoryRule
from m3rec.errors import Usage
from m3rec.schemas import (
    AlignedItem,
    FocusReport,
    HistoryEntry,
    MotivationProfile,
    ProfileSource,
    Reason,
    Steering,
)
from m3rec.settings import Settings

if TYPE_CHECKING:
    from m3rec.agents.nodes import Deps
    from m3rec.state import RecInput

# Called with MAR's ranking and the user's profile, before any reason is written.
OnRanked = Callable[[list[AlignedItem], MotivationProfile | None], None]
# Called with each LLM reason as soon as it has passed the check, while the rest are written.
OnReason = Callable[[Reason], None]


@dataclass(frozen=True)
class Recommendations:
    """What `recommend` answers: the history read, the profile and where it came from, the
    ranked items with their reasons, any step that failed, the graph's path and what the
    reasons cost."""

    user_id: str
    history: list[HistoryEntry]
    profile: MotivationProfile | None
    profile_source: ProfileSource | None
    ranked: list[AlignedItem]
    reasons: dict[str, Reason]
    errors: list[str]
    steps: list[str]
    reason_usage: Usage = field(default_factory=Usage)
    focus: FocusReport | None = None  # `explain`: where the item stands


class RecommendPipeline:
    """The graph with everything it needs for one dataset and MOTE checkpoint, built once and
    used for any number of users (the LLM only if a profile or a reason needs writing)."""

    def __init__(
        self,
        settings: Settings,
        dataset: Dataset,
        checkpoint: Path,
        *,
        top_k: int = 10,
        use_llm: bool = True,
        store_flag: str | None = None,
    ) -> None:
        from m3rec.agents.encode import MoteScorer
        from m3rec.agents.mar import MarContext
        from m3rec.agents.nodes import Deps
        from m3rec.agents.reason_checks import ReasonChecker
        from m3rec.data import index_dataset
        from m3rec.graph import build_graph
        from m3rec.llm.factory import LazyBackend, build_backend, model_identity
        from m3rec.ranking.cooccurrence import CoConsumption
        from m3rec.store import open_store

        self.dataset = dataset
        scorer = MoteScorer.load(
            checkpoint,
            dataset,
            cache_dir=settings.paths.embeddings_dir,
            threads=settings.torch.threads,
        )
        indexed = index_dataset(dataset)
        mar = MarContext(
            scorer=scorer,
            items=dataset.items,
            cooc=CoConsumption(indexed.sequences, indexed.n_items),
            checker=ReasonChecker(dataset.items),
            settings=settings.mar,
            top_k=top_k,
            use_llm=use_llm,
        )
        self.deps: Deps = Deps(
            store=open_store(settings.store, flag=store_flag),
            model_id=model_identity(settings),
            llm=LazyBackend((lambda: build_backend(settings)) if use_llm else _no_llm),
            prompt_id=settings.mope.prompt_id,
            windows=settings.mope.windows,
            mar=mar,
        )
        self.use_llm = use_llm
        # No checkpointer, not even a conversation's when a chat turn runs it: one
        # recommendation is one run, and a saver would copy the state at every step.
        self.graph = build_graph().compile(checkpointer=False)

    def recommend(
        self,
        user_id: str,
        *,
        n_items: int = PRODUCT_ITEMS,
        rule: HistoryRule | None = None,
        on_ranked: OnRanked | None = None,
        on_reason: OnReason | None = None,
        steering: Steering | None = None,
        said: list[HistoryEntry] | None = None,
    ) -> Recommendations:
        """Run USER_ID's N_ITEMS most recent items (the product rule) through the graph; an
        unknown user is a DataError. RULE, when given, cuts the history instead (a benchmark
        reads test-stage histories). ON_RANKED is called with the final ranking (after the
        LLM's re-ordering, when on) and the profile as soon as they are known, before any
        reason is written; ON_REASON with each checked LLM reason as it streams in. STEERING:
        what a conversation said (motivations, exclusions, motivations to forget); SAID: a new
        person's history, as `said_history` makes it from what they named."""
        state = self._state(user_id, rule or HistoryRule(n_items=n_items), steering, said)
        return self._invoke(state, on_ranked, on_reason)

    def explain(
        self,
        user_id: str,
        item_id: str,
        *,
        n_items: int = PRODUCT_ITEMS,
        steering: Steering | None = None,
        said: list[HistoryEntry] | None = None,
    ) -> Recommendations:
        """Explain why ITEM_ID fits USER_ID (whose history is SAID, when given), or where it
        stands if it does not; an unknown item, or one the user already has, is a DataError."""
        from m3rec.data.errors import DataError

        dataset = self.dataset
        if item_id not in dataset.items:
            raise DataError(f"item '{item_id}' is not in {dataset.name}: check --item")
        state = self._state(user_id, HistoryRule(n_items=n_items), steering, said)
        mar = self.deps.mar
        assert mar is not None
        seen = mar.scorer.seen_items(user_id, [h.item_id for h in state["history"]])
        if item_id in seen:
            title = dataset.items[item_id].title
            raise DataError(
                f"user {user_id} already has item {item_id} ({title}): explain an item they "
                "have not had (see `m3rec recommend`)"
            )
        state["focus_item"] = item_id
        return self._invoke(state, None)

    def _state(
        self,
        user_id: str,
        rule: HistoryRule,
        steering: Steering | None = None,
        said: list[HistoryEntry] | None = None,
    ) -> RecInput:
        from m3rec.data.histories import said_context

        state: RecInput = {
            "user_id": user_id,
            "history": said if said is not None else rule.history(self.dataset, user_id),
            "history_context": (
                said_context(self.dataset.name, len(said))
                if said is not None
                else rule.context(self.dataset.name)
            ),
        }
        if steering is not None:
            state["steering"] = steering
        return state

    def _invoke(
        self, state: RecInput, on_ranked: OnRanked | None, on_reason: OnReason | None = None
    ) -> Recommendations:
        final = asyncio.run(self._run(state, on_ranked, on_reason))
        from m3rec.agents.mar import total_usage

        usage = total_usage(final.get("reason_usage", []))
        return Recommendations(
            user_id=state["user_id"],
            history=state["history"],
            profile=final.get("profile"),
            profile_source=final.get("profile_source"),
            ranked=final.get("ranked", []),
            reasons=final.get("reasons", {}),
            errors=final.get("errors", []),
            steps=final.get("steps", []),
            reason_usage=usage,
            focus=final.get("focus"),
        )

    async def _run(
        self, state: RecInput, on_ranked: OnRanked | None, on_reason: OnReason | None
    ) -> dict[str, Any]:
        final: dict[str, Any] = {}
        profile = None
        async for mode, chunk in self.graph.astream(
            state,
            context=self.deps,
            stream_mode=["updates", "values", "custom"],
        ):
            if mode == "values":
                final = chunk  # type: ignore[assignment]
                continue
            if mode == "custom":
                reason = chunk.get("reason") if isinstance(chunk, dict) else None
                if on_reason is not None and isinstance(reason, Reason):
                    on_reason(reason)
                continue
            update = chunk.get("extract_motivations") or {}  # type: ignore[union-attr]
            profile = update.get("profile", profile)
            ranked = chunk.get("reorder") or chunk.get("align")  # type: ignore[union-attr]
            if on_ranked is not None and ranked and "ranked" in ranked:
                mar = self.deps.mar
                if "align" in chunk and mar is not None and mar.reorders(ranked["ranked"], None):  # type: ignore[operator]
                    continue  # shown once the LLM has ordered it
                on_ranked(ranked["ranked"], profile)
        return final

    def close(self) -> None:
        """Close the LLM backend if a node built it."""
        self.deps.close()


def _no_llm() -> Any:
    from m3rec.errors import LLMDisabledError

    raise LLMDisabledError(
        "none is stored for this history, and --no-llm writes none: run `m3rec profile "
        "--user ID` first"
    )


def recommend(
    settings: Settings,
    dataset: Dataset,
    user_id: str,
    checkpoint: Path,
    *,
    n_items: int = PRODUCT_ITEMS,
    top_k: int = 10,
    use_llm: bool = True,
    store_flag: str | None = None,
) -> Recommendations:
    """Recommend TOP_K items to USER_ID of DATASET with the MOTE CHECKPOINT trained on it."""
    pipeline = RecommendPipeline(
        settings, dataset, checkpoint, top_k=top_k, use_llm=use_llm, store_flag=store_flag
    )
    try:
        return pipeline.recommend(user_id, n_items=n_items)
    finally:
        pipeline.close()
