"""`m3rec profile` over a real HTTP wire: the JSON summary, resuming after a kill, bad input."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from m3rec.cli import app
from tests.conftest import ChromaServer
from tests.llm.wire import ChatReplayServer
from tests.replies import AnyUserReplies

runner = CliRunner()


def batch_args(base_url: str, store: Path, *extra: str) -> list[str]:
    """`m3rec profile` of 4 test-stage users at cold_k 2 against BASE_URL into STORE, as JSON."""
    return [
        "profile", "--users", "4", "--stage", "test", "--cold-k", "2", "--backend", "openai",
        "--base-url", base_url, "--store", str(store), *extra, "--json",
    ]  # fmt: skip


def test_cli_profile_json_summary_over_a_real_http_wire(tmp_path: Path) -> None:
    server = ChatReplayServer(AnyUserReplies())
    try:
        args = batch_args(server.base_url, tmp_path / "store", "--concurrency", "3")
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert {k: summary[k] for k in ("profiles", "cache_hits", "failed", "llm_calls")} == {
            "profiles": 4,
            "cache_hits": 0,
            "failed": 0,
            "llm_calls": 4,
        }
        assert summary["prompt_tokens"] == 400 and summary["completion_tokens"] == 200
        logged = [line for line in result.stderr.splitlines() if line.startswith("profiles ")]
        assert len(logged) == 4 and logged[-1].startswith("profiles 4/4: ")  # off a terminal
        again = json.loads(runner.invoke(app, args).stdout)
        assert (again["cache_hits"], again["profiles"]) == (4, 0)
        assert server.requests == 4
        one = runner.invoke(
            app,
            [
                "profile",
                "--user",
                "12",
                "--stage",
                "test",
                "--cold-k",
                "2",
                "--backend",
                "openai",
                "--base-url",
                server.base_url,
                "--store",
                str(tmp_path / "store"),
            ],
        )
        assert one.exit_code == 0, one.output
        assert "Summary" in one.stdout and "Recent shift" in one.stdout
    finally:
        server.close()


def test_cli_profile_rejects_unknown_users_and_missing_data(tmp_path: Path) -> None:
    result = runner.invoke(app, ["profile", "--users", "nobody", "--store", str(tmp_path)])
    assert result.exit_code == 1 and "unknown user id(s) nobody" in result.stderr
    result = runner.invoke(app, ["profile", "--users", "2", "--data", str(tmp_path / "none")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    result = runner.invoke(app, ["profile"])
    assert result.exit_code == 1 and "--users" in result.stderr


@pytest.mark.slow
def test_killing_a_batch_and_running_it_again_loses_nothing_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    server = ChatReplayServer(AnyUserReplies(), delay_s=0.3)
    env = {**os.environ, "M3REC_OPENAI__MAX_RETRIES": "0"}
    command = [
        sys.executable,
        "-m",
        "m3rec.cli",
        "profile",
        "--users",
        "12",
        "--stage",
        "test",
        "--cold-k",
        "1",
        "--backend",
        "openai",
        "--base-url",
        server.base_url,
        "--store",
        str(tmp_path / "store"),
        "--json",
    ]
    try:
        batch = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while server.requests < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        batch.send_signal(signal.SIGKILL)
        batch.wait(timeout=30)
        served_before = server.requests
        assert 0 < served_before < 12
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert finished.returncode == 0, finished.stderr
        summary = json.loads(finished.stdout)
        assert summary["profiles"] + summary["cache_hits"] == 12
        assert summary["cache_hits"] >= served_before - 1  # at most the one in flight was lost
        assert server.requests - served_before == summary["profiles"]
    finally:
        server.close()


def test_a_chroma_server_stopped_mid_batch_is_one_line_and_the_rerun_repeats_nothing(
    tmp_path: Path, chroma_server: ChromaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("M3REC_STORE__DATABASE", f"faults_{tmp_path.name[-20:]}")
    server = ChatReplayServer(AnyUserReplies(), delay_s=0.2)
    command = ["profile", "--users", "10", "--stage", "test", "--cold-k", "1", "--json"]
    command += ["--backend", "openai", "--base-url", server.base_url]
    command += ["--store-url", chroma_server.url]

    def stop_after_four() -> None:
        while server.requests < 4:
            time.sleep(0.05)
        chroma_server.stop()

    stopper = threading.Thread(target=stop_after_four, daemon=True)
    try:
        stopper.start()
        broken = runner.invoke(app, command)
        stopper.join(timeout=60)
        served = server.requests
        assert broken.exit_code == 1, broken.output
        last = broken.output.strip().splitlines()[-1]
        assert last.startswith("error: the Chroma server stopped answering"), broken.output
        assert "Traceback" not in broken.output
        chroma_server.start()
        again = runner.invoke(app, command)
        assert again.exit_code == 0, again.output
        summary = json.loads(again.stdout)
        assert summary["profiles"] + summary["cache_hits"] == 10
        assert summary["cache_hits"] >= served - 1  # at most the profile in flight is asked again
        assert server.requests - served == summary["profiles"]
        keys = [row["key"] for row in summary["users"]]
        assert len(set(keys)) == 10
    finally:
        if chroma_server.process is not None and chroma_server.process.poll() is not None:
            chroma_server.start()  # the session's other tests use it
        server.close()


def test_the_llm_server_killed_mid_batch_is_one_line_and_the_rerun_repeats_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("M3REC_OPENAI__MAX_RETRIES", "1")
    server = ChatReplayServer(AnyUserReplies(), delay_s=0.2)
    command = ["profile", "--users", "10", "--stage", "test", "--cold-k", "1", "--json"]
    command += ["--backend", "openai", "--base-url", server.base_url]
    command += ["--store", str(tmp_path / "store")]

    def kill_after_four() -> None:
        while server.requests < 4:
            time.sleep(0.05)
        server.close()

    killer = threading.Thread(target=kill_after_four, daemon=True)
    killer.start()
    broken = runner.invoke(app, command)
    killer.join(timeout=60)
    served = server.requests
    assert broken.exit_code == 1, broken.output
    assert "cannot connect to the server at" in broken.output.strip().splitlines()[-1]
    assert "Traceback" not in broken.output
    again_server = ChatReplayServer(AnyUserReplies(), port=server.port)  # the same URL
    try:
        again = runner.invoke(app, command)
        assert again.exit_code == 0, again.output
        summary = json.loads(again.stdout)
        assert summary["profiles"] + summary["cache_hits"] == 10
        assert summary["cache_hits"] >= served - 1  # at most the profile in flight is asked again
        assert again_server.requests == summary["profiles"]
        assert len({row["key"] for row in summary["users"]}) == 10
    finally:
        again_server.close()


def test_a_server_that_rate_limits_mid_batch_stops_it_and_keeps_what_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("M3REC_OPENAI__MAX_RETRIES", "1")
    server = ChatReplayServer(AnyUserReplies(), retry_after_s=0)
    args = batch_args(server.base_url, tmp_path / "store")
    try:
        server.errors = [200, 200] + [429] * 20  # two profiles, then the server turns us away
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        assert "rate-limiting requests (HTTP 429) after 1 retries" in result.stderr
        assert "Traceback" not in result.output
        assert server.requests == 4  # two answered, then one refused request and its one retry
        server.errors = []
        again = json.loads(runner.invoke(app, args).stdout)
        assert (again["cache_hits"], again["profiles"], again["failed"]) == (2, 2, 0)
    finally:
        server.close()
