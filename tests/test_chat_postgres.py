"""Conversations on a real PostgreSQL server (Debian's package; .ci/run installs it when it is
missing): a thread written by one `m3rec chat` process is resumed by another."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SLICE

M3REC = str(Path(sys.executable).parent / "m3rec")


def postgres_tool(name: str) -> str | None:
    """Return the path of PostgreSQL's NAME (Debian keeps them out of PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder, listening on a Unix socket only."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="m3rec-pg-", dir="/tmp"))
        self.data, self.socket = self.folder / "data", self.folder / "socket"
        self.socket.mkdir()
        # initdb refuses to run as root: the cluster belongs to the postgres user then
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.socket, "postgres")
        self._run(postgres_tool("initdb"), "-D", str(self.data), "-U", "m3rec", "--auth=trust")
        options = f"-k {self.socket} -c listen_addresses=''"
        log = str(self.folder / "server.log")
        self._run(
            postgres_tool("pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start"
        )
        self.url = f"postgresql://m3rec@/postgres?host={self.socket}"

    def _run(self, *command: str | None) -> None:
        subprocess.run([*self.prefix, *map(str, command)], check=True, capture_output=True)

    def stop(self) -> None:
        self._run(postgres_tool("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    if postgres_tool("pg_ctl") is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    server = PostgresServer()
    yield server
    server.stop()


def chat(postgres: PostgresServer, tmp_path: Path, slice_checkpoint: Path, *args: str):  # type: ignore[no-untyped-def]
    env = {**os.environ, "M3REC_CHAT__POSTGRES_URL": postgres.url}
    env["M3REC_PATHS__CHAT_DB"] = str(tmp_path / "never.sqlite")
    common = ["--data", str(SLICE), "--checkpoint", str(slice_checkpoint), "--store", str(tmp_path)]
    return subprocess.run(
        [M3REC, "chat", *common, "--no-llm", *args], env=env, capture_output=True, text=True
    )


@pytest.mark.slow
def test_a_thread_written_by_one_process_is_resumed_by_another(
    postgres, tmp_path, slice_checkpoint
) -> None:  # type: ignore[no-untyped-def]
    first = chat(
        postgres,
        tmp_path,
        slice_checkpoint,
        "--user",
        "4",
        "--thread",
        "pg",
        "--say",
        "/no comedy",
        "--json",
    )
    assert first.returncode == 0, first.stderr
    assert [json.loads(line)["message"] for line in first.stdout.splitlines()] == [
        "/list",
        "/no comedy",
    ]
    again = chat(
        postgres, tmp_path, slice_checkpoint, "--user", "4", "--thread", "pg", "--say", "/profile"
    )
    assert again.returncode == 0, again.stderr
    assert "(resumed)" in again.stdout and "/no comedy" in again.stdout
    listed = chat(postgres, tmp_path, slice_checkpoint, "--threads", "--json")
    (thread,) = json.loads(listed.stdout)
    assert (thread["thread"], thread["user_id"], thread["turns"]) == ("pg", "4", 4)
    assert not (tmp_path / "never.sqlite").exists()  # nothing went to SQLite


def test_an_unreachable_postgres_is_one_line_without_the_password() -> None:
    env = {**os.environ, "M3REC_CHAT__POSTGRES_URL": "postgresql://m3rec:s3cret@127.0.0.1:9/m3rec"}
    result = subprocess.run([M3REC, "chat", "--threads"], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot use the PostgreSQL chat database at")
    assert "s3cret" not in result.stderr + result.stdout and "***" in result.stderr
    assert "Traceback" not in result.stderr
