"""MAR on replies recorded from every registry model (scripts/record_reason_replies.py): the same
graph, checkpoint and checker as `m3rec recommend`, the real parser on the real raw replies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from m3rec.agents.reason_checks import check_reasons
from m3rec.data import load_dataset
from m3rec.data.histories import HistoryRule
from m3rec.encoders.pipeline import train_mote
from m3rec.llm.factory import LazyBackend
from m3rec.recommending import RecommendPipeline
from m3rec.schemas import ReasonDraft
from m3rec.settings import MarSettings, Settings, StoreSettings
from tests.replies import MarReplies, reason_cases

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "ml-latest-slice"
CASES = reason_cases()["cases"]


@pytest.fixture(scope="module")
def dataset():  # type: ignore[no-untyped-def]
    return load_dataset(SLICE)


@pytest.fixture(scope="module")
def checkpoint(dataset, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    mote = dict(reason_cases()["mote"])
    seed = mote.pop("seed")
    path = tmp_path_factory.mktemp("mote") / "mote.pt"
    train_mote(dataset, path, seed=seed, overrides=mote)
    return path


def rule_of(context: dict[str, Any]) -> HistoryRule:
    if context["stage"] == "product":
        return HistoryRule(n_items=context["items"])
    return HistoryRule(context["stage"], context["cold_k"])


@pytest.mark.parametrize("key", sorted(CASES))
def test_recorded_reasons_are_kept_regenerated_or_templated_as_recorded(
    key: str, dataset, checkpoint
) -> None:  # type: ignore[no-untyped-def]
    case = CASES[key]
    backend = MarReplies(case)
    settings = Settings(
        store=StoreSettings(kind="memory"), mar=MarSettings(**reason_cases()["mar"])
    )
    pipeline = RecommendPipeline(settings, dataset, checkpoint)
    pipeline.deps.llm = LazyBackend(lambda: backend)
    try:
        answer = pipeline.recommend(case["user_id"], rule=rule_of(case["rule"]))
    finally:
        pipeline.close()
    assert backend.reason_requests == len(case["asked"])  # the regeneration, when recorded
    assert {i: r.source for i, r in answer.reasons.items()} == case["sources"]
    assert {i: list(r.rejected) for i, r in answer.reasons.items()} == case["rejected"]
    assert answer.profile is not None
    shown = [a.item_id for a in answer.ranked]
    kept = [r for r in answer.reasons.values() if r.source != "template"]
    drafts = [
        ReasonDraft(
            item_id=r.item_id, motivation=r.motivation, evidence=list(r.evidence), reason=r.text
        )
        for r in kept
    ]
    verdicts = check_reasons(
        drafts, shown=shown, items=dataset.items, history=answer.history, profile=answer.profile
    )
    assert all(rules == () for rules in verdicts.values())
    read = {h.item_id for h in answer.history}
    for reason in answer.reasons.values():
        assert set(reason.evidence) <= read
