"""The store contract, run against every client (embedded on a folder, in memory, a real
`chroma run` server on loopback)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from m3rec.errors import StoreUnavailableError
from m3rec.settings import StoreSettings
from m3rec.store import MotivationStore, NoteRecord, open_store
from m3rec.store.embedding import EMBEDDING_NAME
from tests.conftest import ChromaServer, free_port

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


def notes_of(profile: dict) -> list[NoteRecord]:  # type: ignore[type-arg]
    return [
        NoteRecord(
            text=f"{m['label']}: {m['description']}",
            label=m["label"],
            strength=m["strength"],
            evidence=tuple(m["evidence"]),
            first_seen=m["first_seen"] or "",
            last_seen=m["last_seen"] or "",
        )
        for m in profile["motivations"]
    ]


NOTES = notes_of(PROFILE)


class StoreContract:
    """What every store client must do; subclasses say how to open one."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> MotivationStore:
        raise NotImplementedError

    def test_profile_round_trip_and_notes_are_searchable(self, store: MotivationStore) -> None:
        meta = {"prompt_tokens": 10, "note": None, "dataset": "d"}
        store.put_profile("k1", "7", PROFILE, PROFILE["summary"], NOTES, meta)
        stored = store.get_profile("k1")
        assert stored is not None
        assert json.loads(stored.profile_json) == PROFILE
        assert stored.meta["prompt_tokens"] == 10 and "note" not in stored.meta
        assert stored.meta["created_at"]
        assert store.existing_profile_keys(["k1", "k2"]) == {"k1"}
        hits = store.search_notes("watching films together with my children", k=2)
        assert hits[0].label == "family movie nights"
        assert hits[0].evidence == ("1", "2") and hits[0].distance is not None
        assert store.count("profiles") == 1 and store.count("notes") == 2
        assert [p.key for p in store.list_profiles("d")] == ["k1"]
        assert store.list_profiles("other") == []

    def test_a_notes_motivation_kind_is_kept(self, store: MotivationStore) -> None:
        kinded = [NoteRecord("a gift, flowers: for mum", "flowers", 0.7, (), "", "", "for_someone")]
        store.put_profile("k1", "7", PROFILE, "s", [*kinded, *NOTES], {"dataset": "d", "cold_k": 0})
        kinds = {n.label: n.kind for n in store.newest_notes("7")}
        assert kinds == {"flowers": "for_someone", "family movie nights": "", "adrenaline rush": ""}
        by_user = store.newest_profile_notes("d", 0, "test")
        assert sorted(n.kind for n in by_user["7"]) == ["", "", "for_someone"]

    def test_storing_a_profile_again_replaces_every_one_of_its_notes(
        self, store: MotivationStore
    ) -> None:
        store.put_profile("k1", "7", PROFILE, "s", NOTES, {})
        store.put_profile("k1", "7", PROFILE, "s", NOTES[1:], {})
        assert store.count("notes") == 1
        assert [n.label for n in store.newest_notes("7")] == ["adrenaline rush"]

    def test_searching_an_empty_store_finds_nothing(self, store: MotivationStore) -> None:
        assert store.search_notes("anything") == []
        assert store.newest_notes("7") == []

    def test_a_success_clears_a_recorded_failure(self, store: MotivationStore) -> None:
        store.record_failure("k1", "7", "bad reply", {"dataset": "d"})
        assert store.failures_for(["k1"]) == {"k1": "bad reply"}
        assert [(f["key"], f["error"], f["dataset"]) for f in store.list_failures()] == [
            ("k1", "bad reply", "d")
        ]
        store.put_profile("k1", "7", PROFILE, "s", NOTES, {})
        assert store.failures_for(["k1"]) == {}
        assert store.count("failures") == 0

    def test_profiles_of_a_user_are_listed_newest_first(self, store: MotivationStore) -> None:
        store.put_profile("a", "7", PROFILE, "s", NOTES, {})
        store.put_profile("b", "8", PROFILE, "s", NOTES, {})
        assert [p.key for p in store.profiles_of_user("7")] == ["a"]
        assert store.profiles_of_user("nobody") == []

    def test_newest_notes_come_freshest_and_strongest_last(self, store: MotivationStore) -> None:
        store.put_profile("a", "7", PROFILE, "s", NOTES, {})
        notes = store.newest_notes("7")
        # the undated note sorts first; the dated one (last_seen 2001-02-01) comes last
        assert [n.label for n in notes] == ["adrenaline rush", "family movie nights"]
        assert [n.label for n in store.newest_notes("7", k=1)] == ["family movie nights"]

    def test_newest_profile_notes_keep_datasets_cuts_and_stages_apart(
        self, store: MotivationStore
    ) -> None:
        def put(key: str, user: str, label: str, **meta: object) -> None:
            note = NoteRecord(f"{label}: wants {label}", label, 0.5, (), "", "")
            store.put_profile(key, user, PROFILE, "s", [note], meta)

        put("t1", "1", "drums", dataset="d", cold_k=2, stage="test")
        put("v1", "1", "violin", dataset="d", cold_k=2, stage="valid")
        put("p1", "1", "piano", dataset="d", cold_k=0, stage="product")
        put("old", "2", "lipstick", dataset="d", cold_k=2)  # before stages: counts as test
        put("x", "3", "kayak", dataset="other", cold_k=2, stage="test")
        test = store.newest_profile_notes("d", 2, "test")
        assert {u: [n.label for n in notes] for u, notes in test.items()} == {
            "1": ["drums"],
            "2": ["lipstick"],
        }
        valid = store.newest_profile_notes("d", 2, "valid")
        assert {u: [n.label for n in notes] for u, notes in valid.items()} == {"1": ["violin"]}
        assert store.newest_profile_notes("d", 0, "test") == {}

    def test_chat_notes_are_kept_per_thread_and_apart_from_profiles(
        self, store: MotivationStore
    ) -> None:
        store.put_profile("k1", "7", PROFILE, "s", NOTES, {})
        store.put_chat_notes("7", "t1", NOTES[:1])
        store.put_chat_notes("7", "t2", NOTES)
        store.put_chat_notes("7", "t2", NOTES[1:])  # a thread's notes are replaced whole
        said = store.chat_notes("7")
        assert sorted(n.label for n in said) == sorted([NOTES[0].label, NOTES[1].label])
        assert {n.source for n in said} == {"chat"} and store.chat_notes("8") == []
        assert sorted(n.label for n in store.newest_notes("7")) == sorted(n.label for n in NOTES)
        assert {n.profile_key for n in store.search_notes("films", k=5)} == {"k1"}
        store.put_chat_notes("7", "t1", [])
        assert [n.label for n in store.chat_notes("7")] == [NOTES[1].label]

    def test_traits_round_trip(self, store: MotivationStore) -> None:
        store.put_traits([("t1", "42", {"traits": ["cosy nights in"], "source": "metadata/v1"})])
        assert store.get_traits(["t1", "t2"]) == {
            "t1": {"traits": ["cosy nights in"], "source": "metadata/v1"}
        }
        assert store.count("traits") == 1
        store.put_traits([("t2", "42", {"traits": ["a gift"], "source": "llm/v1"})])
        assert store.traits_of_items(["42", "7"]) == {
            "42": [
                {"traits": ["cosy nights in"], "source": "metadata/v1"},
                {"traits": ["a gift"], "source": "llm/v1"},
            ]
        }
        assert store.traits_of_items([]) == {}


class TestEmbeddedStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> MotivationStore:
        return open_store(StoreSettings(path=tmp_path / "chroma"))


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> MotivationStore:
        return open_store(StoreSettings(kind="memory"))


class TestServerStore(StoreContract):
    @pytest.fixture
    def store(self, chroma_server: ChromaServer) -> MotivationStore:
        database = f"test_{uuid.uuid4().hex[:12]}"  # a fresh database per test
        return open_store(StoreSettings(url=chroma_server.url, database=database))


def test_a_server_store_is_found_again_by_a_new_client(chroma_server: ChromaServer) -> None:
    settings = StoreSettings(url=chroma_server.url, database=f"test_{uuid.uuid4().hex[:12]}")
    open_store(settings).put_profile("k1", "7", PROFILE, PROFILE["summary"], NOTES, {})
    again = open_store(settings)
    assert again.get_profile("k1") is not None and again.count("notes") == len(NOTES)


def test_an_unreachable_server_is_one_clear_error() -> None:
    with pytest.raises(StoreUnavailableError, match="cannot reach the Chroma server"):
        open_store(StoreSettings(url=f"http://127.0.0.1:{free_port()}"))


def test_a_reopened_folder_finds_its_profiles_and_embedding_function(tmp_path: Path) -> None:
    settings = StoreSettings(path=tmp_path / "chroma")
    first = open_store(settings)
    first.put_profile("k1", "7", PROFILE, PROFILE["summary"], NOTES, {})
    del first
    reopened = open_store(settings)
    assert reopened._notes.configuration_json["embedding_function"]["name"] == EMBEDDING_NAME
    assert reopened.get_profile("k1") is not None
    assert reopened.search_notes("fast action scenes", k=1)[0].label == "adrenaline rush"


def test_two_memory_stores_are_kept_apart() -> None:
    a, b = open_store(StoreSettings(kind="memory")), open_store(StoreSettings(kind="memory"))
    a.put_profile("k1", "7", PROFILE, "s", NOTES, {})
    assert b.get_profile("k1") is None


def test_a_store_path_that_is_a_file_names_what_the_user_gave(tmp_path: Path) -> None:
    from m3rec.errors import CacheDirError

    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(CacheDirError, match="--store"):
        open_store(StoreSettings(path=afile), flag="--store")
    with pytest.raises(CacheDirError, match="M3REC_STORE__PATH"):
        open_store(StoreSettings(path=afile))


@pytest.mark.parametrize("cut", ["_notes", "_profiles"])
def test_a_write_cut_short_never_leaves_a_profile_without_its_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut: str
) -> None:
    """What SIGKILL during either write leaves: no profile, or a whole one; the next run's
    write is whole."""
    store = open_store(StoreSettings(path=tmp_path / "s"))

    def killed(**_: object) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(getattr(store, cut), "upsert", killed)
    with pytest.raises(SystemExit):
        store.put_profile("k1", "7", PROFILE, "s", NOTES, {})
    monkeypatch.undo()
    assert store.existing_profile_keys(["k1"]) == set()
    assert store.search_notes("family movie nights") == []  # notes of no stored profile
    store.put_profile("k1", "7", PROFILE, "s", NOTES[:1], {})
    assert store.count("profiles") == 1 and store.count("notes") == 1
