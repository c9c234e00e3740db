"""One real terminal session of `m3rec chat`, driven through a pseudo-terminal (pexpect) with
the real SmolLM2-135M model: start, say something, exclude a category, see the list change,
cancel a turn with Ctrl-C, ask why, quit, resume the thread, see the earlier turns and recall a
typed line with the Up arrow."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import SLICE

M3REC = str(Path(sys.executable).parent / "m3rec")
# An empty prompt line: prompt-toolkit draws "you>" and moves the cursor past the space; when it
# redraws a line that was typed, text follows "you>" instead.
PROMPT = r"you>\x1b\["
UP = "\x1b[A"


def start(tmp_path: Path, slice_checkpoint: Path, smollm2_path: Path) -> pexpect.spawn:
    env = {
        **os.environ,
        "COLUMNS": "160",
        "M3REC_PATHS__CHAT_DB": str(tmp_path / "chat.sqlite"),
        "M3REC_PATHS__CHAT_HISTORY": str(tmp_path / "chat_history"),
        "PROMPT_TOOLKIT_NO_CPR": "1",  # pexpect does not answer cursor position requests
        "TERM": "xterm",
        "M3REC_LLM__MODEL": "smollm2-135m",
        "M3REC_LLM__N_THREADS": "1",
        "M3REC_MAR__REASONS": "2",
    }
    args = ["chat", "--data", str(SLICE), "--checkpoint", str(slice_checkpoint), "--user", "4"]
    args += ["--store", str(tmp_path / "store"), "--thread", "tty", "--k", "5"]
    return pexpect.spawn(M3REC, args, env=env, encoding="utf-8", timeout=300)


def rows(child: pexpect.spawn) -> str:
    """Return what the session printed up to the next prompt."""
    child.expect(PROMPT)
    return str(child.before)


@pytest.mark.slow
def test_a_real_terminal_session_excludes_explains_quits_and_resumes(
    tmp_path: Path, slice_checkpoint: Path, smollm2_path: Path
) -> None:
    child = start(tmp_path, slice_checkpoint, smollm2_path)
    opening = rows(child)
    assert "thread tty" in opening and "Why" in opening
    child.sendline("no comedy please")  # the 135M model's reading fails its checks: asked back
    assert "?" in rows(child) or "try" in str(child.before)
    child.sendline("/no comedy")
    after = rows(child)
    assert "excluded: Comedy" in after
    listed = after.split("excluded:")[0]
    assert "Comedy" not in listed.split("Why")[0]  # no listed item has the genre
    child.sendline("/more 1")
    child.expect_exact("genres / categories")  # the new list is on screen, its reasons are not
    child.sendintr()
    assert "turn cancelled" in rows(child)
    child.sendline("/profile")
    assert "Said in this thread" not in rows(child)  # the cancelled turn's note is gone
    child.sendline("/why 1")
    assert "rank 1 of" in rows(child)
    child.sendline("/quit")
    child.expect("thread tty kept")
    child.expect(pexpect.EOF)
    again = start(tmp_path, slice_checkpoint, smollm2_path)
    resumed = rows(again)
    assert "(resumed)" in resumed and "/no comedy" in resumed and "/why 1" in resumed
    again.send(UP + UP + "\r")  # the line before /quit, from the typed history
    assert "rank 1 of" in rows(again)
    again.sendeof()
    again.expect(pexpect.EOF)
