"""MAR's nodes: retrieve candidates, align them with the motivations, explain the top items,
check the reasons, and answer.

Each node returns a partial update. The scorer chooses, for each candidate, the motivation it
serves best and that motivation's evidence; the LLM only words the reasons, and every reason is
checked against the history, the profile and the item before it is shown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from langgraph.config import get_stream_writer

from m3rec.agents.encode import MoteScorer
from m3rec.agents.notes import note_text, profile_notes
from m3rec.agents.reason_checks import ReasonChecker, repair_note, template_reason
from m3rec.agents.reason_drafts import ReasonDraft
from m3rec.agents.reason_stream import ReasonStream
from m3rec.agents.reasons import draft_reasons, motivation_labels
from m3rec.agents.reorder import order_candidates
from m3rec.agents.retrieval import retrieve_with_sources
from m3rec.agents.steering import allowed, citable
from m3rec.data.types import Item
from m3rec.encoders.alignment import Alignments, MotivationSpace, aligned_scores
from m3rec.errors import LLMError, ModelError, Usage
from m3rec.ranking.cooccurrence import CoConsumption
from m3rec.schemas import (
    REASON_MAX_EVIDENCE,
    AlignedItem,
    FocusReport,
    HistoryEntry,
    MotivationProfile,
    Reason,
    ReasonSource,
)
from m3rec.settings import MarSettings
from m3rec.state import RecState

logger = logging.getLogger(__name__)
FIT_RANK = 100  # an item explained beyond this rank gets the numbers, not a reason it fits


@dataclass
class MarContext:
    """What MAR's nodes need beside the store and the LLM: the scorer over the catalogue it was
    trained on, co-consumption, the reason checker, and MAR's settings."""

    scorer: MoteScorer
    items: Mapping[str, Item]
    cooc: CoConsumption
    checker: ReasonChecker
    settings: MarSettings = field(default_factory=MarSettings)
    top_k: int = 10
    use_llm: bool = True  # False: template reasons, no LLM at ranking time
    space: MotivationSpace | None = None

    def reorders(self, ranked: Sequence[AlignedItem], focus: FocusReport | None) -> bool:
        """Whether the LLM re-orders this ranking after align: the settings ask for it, there
        are two items or more, and it is not one item being explained."""
        return self.use_llm and self.settings.reorder and focus is None and len(ranked) > 1

    def motivation_space(self) -> MotivationSpace:
        """Return MOTE's motivation space, built on first use."""
        if self.space is None:
            self.space = MotivationSpace(self.scorer.model)
        return self.space


def _citable(state: RecState, mar: MarContext) -> list[HistoryEntry]:
    """Return what the reasons may cite: the history, and the items a conversation pointed at."""
    return citable(mar.items, state["history"], state.get("steering"))


def _notes(profile: MotivationProfile | None) -> list[str]:
    if profile is None:
        return []
    return [note_text(m.label, m.description, m.kind) for m in profile.motivations]


def rank_candidates(
    mar: MarContext,
    user_id: str,
    history: Sequence[HistoryEntry],
    profile: MotivationProfile | None,
    candidates: list[str],
    chat_from: int | None = None,
    citable_ids: Sequence[str] = (),
) -> list[AlignedItem]:
    """Return CANDIDATES best first: MOTE's history score plus `align_weight` times the cosine
    of the motivation each serves best, with that motivation and its evidence kept (the
    evidence that is in the history or CITABLE_IDS). The profile's motivations from CHAT_FROM
    on were said in a conversation: each of their cosines is weighed by `chat_weight` instead,
    and the item keeps the motivation of the largest weighed cosine."""
    history_ids = [h.item_id for h in history]
    base = mar.scorer.history_scores(user_id, history_ids, candidates)
    notes = _notes(profile)
    if not notes or profile is None:
        order = np.argsort(-base, kind="stable")
        nearest = _nearest_history(mar, history_ids, candidates)
        return [
            AlignedItem(candidates[i], float(base[i]), float(base[i]), evidence=nearest[i])
            for i in order
        ]
    space = mar.motivation_space()
    index = mar.scorer.index
    cand_idx = np.array([index[c] for c in candidates], dtype=np.int64)
    alignment = space.align(space.motivation_vectors(notes), cand_idx)
    if chat_from is not None and chat_from < len(notes):
        alignment = weighed(alignment, chat_from, mar.settings)
        scores = aligned_scores(base, alignment.strength, 1.0)
    else:
        scores = aligned_scores(base, alignment.strength, mar.settings.align_weight)
    order = np.argsort(-scores, kind="stable")
    in_history = set(history_ids) | set(citable_ids)
    ranked = []
    for i in order:
        m = int(alignment.best[i])
        evidence = [e for e in profile.motivations[m].evidence if e in in_history]
        ranked.append(
            AlignedItem(
                candidates[i],
                float(scores[i]),
                float(base[i]),
                float(alignment.strength[i]),
                m,
                _closest(mar, evidence, candidates[i]),
            )
        )
    return ranked


def weighed(alignment: Alignments, chat_from: int, settings: MarSettings) -> Alignments:
    """Return ALIGNMENT with each motivation's cosines times its weight (`align_weight` before
    CHAT_FROM, `chat_weight` from it on), each item's best motivation the largest of them."""
    weights = np.full(len(alignment.cosines), settings.align_weight)
    weights[chat_from:] = settings.chat_weight
    weighted = alignment.cosines * weights[:, None]
    best = weighted.argmax(axis=0)
    return Alignments(alignment.cosines, best, weighted[best, np.arange(weighted.shape[1])])


def _closest(mar: MarContext, evidence: list[str], item: str) -> tuple[str, ...]:
    """Return EVIDENCE ordered by how close each is to ITEM in MOTE's space, at most three."""
    if len(evidence) <= 1:
        return tuple(evidence)
    space, index = mar.motivation_space(), mar.scorer.index
    known = [e for e in evidence if e in index]
    vectors = space.trait_vectors(np.array([index[e] for e in known], dtype=np.int64))
    target = space.trait_vectors(np.array([index[item]], dtype=np.int64))[0]
    order = np.argsort(-(vectors @ target), kind="stable")
    return tuple(known[i] for i in order[:REASON_MAX_EVIDENCE])


def _nearest_history(
    mar: MarContext, history: list[str], candidates: list[str]
) -> list[tuple[str, ...]]:
    """Return, for each candidate, the (at most two) history items nearest to it."""
    index = mar.scorer.index
    known = [h for h in history if h in index]
    if not known:
        return [() for _ in candidates]
    space = mar.motivation_space()
    hist = space.trait_vectors(np.array([index[h] for h in known], dtype=np.int64))
    cand = space.trait_vectors(np.array([index[c] for c in candidates], dtype=np.int64))
    sims = cand @ hist.T
    return [tuple(known[j] for j in np.argsort(-row, kind="stable")[:2]) for row in sims]


def focus_report(
    mar: MarContext,
    history: Sequence[HistoryEntry],
    profile: MotivationProfile | None,
    ranked: list[AlignedItem],
    item_id: str,
) -> FocusReport:
    """Return where ITEM_ID stands in RANKED (every item the user could get, best first): its
    rank, how it aligns with each motivation, and the history items nearest to it."""
    position = next(i for i, a in enumerate(ranked) if a.item_id == item_id)
    cosines: tuple[float, ...] = ()
    if notes := _notes(profile):
        space = mar.motivation_space()
        item = np.array([mar.scorer.index[item_id]], dtype=np.int64)
        cosines = tuple(
            float(c) for c in space.align(space.motivation_vectors(notes), item).cosines[:, 0]
        )
    history_ids = [h.item_id for h in history]
    nearest = _nearest_history(mar, history_ids, [item_id])[0]
    return FocusReport(item_id, position + 1, len(ranked), ranked[0].score, cosines, nearest)


def _mar(runtime: Any) -> MarContext:
    mar = runtime.context.mar
    assert mar is not None, "route_after_profile sends the graph here only with MAR's context"
    return mar


async def retrieve(state: RecState, runtime: Any) -> dict[str, Any]:
    """Gather candidates: Chroma's nearest items to the user and their motivations, and items
    co-consumed with their history; never one they already have. To explain one item, every
    item they could get is a candidate, so its rank is exact."""
    deps, mar = runtime.context, _mar(runtime)
    history = [h.item_id for h in state["history"]]
    notes = _notes(state.get("profile"))
    steering = state.get("steering")
    if focus := state.get("focus_item"):
        seen = mar.scorer.seen_items(state["user_id"], history)
        every = [i for i in mar.scorer.item_ids if i not in seen]
        if steering is not None:  # ranked among what the conversation lets through
            kept = set(allowed(mar.items, every, steering))
            every = [i for i in every if i == focus or i in kept]
        return {"candidate_ids": every, "steps": ["retrieve"]}

    def run() -> list[str]:
        queries = mar.motivation_space().motivation_vectors(notes) if notes else None
        return retrieve_with_sources(
            mar.scorer,
            deps.store,
            mar.cooc,
            state["user_id"],
            history,
            queries,
            n_vector=mar.settings.vector_candidates,
            n_cf=mar.settings.cf_candidates,
        ).candidates

    found = await asyncio.to_thread(run)
    if steering is not None:
        found = allowed(mar.items, found, steering)
    return {"candidate_ids": found, "steps": ["retrieve"]}


async def align(state: RecState, runtime: Any) -> dict[str, Any]:
    """Score every candidate against the motivations and the history; keep the top K (or, to
    explain one item, that item and where it stands)."""
    mar = _mar(runtime)
    ranked = await asyncio.to_thread(
        rank_candidates,
        mar,
        state["user_id"],
        state["history"],
        state.get("profile"),
        state.get("candidate_ids", []),
        state.get("chat_from"),
        [e.item_id for e in _citable(state, mar)],
    )
    if focus := state.get("focus_item"):
        report = focus_report(mar, state["history"], state.get("profile"), ranked, focus)
        aligned = ranked[report.rank - 1]
        return {"ranked": [aligned], "focus": report, "steps": ["align"]}
    return {"ranked": ranked[: mar.top_k], "steps": ["align"]}


def route_after_align(state: RecState, runtime: Any) -> Literal["reorder", "explain", "respond"]:
    """Let the LLM re-order the top items when the settings ask for it (never for one item
    being explained), then ask it for reasons."""
    if _mar(runtime).reorders(state.get("ranked", []), state.get("focus")):
        return "reorder"
    return route_after_reorder(state, runtime)


def route_after_reorder(state: RecState, runtime: Any) -> Literal["explain", "respond"]:
    """Ask the LLM for reasons when it is allowed and there is a profile to name."""
    mar = _mar(runtime)
    wanted = mar.use_llm and mar.settings.reasons > 0 and state.get("profile") is not None
    if (focus := state.get("focus")) is not None and focus.rank > FIT_RANK:
        wanted = False
    return "explain" if wanted and state.get("ranked") else "respond"


async def reorder(state: RecState, runtime: Any) -> dict[str, Any]:
    """Let the LLM order the top `mar.reorder_top` items from the history and the motivations
    (`agents.reorder`, as the harness's m3rec-llm does); an LLM that fails leaves the scorer's
    order, with one warning."""
    deps, mar = runtime.context, _mar(runtime)
    ranked: list[AlignedItem] = state["ranked"]
    head = ranked[: mar.settings.reorder_top]
    profile = state.get("profile")
    history = [h.title or h.text for h in state["history"]]
    texts = [mar.items[a.item_id].text() for a in head]
    notes = profile_notes(profile) if profile is not None else []
    try:
        ordered = await asyncio.to_thread(
            lambda: order_candidates(deps.llm(), history, notes, texts)
        )
    except (LLMError, ModelError) as exc:
        spent = getattr(exc, "usage", None)
        return {
            "ranked": ranked,
            "errors": [f"the LLM did not re-order the list ({exc}); the scorer's order is kept"],
            "reason_usage": [spent] if isinstance(spent, Usage) else [],
            "steps": ["reorder"],
        }
    return {
        "ranked": [head[i] for i in ordered.positions] + ranked[len(head) :],
        "reason_usage": [ordered.usage],
        "steps": ["reorder"],
    }


async def explain(state: RecState, runtime: Any) -> dict[str, Any]:
    """Ask the LLM to word the reasons of the top items (on a second pass, only the rejected
    ones, told what was wrong); an LLM that fails leaves them to the template.

    Each reason is checked as soon as the reply closes it, and a kept one goes out on the
    graph's custom stream ({"reason": Reason}) while the rest are still being written."""
    deps, mar = runtime.context, _mar(runtime)
    profile = state["profile"]
    assert profile is not None
    rejected = state.get("rejected", {})
    kept = state.get("reasons", {})
    top = state["ranked"][: mar.settings.reasons]
    repair = {a.item_id: repair_note(rejected[a.item_id]) for a in top if a.item_id in rejected}
    todo = [a for a in top if a.item_id in repair] if repair else top
    todo = [a for a in todo if a.item_id not in kept]
    attempt = state.get("attempt", 0) + 1
    write = get_stream_writer()
    stream = ReasonStream(
        mar.checker,
        shown=[a.item_id for a in top],
        history=_citable(state, mar),
        profile=profile,
        labels=motivation_labels(todo, profile),
        source="llm" if attempt == 1 else "regenerated",
        prior=[reason_as_draft(r) for r in kept.values()],
        emit=lambda reason: write({"reason": reason}),
    )
    try:
        drafted = await asyncio.to_thread(
            lambda: draft_reasons(
                deps.llm(),
                mar.items,
                todo,
                profile,
                _citable(state, mar),
                repair=repair or None,
                on_text=stream,
                version=mar.settings.reasons_prompt,
            )
        )
    except (LLMError, ModelError) as exc:
        note = f"the LLM wrote no reasons ({exc}); template reasons are shown"
        if stream.kept:
            note = f"the LLM's reply broke off ({exc}); the reasons it finished are kept"
        spent = getattr(exc, "usage", None)  # a failed structured call still cost its attempts
        return {
            "drafts": [],
            "reasons": stream.kept,
            "attempt": 2,
            "errors": [note],
            "reason_usage": [spent] if isinstance(spent, Usage) else [],
            "steps": ["explain"],
        }
    return {
        "drafts": [d for d in drafted.drafts if d.item_id not in stream.kept],
        "reasons": stream.kept,
        "attempt": attempt,
        "reason_usage": [drafted.usage],
        "steps": ["explain"],
    }


def reason_as_draft(reason: Reason) -> ReasonDraft:
    """Return a kept reason as the checker reads a draft (to judge later drafts beside it)."""
    return ReasonDraft(
        item_id=reason.item_id,
        motivation=reason.motivation,
        evidence=list(reason.evidence),
        reason=reason.text,
    )


async def check_reasons(state: RecState, runtime: Any) -> dict[str, Any]:
    """Keep the drafted reasons that pass the checker; remember what the others broke."""
    mar = _mar(runtime)
    profile = state["profile"]
    assert profile is not None
    drafts: list[ReasonDraft] = state.get("drafts", [])
    shown = [a.item_id for a in state["ranked"][: mar.settings.reasons]]
    prior = [reason_as_draft(r) for r in state.get("reasons", {}).values()]
    verdicts = mar.checker.check(
        [*prior, *drafts], shown=shown, history=_citable(state, mar), profile=profile
    )
    source: ReasonSource = "llm" if state.get("attempt", 1) == 1 else "regenerated"
    before = state.get("rejected", {})
    kept: dict[str, Reason] = {}
    rejected: dict[str, tuple[str, ...]] = {}
    for draft in drafts:
        rules = verdicts.get(draft.item_id, ())
        if draft.item_id not in shown:
            continue
        if rules:
            rejected[draft.item_id] = tuple(dict.fromkeys(before.get(draft.item_id, ()) + rules))
            continue
        kept[draft.item_id] = Reason(
            draft.item_id,
            draft.reason,
            draft.motivation,
            tuple(draft.evidence),
            source,
            before.get(draft.item_id, ()),
        )
    done = kept.keys() | state.get("reasons", {}).keys()
    for item, rules in before.items():  # not asked again (the regeneration failed): still broken
        if item not in done and item not in rejected:
            rejected[item] = rules
    return {"reasons": kept, "rejected": rejected, "steps": ["check_reasons"]}


def route_after_check(state: RecState, runtime: Any) -> Literal["explain", "respond"]:
    """Regenerate the rejected reasons once; then answer (the template covers the rest)."""
    kept = state.get("reasons", {})
    pending = [i for i in state.get("rejected", {}) if i not in kept]
    return "explain" if pending and state.get("attempt", 1) < 2 else "respond"


async def respond(state: RecState, runtime: Any) -> dict[str, Any]:
    """Give every ranked item a reason: the checked LLM one, else the template's."""
    mar = _mar(runtime)
    profile = state.get("profile")
    kept = state.get("reasons", {})
    rejected = state.get("rejected", {})
    reasons: dict[str, Reason] = {}
    focus = state.get("focus")
    for aligned in state.get("ranked", []):
        reason = kept.get(aligned.item_id)
        if focus is not None and focus.rank > FIT_RANK:
            reason = misfit_reason(focus, aligned, profile, mar.items)
        if reason is None:
            reason = template_reason(
                mar.items[aligned.item_id],
                aligned,
                profile,
                _citable(state, mar),
                checker=mar.checker,
            )
            if broken := rejected.get(aligned.item_id):
                reason = replace(reason, rejected=broken)
        reasons[aligned.item_id] = reason
    return {"reasons": reasons, "steps": ["respond"]}


def misfit_reason(
    focus: FocusReport,
    aligned: AlignedItem,
    profile: MotivationProfile | None,
    items: Mapping[str, Item],
) -> Reason:
    """Return the plain account of an item that does not fit: where it ranks, how far below the
    top it scores, and its best and worst aligned motivations (a template, from the numbers)."""
    text = (
        f"It ranks {focus.rank:,} of {focus.of:,} for you "
        f"(score {aligned.score:.2f}; your top item scores {focus.top_score:.2f})"
    )
    label = ""
    if profile is not None and focus.cosines:
        order = sorted(range(len(focus.cosines)), key=lambda i: -focus.cosines[i])
        best, worst = order[0], order[-1]
        label = profile.motivations[best].label
        text += f": its closest motivation of yours, {label}, aligns at {focus.cosines[best]:.2f}"
        if worst != best:
            worst_label = profile.motivations[worst].label
            text += f", and {worst_label} at {focus.cosines[worst]:.2f}"
    if focus.nearest:
        titles = " and ".join(items[i].title for i in focus.nearest if i in items)
        text += f"; the nearest of your items are {titles}"
    return Reason(aligned.item_id, text + ".", label, focus.nearest, "template")


def total_usage(usages: Sequence[Usage]) -> Usage:
    """Return what all the reason calls cost together."""
    total = Usage()
    for usage in usages:
        total.include(usage)
    return total
