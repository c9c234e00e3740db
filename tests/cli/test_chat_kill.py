"""A chat process killed with SIGKILL in the middle of a turn (its LLM call in flight): the
resumed thread has every completed turn, and nothing of the cut one; and the API key is in none
of the files it wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from m3rec.chatting import ChatSession
from m3rec.data import load_dataset
from m3rec.schemas import ChatMessage
from m3rec.settings import PathSettings, Settings, StoreSettings
from tests.conftest import SLICE
from tests.llm.wire import ChatReplayServer
from tests.replies import AnyUserReplies, ChatTurns, chat_turns

M3REC = str(Path(sys.executable).parent / "m3rec")
CUT = chat_turns()["inputs"]["messages"]["more-like-second"]
MESSAGES_NO_KIDS = chat_turns()["inputs"]["messages"]["no-kids"]
KEY = "sk-chat-canary-5d1e"


@pytest.mark.slow
@pytest.mark.parametrize("cut_at", ["reading", "reasons"])
def test_a_turn_cut_by_sigkill_leaves_every_completed_turn(
    tmp_path: Path, slice_checkpoint: Path, cut_at: str
) -> None:
    """Cut while the LLM reads the turn, or later, while it writes the reasons of the new list:
    by then the turn's note was saved, and the resumed thread must not have it."""
    profiles, readings = AnyUserReplies(), ChatTurns()
    asked, read = threading.Event(), threading.Event()

    def answer(messages):  # type: ignore[no-untyped-def]
        content = messages[-1]["content"]
        if "<<<MESSAGE" in content:
            if CUT in content:
                read.set()
                if cut_at == "reading":
                    asked.set()
                    time.sleep(30)  # the process is killed while it waits
            return readings.complete([ChatMessage(m["role"], m["content"]) for m in messages]).text
        if "<<<ITEMS" in content:
            if read.is_set() and cut_at == "reasons":
                asked.set()
                time.sleep(30)
            return "no reasons"
        return profiles(messages)

    server = ChatReplayServer(answer)
    env = {**os.environ, "M3REC_PATHS__CHAT_DB": str(tmp_path / "chat.sqlite")}
    env["M3REC_OPENAI__API_KEY"] = KEY
    args = ["chat", "--data", str(SLICE), "--checkpoint", str(slice_checkpoint), "--user", "4"]
    args += ["--store", str(tmp_path / "store"), "--thread", "cut", "--items", "20"]
    args += ["--backend", "openai", "--base-url", server.base_url, "--json"]
    args += ["--say", "/no comedy", "--say", MESSAGES_NO_KIDS, "--say", CUT, "--say", "/why 1"]
    child = subprocess.Popen([M3REC, *args], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert asked.wait(timeout=240), "the cut turn was never asked"
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
    finally:
        server.close()
    assert KEY not in out
    for written in tmp_path.rglob("*"):  # the threads and the store never hold the key
        if written.is_file():
            assert KEY.encode() not in written.read_bytes(), written
    done = [json.loads(line)["message"] for line in out.splitlines()]
    assert done == ["/list", "/no comedy", MESSAGES_NO_KIDS]
    settings = Settings(
        store=StoreSettings(path=tmp_path / "store"),
        paths=PathSettings(chat_db=tmp_path / "chat.sqlite"),
    )
    resumed = ChatSession(settings, load_dataset(SLICE), slice_checkpoint, "4", thread="cut")
    try:
        assert [e["message"] for e in resumed.state()["log"]] == done
        assert resumed.steering().excluded == ("Comedy", "Children")
        assert resumed.steering().notes == ()  # nothing of the cut turn
    finally:
        resumed.close()
