"""The graph's encode step: a real MOTE checkpoint on a real MovieLens slice, real MiniLM."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import torch
from langgraph.checkpoint.memory import InMemorySaver

from m3rec.agents.encode import MoteScorer
from m3rec.agents.mope import current_prompt_id, profile_key
from m3rec.agents.nodes import Deps
from m3rec.agents.notes import motivation_notes, profile_notes
from m3rec.data import index_dataset, leave_one_out, load_dataset
from m3rec.data.histories import evaluation_history
from m3rec.encoders.checkpoint import CheckpointError, fingerprint, save_checkpoint
from m3rec.encoders.recommender import MoteRecommender
from m3rec.graph import build_graph
from m3rec.llm.factory import LazyBackend
from m3rec.ranking.training_data import train_data
from m3rec.schemas import MotivationProfile
from m3rec.store import memory_store

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "ml-latest-slice"


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(SLICE)


@pytest.fixture(scope="module")
def checkpoint(dataset, tmp_path_factory):
    torch.set_num_threads(1)
    indexed = index_dataset(dataset)
    data = train_data(indexed, leave_one_out(indexed), 0)
    model = MoteRecommender(dim=16, epochs=3, batch_size=32, threads=1, notes_weight=0.5)
    model.fit(data)
    fp = fingerprint(indexed.name, indexed.item_ids, indexed.sequences, indexed.item_texts)
    path = tmp_path_factory.mktemp("mote") / "mote.pt"
    save_checkpoint(path, model.to_checkpoint(fp))
    return path


def longest_user(dataset) -> str:
    return max(dataset.histories, key=lambda u: len(dataset.histories[u]))


def motivation_profile(user: str, label: str, description: str) -> MotivationProfile:
    motive = {
        "label": label,
        "description": description,
        "evidence": [],
        "strength": 0.9,
        "first_seen": None,
        "last_seen": None,
    }
    return MotivationProfile.model_validate(
        {
            "user_id": user,
            "motivations": [motive],
            "summary": description,
            "shift": "none",
            "prompt_id": current_prompt_id(),
            "model": "test",
        }
    )


def run_graph(dataset, scorer, profile: MotivationProfile | None, user: str):
    history = evaluation_history(dataset, user)
    store = memory_store()
    if profile is not None:
        key = profile_key(user, history, current_prompt_id(), "test")
        data = profile.model_dump(mode="json")
        store.put_profile(key, user, data, profile.summary, motivation_notes(profile), {})

    def no_llm():
        raise AssertionError("the profile is in the store; no LLM may be built")

    deps = Deps(store=store, model_id="test", llm=LazyBackend(no_llm), scorer=scorer, top_k=10)
    graph = build_graph().compile(checkpointer=InMemorySaver())
    state = {"user_id": user, "history": history}
    config = {"configurable": {"thread_id": user}}
    return asyncio.run(graph.ainvoke(state, config, context=deps)), history


def test_encode_ranks_unseen_items_after_the_profile(dataset, checkpoint) -> None:
    scorer = MoteScorer.load(checkpoint, dataset)
    user = longest_user(dataset)
    profile = motivation_profile(user, "laughs", "wants light comedies to unwind")
    final, history = run_graph(dataset, scorer, profile, user)
    assert final["steps"] == ["load_user", "extract_motivations", "encode"]
    ranked = final["candidates"]
    assert len(ranked) == 10
    scores = [c.score for c in ranked]
    assert scores == sorted(scores, reverse=True)
    assert not {c.item_id for c in ranked} & {h.item_id for h in history}
    assert {c.item_id for c in ranked} <= set(dataset.items)


def test_notes_move_the_ranking_towards_the_motivation(dataset, checkpoint) -> None:
    scorer = MoteScorer.load(checkpoint, dataset)
    user = longest_user(dataset)
    history = [h.item_id for h in evaluation_history(dataset, user)]
    plain = scorer.rank(user, history, [], top_k=50)
    kids = profile_notes(
        motivation_profile(user, "family time", "wants animated children's films to share")
    )
    with_notes = scorer.rank(user, history, kids, top_k=50)

    def animated(ranked):
        return sum("Animation" in dataset.items[c.item_id].text() for c in ranked[:10])

    assert animated(with_notes) > animated(plain)


def test_without_a_scorer_the_graph_stops_after_the_profile(dataset) -> None:
    user = longest_user(dataset)
    final, _ = run_graph(dataset, None, motivation_profile(user, "x", "y"), user)
    assert final["steps"] == ["load_user", "extract_motivations"] and "candidates" not in final


def test_a_checkpoint_of_other_data_is_refused(checkpoint) -> None:
    other = load_dataset(SLICE.parent / "amazon-beauty-slice")
    with pytest.raises(CheckpointError, match="trained on dataset"):
        MoteScorer.load(checkpoint, other)
