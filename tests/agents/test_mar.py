"""MAR through a fresh graph per test: a real MOTE checkpoint on the MovieLens slice, a real
in-memory Chroma store, profiles replayed from the default model's recorded replies, and the
reasons step fed at the wire."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from m3rec.agents.reason_checks import check_reasons
from m3rec.data import load_dataset
from m3rec.encoders.pipeline import train_mote
from m3rec.llm.factory import LazyBackend
from m3rec.recommending import Recommendations, RecommendPipeline
from m3rec.schemas import ReasonDraft
from m3rec.settings import MarSettings, Settings, StoreSettings
from tests.conftest import SMALL_MOTE
from tests.replies import LibraryBackend, RawReasons

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "ml-latest-slice"
N_ITEMS = 20  # the slice's library profiles read 20 items
FULL_PATH = [
    "load_user",
    "extract_motivations",
    "retrieve",
    "align",
    "explain",
    "check_reasons",
    "respond",
]


@pytest.fixture(scope="module")
def dataset():  # type: ignore[no-untyped-def]
    return load_dataset(SLICE)


@pytest.fixture(scope="module")
def checkpoint(dataset, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("mote") / "mote.pt"
    train_mote(dataset, path, overrides=SMALL_MOTE)
    return path


def run(
    dataset, checkpoint, backend, user="4", *, use_llm=True, on_reason=None, **mar
) -> Recommendations:  # type: ignore[no-untyped-def]
    settings = Settings(store=StoreSettings(kind="memory"), mar=MarSettings(**mar))
    pipeline = RecommendPipeline(settings, dataset, checkpoint, top_k=8, use_llm=use_llm)
    pipeline.deps.llm = LazyBackend(lambda: backend)
    try:
        return pipeline.recommend(user, n_items=N_ITEMS, on_reason=on_reason)
    finally:
        pipeline.close()


def test_garbage_from_the_llm_gives_template_reasons_and_one_warning(dataset, checkpoint) -> None:  # type: ignore[no-untyped-def]
    garbage = "Sure! Here are some great picks for you: 1. Toy Story 2. Heat"
    backend = RawReasons([garbage, garbage])
    answer = run(dataset, checkpoint, backend)
    assert answer.steps == FULL_PATH and answer.profile is not None
    assert len(answer.ranked) == 8 and backend.reason_requests == 2
    assert answer.reason_usage.calls == 2  # the reply and its schema repair, both counted
    assert [e for e in answer.errors if "wrote no reasons" in e] == answer.errors
    assert len(answer.errors) == 1
    assert {r.source for r in answer.reasons.values()} == {"template"}
    assert set(answer.reasons) == {a.item_id for a in answer.ranked}


def test_an_llm_that_dies_mid_call_gives_template_reasons(dataset, checkpoint) -> None:  # type: ignore[no-untyped-def]
    answer = run(dataset, checkpoint, RawReasons([]))
    assert answer.steps == FULL_PATH and len(answer.errors) == 1
    assert {r.source for r in answer.reasons.values()} == {"template"}


def test_every_template_reason_passes_the_checker(dataset, checkpoint) -> None:  # type: ignore[no-untyped-def]
    answer = run(dataset, checkpoint, RawReasons([]))
    assert answer.profile is not None
    drafts = [
        ReasonDraft(
            item_id=r.item_id, motivation=r.motivation, evidence=list(r.evidence), reason=r.text
        )
        for r in answer.reasons.values()
    ]
    verdicts = check_reasons(
        drafts,
        shown=[a.item_id for a in answer.ranked],
        items=dataset.items,
        history=answer.history,
        profile=answer.profile,
    )
    assert all(rules == () for rules in verdicts.values()), verdicts


def test_the_scorer_picks_each_items_motivation_and_evidence_from_the_profile(
    dataset, checkpoint
) -> None:  # type: ignore[no-untyped-def]
    answer = run(dataset, checkpoint, RawReasons([]), align_weight=0.5)
    profile = answer.profile
    assert profile is not None
    read = {h.item_id for h in answer.history}
    seen = {e.item_id for e in dataset.histories["4"]}
    for aligned in answer.ranked:
        assert aligned.item_id not in seen and aligned.motivation is not None
        own = profile.motivations[aligned.motivation].evidence
        assert set(aligned.evidence) <= set(own) & read and aligned.evidence
        assert aligned.score == pytest.approx(aligned.history_score + 0.5 * aligned.alignment)
    scores = [a.score for a in answer.ranked]
    assert scores == sorted(scores, reverse=True)


def test_with_reordering_on_the_llm_orders_the_top_items_before_they_are_explained(
    dataset, checkpoint
) -> None:  # type: ignore[no-untyped-def]
    scorer = run(dataset, checkpoint, RawReasons([]), reasons=0)
    garbage = "no"
    backend = RawReasons(['{"order": ["4", "3", "2", "1"]}', garbage, garbage])
    answer = run(dataset, checkpoint, backend, reorder=True, reorder_top=4)
    assert answer.steps == [*FULL_PATH[:4], "reorder", *FULL_PATH[4:]]
    order = [a.item_id for a in scorer.ranked]
    assert [a.item_id for a in answer.ranked] == order[:4][::-1] + order[4:]
    assert answer.reason_usage.calls == 3  # the order, then the reasons and their repair
    asked = backend.requests[-3]["messages"][-1].content
    assert "Their motivations:" in asked and asked.count("\n1. ") == 1


def test_a_failed_reordering_keeps_the_scorers_order_with_one_warning(dataset, checkpoint) -> None:  # type: ignore[no-untyped-def]
    scorer = run(dataset, checkpoint, RawReasons([]), reasons=0)
    answer = run(dataset, checkpoint, RawReasons([]), reorder=True, reasons=0)
    assert "reorder" in answer.steps and "explain" not in answer.steps
    assert [a.item_id for a in answer.ranked] == [a.item_id for a in scorer.ranked]
    assert len(answer.errors) == 1 and "did not re-order" in answer.errors[0]


def test_checked_reasons_stream_in_while_the_reply_is_written_and_stay_kept(
    dataset, checkpoint
) -> None:  # type: ignore[no-untyped-def]
    plain = run(dataset, checkpoint, RawReasons([]), reasons=0)
    top = plain.ranked[:5]
    written = {a.item_id: plain.reasons[a.item_id] for a in top}  # templates pass the checker
    written[top[3].item_id] = replace(written[top[3].item_id], text=written[top[0].item_id].text)
    reply = {
        "reasons": {
            item: {
                "item": dataset.items[item].title,
                "evidence": list(r.evidence),
                "reason": r.text,
            }
            for item, r in written.items()
        }
    }
    streamed: list[tuple[str, int]] = []
    backend = RawReasons([json.dumps(reply), "no"])
    answer = run(
        dataset,
        checkpoint,
        backend,
        on_reason=lambda r: streamed.append((r.item_id, len(backend.requests))),
    )
    kept = [a.item_id for a in top if a.item_id != top[3].item_id]
    assert [item for item, _ in streamed] == kept  # the copy of the first is held back
    assert all(asked == streamed[0][1] for _, asked in streamed)  # all during the first call
    for item in kept:
        assert (
            answer.reasons[item].source == "llm" and answer.reasons[item].text == written[item].text
        )
    assert "repeated_reason" in answer.reasons[top[3].item_id].rejected


def test_without_llm_no_reason_is_asked_for(dataset, checkpoint) -> None:  # type: ignore[no-untyped-def]
    backend = RawReasons([])
    answer = run(dataset, checkpoint, backend, reasons=0)
    assert "explain" not in answer.steps and backend.reason_requests == 0
    assert {r.source for r in answer.reasons.values()} == {"template"}


def test_with_no_history_the_graph_stops_after_load_user(dataset, checkpoint) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(store=StoreSettings(kind="memory"))
    pipeline = RecommendPipeline(settings, dataset, checkpoint)
    pipeline.deps.llm = LazyBackend(LibraryBackend)
    state = {"user_id": "4", "history": [], "history_context": {"stage": "product"}}
    answer = pipeline._invoke(state, None)  # type: ignore[arg-type]
    assert answer.steps == ["load_user"] and "no history" in answer.errors[0]


def test_explain_ranks_the_item_among_everything_the_user_could_get(dataset, checkpoint) -> None:  # type: ignore[no-untyped-def]
    top = run(dataset, checkpoint, RawReasons([]))
    settings = Settings(store=StoreSettings(kind="memory"))
    pipeline = RecommendPipeline(settings, dataset, checkpoint, use_llm=False)
    pipeline.deps.llm = LazyBackend(LibraryBackend)
    try:
        item = top.ranked[2].item_id
        got = pipeline.explain("4", item, n_items=N_ITEMS)
        assert got.focus is not None and got.focus.rank == 3
        assert got.focus.of == len(dataset.items) - len(dataset.histories["4"])
        assert got.profile is not None and len(got.focus.cosines) == len(got.profile.motivations)
        assert [a.item_id for a in got.ranked] == [item]
        last = pipeline.explain("4", pipeline_last(pipeline, dataset), n_items=N_ITEMS)
        assert last.focus is not None and last.focus.rank == last.focus.of
        assert last.reasons[last.ranked[0].item_id].text.startswith(f"It ranks {last.focus.of:,}")
    finally:
        pipeline.close()


def pipeline_last(pipeline: RecommendPipeline, dataset) -> str:  # type: ignore[no-untyped-def]
    """Return the item the scorer ranks last for user 4."""
    mar = pipeline.deps.mar
    assert mar is not None
    history = [h.item_id for h in dataset.histories["4"]][-N_ITEMS:]
    seen = mar.scorer.seen_items("4", history)
    every = [i for i in mar.scorer.item_ids if i not in seen]
    scores = mar.scorer.history_scores("4", history, every)
    return every[int(scores.argmin())]


class RealReasons(LibraryBackend):
    """MOPE from the recorded library; reasons written by the real model."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def complete(self, messages: list[Any], **kwargs: Any) -> Any:
        if "<<<ITEMS" in messages[-1].content:
            return self.model.complete(messages, **kwargs)
        return super().complete(messages, **kwargs)


@pytest.mark.llm
def test_the_real_smollm2_words_reasons_end_to_end(dataset, checkpoint, smollm2_path) -> None:  # type: ignore[no-untyped-def]
    from m3rec.llm.llamacpp import LlamaCppBackend

    tiny = LlamaCppBackend(smollm2_path, model_name="smollm2-135m", n_ctx=4096, n_threads=1)
    answer = run(dataset, checkpoint, RealReasons(tiny), reasons=3)
    assert answer.steps[:6] == FULL_PATH[:6] and answer.steps[-1] == "respond"
    assert answer.reason_usage.calls >= 1 and answer.reason_usage.completion_tokens > 0
    assert set(answer.reasons) == {a.item_id for a in answer.ranked}
    read = {h.item_id for h in answer.history}
    for item, reason in answer.reasons.items():
        assert set(reason.evidence) <= read and reason.text
        if reason.source == "template":  # turned down twice, unreadable, or beyond the top 3
            top3 = [a.item_id for a in answer.ranked[:3]]
            assert item not in top3 or reason.rejected or answer.errors
