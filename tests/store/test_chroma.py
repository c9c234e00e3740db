"""The Chroma store, for real: ephemeral and persistent, reopened offline."""

import json
from pathlib import Path

from m3rec.store import open_store
from m3rec.store.embedding import EMBEDDING_NAME

PROFILE = {
    "user_id": "7",
    "motivations": [
        {
            "label": "family movie nights",
            "description": "Watches with the kids.",
            "strength": 0.8,
            "evidence": ["1", "2"],
            "first_seen": "2001-01-01",
            "last_seen": "2001-02-01",
        },
        {
            "label": "adrenaline rush",
            "description": "Seeks fast action.",
            "strength": 0.5,
            "evidence": ["3"],
            "first_seen": None,
            "last_seen": None,
        },
    ],
    "summary": "A parent who also likes action.",
    "shift": "no clear shift",
}


def test_profile_round_trip_and_notes_are_searchable() -> None:
    store = open_store(None)
    store.put_profile("k1", "7", PROFILE, PROFILE["summary"], {"prompt_tokens": 10, "note": None})
    stored = store.get_profile("k1")
    assert stored is not None
    assert json.loads(stored.profile_json) == PROFILE
    assert stored.meta["prompt_tokens"] == 10 and "note" not in stored.meta
    assert store.existing_profile_keys(["k1", "k2"]) == {"k1"}
    hits = store.search_notes("watching films together with my children", k=2)
    assert hits[0]["label"] == "family movie nights"
    assert hits[0]["evidence"] == "1,2"


def test_a_success_clears_a_recorded_failure() -> None:
    store = open_store(None)
    store.record_failure("k1", "7", "bad reply")
    assert store.failures_for(["k1"]) == {"k1": "bad reply"}
    store.put_profile("k1", "7", PROFILE, "s", {})
    assert store.failures_for(["k1"]) == {}


def test_a_reopened_persistent_store_finds_its_embedding_function(tmp_path: Path) -> None:
    first = open_store(tmp_path / "chroma")
    first.put_profile("k1", "7", PROFILE, PROFILE["summary"], {})
    first.put_traits([("t1", "42", {"traits": ["cosy nights in"], "source": "metadata/v1"})])
    del first
    reopened = open_store(tmp_path / "chroma")
    assert reopened.notes.configuration_json["embedding_function"]["name"] == EMBEDDING_NAME
    assert reopened.get_profile("k1") is not None
    assert reopened.get_traits(["t1", "t2"]) == {
        "t1": {"traits": ["cosy nights in"], "source": "metadata/v1"}
    }
    assert reopened.search_notes("fast action scenes", k=1)[0]["label"] == "adrenaline rush"


def test_profiles_of_a_user_are_listed() -> None:
    store = open_store(None)
    store.put_profile("a", "7", PROFILE, "s", {})
    store.put_profile("b", "8", PROFILE, "s", {})
    assert [p.key for p in store.profiles_of_user("7")] == ["a"]
