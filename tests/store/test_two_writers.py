"""Two processes writing one embedded Chroma folder at once: nothing lost, nothing corrupt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from m3rec.settings import StoreSettings
from m3rec.store import open_store

WRITER = """
import sys
from m3rec.settings import StoreSettings
from m3rec.store import NoteRecord, open_store

store = open_store(StoreSettings(path=sys.argv[1]))
tag = sys.argv[2]
for i in range(int(sys.argv[3])):
    note = NoteRecord(f"note {tag} {i}: films to watch", "l", 0.5, ("1",), "", "")
    store.put_profile(f"{tag}{i}", f"u{tag}{i}", {"i": i}, f"summary {i}", [note], {"dataset": "d"})
"""
PER_WRITER = 80


@pytest.mark.slow
def test_two_writers_at_once_keep_every_profile_and_note_searchable(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    command = [sys.executable, "-c", WRITER, str(folder)]
    writers = [
        subprocess.Popen([*command, tag, str(PER_WRITER)], stderr=subprocess.PIPE)
        for tag in ("a", "b")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err.decode()
    store = open_store(StoreSettings(path=folder))
    assert store.count("profiles") == store.count("notes") == 2 * PER_WRITER
    for tag in ("a", "b"):
        last = f"{tag}{PER_WRITER - 1}"
        assert store.get_profile(last) is not None
        found = store.search_notes(f"note {tag} {PER_WRITER - 1}: films to watch", k=1)
        assert found[0].profile_key == last


def test_a_folder_another_process_is_making_is_opened_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the test above can hit: the loser of two processes making one folder's schema
    fails with Chroma's "table collections already exists" and opens the folder again."""
    import chromadb
    from chromadb.errors import InternalError

    real = chromadb.PersistentClient
    calls = []

    def racing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            real(*args, **kwargs)  # the winner makes the schema ...
            raise InternalError("error returned from database: table collections already exists")
        return real(*args, **kwargs)  # ... and the loser's second try finds it

    monkeypatch.setattr(chromadb, "PersistentClient", racing)
    store = open_store(StoreSettings(path=tmp_path / "store"))
    store.put_profile("k", "u", {"i": 1}, "s", [], {"dataset": "d"})
    assert len(calls) == 2 and store.get_profile("k") is not None
