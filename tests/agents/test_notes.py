"""Motivation notes read back from a real Chroma store, keyed as MOTE reads them."""

from __future__ import annotations

import pytest

from m3rec.agents.notes import motivation_notes, note_text, notes_by_user_index, profile_notes
from m3rec.schemas import MotivationProfile
from m3rec.store import memory_store


def put(store, key: str, user: str, data: dict, summary: str, ctx: dict) -> None:
    profile = MotivationProfile(user_id=user, prompt_id="mope/v1", model="m", **data)
    store.put_profile(
        key, user, profile.model_dump(mode="json"), summary, motivation_notes(profile), ctx
    )


def motivation(label: str, strength: float, last_seen: str | None) -> dict:
    return {
        "label": label,
        "description": f"wants {label}",
        "strength": strength,
        "evidence": ["1"],
        "first_seen": last_seen,
        "last_seen": last_seen,
    }


def profile(*motivations: dict) -> dict:
    return {"motivations": list(motivations), "summary": "s", "shift": "none"}


@pytest.fixture(scope="module")
def store():
    store = memory_store()
    ctx = {"dataset": "topics", "cold_k": 2}
    newer, older = motivation("guitar", 0.4, "2001-03-01"), motivation("novel", 0.9, "2001-01-01")
    put(store, "a", "u1", profile(newer, older), "s", ctx)
    put(store, "b", "u2", profile(motivation("tent", 0.5, None)), "s", ctx)
    cold1 = {**ctx, "cold_k": 1}
    put(store, "c", "u3", profile(motivation("lipstick", 1, None)), "s", cold1)
    other = {"dataset": "ml-1m", "cold_k": 2}
    put(store, "d", "u4", profile(motivation("tent", 1, None)), "s", other)
    put(store, "e", "nobody", profile(motivation("tent", 1, None)), "s", ctx)
    valid = {**ctx, "stage": "valid"}
    put(store, "f", "u1", profile(motivation("drums", 1, None)), "s", valid)
    return store


def test_notes_are_read_for_one_dataset_and_cut_oldest_first(store):
    users = ["u0", "u1", "u2", "u3", "u4"]
    notes = notes_by_user_index(store, "topics", users, cold_k=2)
    assert notes == {1: ["novel: wants novel", "guitar: wants guitar"], 2: ["tent: wants tent"]}
    assert notes_by_user_index(store, "topics", users, cold_k=1) == {
        3: ["lipstick: wants lipstick"]
    }


def test_validation_profiles_are_kept_apart_from_test_profiles(store):
    users = ["u0", "u1", "u2"]
    assert notes_by_user_index(store, "topics", users, 2, stage="valid") == {
        1: ["drums: wants drums"]
    }
    assert "drums: wants drums" not in notes_by_user_index(store, "topics", users, 2)[1]


def test_a_note_is_worded_once_and_ordered_freshest_last() -> None:
    data = profile(motivation("guitar", 0.4, "2001-03-01"), motivation("novel", 0.9, "2001-01-01"))
    profile_model = MotivationProfile(user_id="u", prompt_id="mope/v1", model="m", **data)
    assert note_text("guitar", "wants guitar") == "guitar: wants guitar"
    assert note_text("a scare", "late-night horror", "mood") == (
        "a mood or escape, a scare: late-night horror"
    )
    assert [n.text for n in motivation_notes(profile_model)] == [
        "guitar: wants guitar",
        "novel: wants novel",
    ]
    assert profile_notes(profile_model) == ["novel: wants novel", "guitar: wants guitar"]


def test_a_v2_note_keeps_its_motivation_kind_and_a_v1_note_has_none() -> None:
    kinded = {**motivation("a scare", 0.8, "2001-03-01"), "kind": "mood"}
    data = profile(kinded, motivation("novel", 0.5, None))
    notes = motivation_notes(MotivationProfile(user_id="u", prompt_id="mope/v2", model="m", **data))
    assert [(n.label, n.kind) for n in notes] == [("a scare", "mood"), ("novel", "")]
