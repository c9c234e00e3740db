"""m3rec's own models in the harness, and the LLM re-ranking baseline they are measured against.

- `m3rec`: MOTE plus MAR's alignment with the user's MOPE motivations (no LLM at ranking time),
  the same score `m3rec recommend --no-llm` ranks by.
- `m3rec-llm`: `m3rec`, then the LLM re-orders its top N, shown the history and the motivations.
- `llmrank`: MOTE, then the LLM re-orders its top N from the history alone (zero-shot LLM
  re-ranking of the same candidates).
- Ablations of `m3rec`: `m3rec-history` aligns with the history items' text in place of MOPE's
  motivations (without MOPE); `notesim` ranks by the raw sentence-embedding cosine of the
  motivations and the items (without MOTE).

The motivations are the profiles in the harness's store (`--store`), written beforehand by
`m3rec profile --stage test` for the cold users; the LLM is the settings' (`--model`, ...).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from m3rec.agents.reorder import MAX_CANDIDATES, order_candidates
from m3rec.encoders.config import MoteConfig
from m3rec.encoders.notes import embed_notes
from m3rec.encoders.recommender import MoteRecommender
from m3rec.errors import StructuredOutputError, Usage
from m3rec.eval.baselines.textsim import TextSim, TextSimConfig, unit
from m3rec.llm.base import LLMBackend
from m3rec.settings import ALIGN_WEIGHT


class M3RecConfig(MoteConfig):
    """MOTE's configuration with MAR's alignment weight (`[mar] align_weight`) as default."""

    align_weight: float = Field(
        default=ALIGN_WEIGHT,
        ge=0,
        description="weight of the best motivation-trait cosine (MAR), as `recommend` uses it",
    )


class RerankConfig(MoteConfig):
    """How many of the base ranking's top items the LLM re-orders, and what it is shown."""

    rerank_top: int = Field(
        default=10, ge=2, le=MAX_CANDIDATES, description="top items the LLM re-orders"
    )
    history_shown: int = Field(default=10, ge=1, description="most recent history items shown")


class M3RecLLMConfig(M3RecConfig, RerankConfig):
    """`m3rec`'s configuration and the re-ordering's."""


class M3Rec(MoteRecommender):
    """MOTE's history score plus MAR's motivation-trait alignment for users with profiles."""

    name = "m3rec"
    config_class = M3RecConfig
    reads_profiles: ClassVar[bool] = True  # the harness hands it the cold users' notes
    builds_on: ClassVar[str] = "mote"  # the harness tests it against MOTE alone


class M3RecHistory(M3Rec):
    """`m3rec` without MOPE: a profiled user's alignment reads the text of their visible history
    items (the most recent `max_notes`) where `m3rec` reads their LLM motivations."""

    name = "m3rec-history"
    builds_on: ClassVar[str] = "m3rec"  # does MOPE's text beat the history's own?

    def score(
        self, users: np.ndarray, histories: list[np.ndarray], candidates: np.ndarray | None
    ) -> np.ndarray:
        """Return `m3rec`'s scores with each profiled user's notes swapped for their history."""
        profiled = self.note_texts
        self.note_texts = {
            int(user): [self.texts[i] for i in history[-self.cfg.max_notes :]]
            for user, history in zip(users, histories, strict=True)
            if int(user) in profiled and len(history)
        }
        try:
            return super().score(users, histories, candidates)
        finally:
            self.note_texts = profiled


class NoteSim(TextSim):
    """`m3rec` without MOTE: the cosine between the mean sentence embedding of a profiled user's
    motivation notes and each candidate's text (users without notes: their history's, as
    `textsim`)."""

    name = "notesim"
    reads_profiles: ClassVar[bool] = True
    builds_on: ClassVar[str] = "m3rec"  # does MOTE's space beat raw sentence embeddings?

    def __init__(self, config: TextSimConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.profile_of: dict[int, np.ndarray] = {}  # unit mean note embedding per user

    def use_notes(self, notes: Mapping[int, list[str]]) -> None:
        """Rank these users (by index) by their notes' mean embedding instead of their history."""
        self._check_fitted()
        assert self._embed is not None
        self.profile_of = {
            u: unit(vectors.mean(axis=0)) for u, vectors in embed_notes(notes, self._embed).items()
        }

    def user_profiles(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        profile = super().user_profiles(users, histories)
        for row, user in enumerate(users):
            if (note := self.profile_of.get(int(user))) is not None:
                profile[row] = note
        return profile


class _LLMReorder(MoteRecommender):
    """The base ranking, then the LLM's order of its top `rerank_top` items for each user."""

    asks_llm: ClassVar[bool] = True  # the harness hands it the settings' LLM
    shows_motivations: ClassVar[bool] = False
    builds_on: ClassVar[str]

    def __init__(
        self,
        config: MoteConfig | None = None,
        *,
        llm: Callable[[], LLMBackend] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, **kwargs)
        self._llm = llm
        self.llm_usage = Usage()
        self.llm_failures = 0  # users whose order fell back to the base ranking
        self.llm_incomplete = 0  # replies that left candidates out (they keep the base order)
        self.llm_cached = 0  # replies read from the reply cache (asked in an earlier run)
        self.users_ordered = 0
        self.orders_unchanged = 0  # replies that gave the shown (base) order back
        self.first_picks: Counter[int] = Counter()  # shown position (1-based) the LLM put first
        self.on_order: Callable[[int], None] | None = None  # told the count after each user

    def score(
        self, users: np.ndarray, histories: list[np.ndarray], candidates: np.ndarray | None
    ) -> np.ndarray:
        """Return the base scores with each user's top items lifted above the rest, in the
        LLM's order."""
        if self._llm is None:
            raise ValueError(f"{self.name} needs an LLM: run it through the harness")
        scores = np.array(super().score(users, histories, candidates), dtype=np.float64)
        cfg = self.config
        assert isinstance(cfg, RerankConfig)
        llm = self._llm()
        hits_before = getattr(llm, "hits", 0)
        for row, user in enumerate(users):
            item_of = candidates[row] if candidates is not None else np.arange(scores.shape[1])
            columns = self._top_columns(scores[row], histories[row], item_of)
            if len(columns) < 2:
                continue
            notes = self.note_texts.get(int(user), []) if self.shows_motivations else []
            history = [self.texts[i] for i in histories[row][-cfg.history_shown :]]
            try:
                ordered = order_candidates(
                    llm, history, notes, [self.texts[item_of[c]] for c in columns]
                )
            except StructuredOutputError as e:
                self.llm_usage.include(e.usage)
                self.llm_failures += 1
                continue
            finally:
                self.users_ordered += 1
                if self.on_order is not None:
                    self.on_order(self.users_ordered)
            self.llm_usage.include(ordered.usage)
            self.llm_incomplete += not ordered.complete
            self.orders_unchanged += ordered.positions == sorted(ordered.positions)
            self.first_picks[ordered.positions[0] + 1] += 1
            top = scores[row].max() + 1.0
            for place, position in enumerate(ordered.positions):
                scores[row, columns[position]] = top + len(columns) - place
        self.llm_cached += getattr(llm, "hits", 0) - hits_before
        return scores

    def _top_columns(
        self, row_scores: np.ndarray, history: np.ndarray, item_of: np.ndarray
    ) -> list[int]:
        """Return the columns of the row's best `rerank_top` items the user may be shown
        (ITEM_OF: each column's item, -1 for padding)."""
        cfg = self.config
        assert isinstance(cfg, RerankConfig)
        seen = set(history.tolist())
        columns = []
        for c in np.argsort(-row_scores, kind="stable"):
            item = int(item_of[c])
            if item >= 0 and item not in seen:
                columns.append(int(c))
                if len(columns) == cfg.rerank_top:
                    break
        return columns

    def run_report(self) -> dict[str, Any]:
        """Return what the LLM cost in this run and how often its order could not be used
        (and what MOTE's run reports)."""
        return {
            **super().run_report(),
            "llm": {
                **dataclasses.asdict(self.llm_usage),
                "calls": self.llm_usage.calls - self.llm_cached,  # asked of the model this run
                "failed_users": self.llm_failures,
                "incomplete_orders": self.llm_incomplete,
                "cached_calls": self.llm_cached,
                "orders_unchanged": self.orders_unchanged,
                **{f"first_pick_{p}": n for p, n in sorted(self.first_picks.items())},
            },
        }


class LLMRank(_LLMReorder):
    """Zero-shot LLM re-ranking: MOTE's top items, ordered by the LLM from the history alone."""

    name = "llmrank"
    config_class = RerankConfig
    is_baseline = True
    builds_on = "mote"


class M3RecLLM(_LLMReorder):
    """`m3rec`'s top items, ordered by the LLM shown the history and the motivations."""

    name = "m3rec-llm"
    config_class = M3RecLLMConfig
    reads_profiles: ClassVar[bool] = True
    shows_motivations = True
    builds_on = "m3rec"
