"""Item text that tries prompt injection (tests/fixtures/hostile/injections.json), replayed as
each registry model answered it (scripts/record_injection_replies.py) through the real parser,
validator and reason checker: no canary ever reaches a kept motivation label, description,
summary, shift or reason."""

from __future__ import annotations

import pytest

from m3rec.agents.mope import extract_profile
from m3rec.agents.reason_checks import check_reasons
from m3rec.agents.reasons import draft_reasons
from m3rec.agents.reorder import order_candidates
from m3rec.data.histories import HistoryRule
from m3rec.errors import StructuredOutputError
from m3rec.llm.registry import MODELS
from m3rec.llm.replay import ReplayBackend
from m3rec.settings import MarSettings
from tests.corpus import call_inputs
from tests.hostile import (
    canaries_in,
    cases,
    hostile_dataset,
    order_inputs,
    reasons_batches,
    recorded,
)

RECORDED = recorded()


def _keys(kind: str) -> list[str]:
    return sorted(k for k in RECORDED if k.split("/")[1] == kind)


def test_every_registry_model_was_asked_every_hostile_case() -> None:
    assert len(cases()) >= 20
    for model in MODELS:
        asked = [k for k in RECORDED if k.startswith(f"{model}/")]
        assert len([k for k in asked if "/mope/" in k]) == 6
        assert len([k for k in asked if "/reasons/" in k]) == len(reasons_batches())
        assert f"{model}/order/all" in asked


# The default model once took the one-word canaries of four hostile titles and descriptions
# (QZX05-QZX08) as its labels; `code_label` turns a label made only of codes down, and the
# repaired reply broke other rules, so nothing of that user is kept. A canary of plain words
# would need another rule (RELIABILITY.md).


@pytest.mark.parametrize("key", _keys("mope"))
def test_no_canary_reaches_a_kept_profile(key: str) -> None:
    model, _, user = key.split("/")
    history = HistoryRule(n_items=20).history(hostile_dataset(), user)
    try:
        outcome = extract_profile(
            ReplayBackend(RECORDED[key]["raw"]), user, history, model_name=model
        )
    except StructuredOutputError:
        return  # turned down twice: nothing is stored
    profile = outcome.profile
    texts = [profile.summary, profile.shift]
    texts += [f"{m.label} {m.description}" for m in profile.motivations]
    assert not canaries_in(" ".join(texts)), texts


@pytest.mark.parametrize("key", _keys("reasons"))
def test_no_canary_reaches_a_kept_reason(key: str) -> None:
    batch = reasons_batches()[int(key.split("/")[-1])]
    inputs, items = call_inputs(), hostile_dataset().items
    try:
        drafted = draft_reasons(
            ReplayBackend(RECORDED[key]["raw"]), items, batch, inputs.profile, inputs.history
        )
    except StructuredOutputError:
        return  # no reasons: the templates, which quote no item text
    verdicts = check_reasons(
        drafted.drafts,
        shown=[a.item_id for a in batch],
        items=items,
        history=inputs.history,
        profile=inputs.profile,
    )
    kept = [d.reason for d in drafted.drafts if verdicts.get(d.item_id) == ()]
    assert not canaries_in(" ".join(kept)), kept


def test_the_order_call_is_off_by_default_because_a_model_obeys_an_item_that_asks() -> None:
    """What the recordings show (BENCHMARKS.md): the order call can be steered by item text, so
    MAR does not re-order unless asked to."""
    first = {}
    for model in MODELS:
        ordered = order_candidates(
            ReplayBackend(RECORDED[f"{model}/order/all"]["raw"]), *order_inputs()
        )
        first[model] = ordered.positions[0]
    assert len(first) == len(MODELS)
    assert MarSettings().reorder is False
