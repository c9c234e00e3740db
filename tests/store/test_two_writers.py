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
