"""Every reply of the malformed-reply corpus (recorded from each registry model with no schema
held: scripts/record_malformed_replies.py), and a few made from them, through every structured
call (MOPE, traits, the order, MAR's reasons, chat's turn reading): a value or a
StructuredOutputError of one line, never another exception; and through the whole recommend
graph: five reasons, each checked or built by template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from m3rec.agents.mope import extract_profile
from m3rec.agents.reason_checks import check_reasons
from m3rec.agents.reasons import draft_reasons
from m3rec.agents.reorder import order_candidates
from m3rec.agents.traits import llm_traits
from m3rec.agents.turns import Catalogue, understand
from m3rec.encoders.pipeline import train_mote
from m3rec.errors import StructuredOutputError
from m3rec.llm.factory import LazyBackend
from m3rec.llm.replay import ReplayBackend
from m3rec.recommending import RecommendPipeline
from m3rec.schemas import CHAT_INTENTS
from m3rec.settings import MarSettings, Settings, StoreSettings
from tests.conftest import SMALL_MOTE
from tests.corpus import RULE, USER, call_inputs, corpus
from tests.replies import RawReasons

RECORDED = corpus()
_longest = max((r["raw"] for r in RECORDED), key=len)
MADE: list[dict[str, Any]] = [  # what no model wrote here, but a server can send
    {"model": "made", "call": "any", "way": "empty", "raw": ""},
    {"model": "made", "call": "any", "way": "whitespace", "raw": " \n\t "},
    {"model": "made", "call": "any", "way": "huge", "raw": "".join(r["raw"] for r in RECORDED) * 4},
    {"model": "made", "call": "any", "way": "fenced", "raw": f"```json\n{_longest}\n```"},
    {
        "model": "made",
        "call": "any",
        "way": "array",
        "raw": json.dumps([r["raw"] for r in RECORDED[:3]]),
    },
    {"model": "made", "call": "any", "way": "nested", "raw": '{"a": ' * 500 + "1" + "}" * 500},
]
REPLIES = RECORDED + MADE
IDS = [f"{r['model']}-{r['call']}-{r['way']}" for r in REPLIES]


def test_the_corpus_holds_at_least_50_recorded_replies_from_every_registry_model() -> None:
    from m3rec.llm.registry import MODELS

    assert len(RECORDED) >= 50
    assert {r["model"] for r in RECORDED} == set(MODELS)
    assert {r["call"] for r in RECORDED} == {"mope", "traits", "reasons", "order"}


def _one_clear_line(exc: StructuredOutputError) -> None:
    message = str(exc)
    assert message and "\n" not in message and "Traceback" not in message
    assert len(message) < 1200


def _twice(raw: str) -> ReplayBackend:
    return ReplayBackend([raw, raw])  # the first try and the repair get the same reply


@pytest.mark.parametrize("reply", REPLIES, ids=IDS)
def test_each_reply_through_each_call_is_a_value_or_one_clear_error(reply: dict[str, Any]) -> None:
    inputs = call_inputs()
    raw = reply["raw"]
    items = [inputs.dataset.items[a.item_id] for a in inputs.aligned]
    shown, catalogue = [a.item_id for a in inputs.aligned], Catalogue(inputs.dataset.items)
    for call in (
        lambda: extract_profile(_twice(raw), USER, inputs.history[-8:], model_name="m"),
        lambda: llm_traits(_twice(raw), items),
        lambda: order_candidates(
            _twice(raw), [h.text for h in inputs.history], [], inputs.candidates
        ),
    ):
        try:
            call()
        except StructuredOutputError as exc:
            _one_clear_line(exc)
    try:
        turn = understand(_twice(raw), "more like the second one", shown, catalogue)
    except StructuredOutputError as exc:  # the chat turn answers it as a question
        _one_clear_line(exc)
    else:
        assert turn.intent in CHAT_INTENTS and (turn.intent != "unclear" or turn.question)
    try:
        drafted = draft_reasons(
            _twice(raw), inputs.dataset.items, inputs.aligned, inputs.profile, inputs.history
        )
    except StructuredOutputError as exc:
        _one_clear_line(exc)
    else:
        check_reasons(
            drafted.drafts,
            shown=[a.item_id for a in inputs.aligned],
            items=inputs.dataset.items,
            history=inputs.history,
            profile=inputs.profile,
        )


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mote") / "mote.pt"
    overrides = SMALL_MOTE
    train_mote(call_inputs().dataset, path, seed=0, overrides=overrides)
    return path


@pytest.mark.slow  # 66 whole recommendations: about 1.5 minutes on loaded cores
def test_every_reply_as_the_reasons_gives_five_checked_or_template_reasons(
    checkpoint: Path,
) -> None:
    inputs = call_inputs()
    settings = Settings(store=StoreSettings(kind="memory"), mar=MarSettings(reasons=5))
    pipeline = RecommendPipeline(settings, inputs.dataset, checkpoint)
    try:
        for reply in REPLIES:
            streamed: list[str] = []
            backend = RawReasons([reply["raw"]] * 3)
            pipeline.deps.llm = LazyBackend(lambda backend=backend: backend)
            answer = pipeline.recommend(
                USER, rule=RULE, on_reason=lambda r, out=streamed: out.append(r.item_id)
            )
            shown = [a.item_id for a in answer.ranked[: len(answer.reasons)]]
            assert len(shown) >= 5 and sorted(answer.reasons) == sorted(shown), reply["way"]
            read = {h.item_id for h in answer.history}
            for item, reason in answer.reasons.items():
                assert reason.source in ("llm", "regenerated", "template")
                assert reason.source == "template" or item in shown[:5]  # the LLM explains 5
                assert reason.text and set(reason.evidence) <= read
            # Only a reason that passed the check goes out before the answer is whole.
            assert all(answer.reasons[i].source != "template" for i in streamed)
    finally:
        pipeline.close()
