"""Batch profiling: resume, no double work, per-user failures, and the CLI over a real HTTP wire."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from m3rec.cli import app
from m3rec.data import bundled_catalogue_path, load_dataset
from m3rec.data.histories import HistoryRule
from m3rec.errors import ConfigError, LLMUnavailableError
from m3rec.llm.base import ChatMessage, Completion
from m3rec.llm.replay import ReplayBackend
from m3rec.profiling import run_profiles, select_users
from m3rec.store import memory_store
from tests.llm.wire import ChatReplayServer
from tests.replies import raw

runner = CliRunner()


@pytest.fixture(scope="module")
def catalogue():  # type: ignore[no-untyped-def]
    return load_dataset(bundled_catalogue_path())


class DiesAfter(ReplayBackend):
    """Replays recorded replies, then the server 'goes away'."""

    def __init__(self, replies: list[str], alive_calls: int) -> None:
        super().__init__(replies)
        self.alive_calls = alive_calls

    def complete(self, messages: list[ChatMessage], **kwargs: object) -> Completion:
        if len(self.requests) >= self.alive_calls:
            raise LLMUnavailableError("cannot connect to the server at test: start it")
        return super().complete(messages, **kwargs)  # type: ignore[arg-type]


def test_select_users_by_count_or_ids(catalogue) -> None:  # type: ignore[no-untyped-def]
    assert select_users(catalogue, "5", seed=1) == select_users(catalogue, "5", seed=1)
    assert select_users(catalogue, "5", seed=1) != select_users(catalogue, "5", seed=2)
    assert select_users(catalogue, "12,398", seed=0) == ["12", "398"]
    with pytest.raises(ConfigError, match="unknown user id"):
        select_users(catalogue, "12,nobody", seed=0)


def test_a_dead_server_stops_the_batch_keeping_finished_work(catalogue) -> None:  # type: ignore[no-untyped-def]
    store = memory_store()
    users = ["12", "398", "100"]
    reply = raw("qwen15_constrained")
    dying = DiesAfter([reply] * 3, alive_calls=1)
    with pytest.raises(LLMUnavailableError):
        run_profiles(
            catalogue,
            users,
            llm=lambda: dying,
            store=store,
            model_id="m",
            rule=HistoryRule("test", 2),
        )
    healthy = ReplayBackend([reply] * 3)
    summary = run_profiles(
        catalogue,
        users,
        llm=lambda: healthy,
        store=store,
        model_id="m",
        rule=HistoryRule("test", 2),
    )
    assert (summary.cache_hits, summary.profiles, summary.failed) == (1, 2, 0)
    assert len(healthy.requests) == 2  # the first user's profile was not computed twice
    again = run_profiles(
        catalogue,
        users,
        llm=lambda: pytest.fail("no LLM needed"),
        store=store,
        model_id="m",
        rule=HistoryRule("test", 2),
    )
    assert (again.cache_hits, again.profiles, again.llm_calls) == (3, 0, 0)


def test_a_user_whose_reply_never_validates_is_recorded_and_retried(catalogue) -> None:  # type: ignore[no-untyped-def]
    store = memory_store()
    wrong = raw("qwen15_traits")
    summary = run_profiles(
        catalogue,
        ["12", "398"],
        llm=lambda: ReplayBackend([wrong, wrong, raw("qwen15_constrained")]),
        store=store,
        model_id="m",
        rule=HistoryRule("test", 1),
    )
    assert (summary.profiles, summary.failed) == (1, 1)
    # every call is counted, the failed user's two attempts included
    assert summary.llm_calls == 3
    ok_user = next(iter(summary.results))
    assert summary.completion_tokens > summary.results[ok_user].usage.completion_tokens
    failed_user = summary.failures[0]["user_id"]
    assert "ProfileDraft" in summary.failures[0]["error"]
    retry = run_profiles(
        catalogue,
        ["12", "398"],
        llm=lambda: ReplayBackend([raw("qwen15_constrained")]),
        store=store,
        model_id="m",
        rule=HistoryRule("test", 1),
    )
    assert (retry.cache_hits, retry.profiles, retry.failed) == (1, 1, 0)
    assert failed_user in {"12", "398"}


def test_changing_the_model_never_serves_a_stale_profile(catalogue) -> None:  # type: ignore[no-untyped-def]
    store = memory_store()
    reply = raw("qwen15_constrained")
    run_profiles(
        catalogue,
        ["12"],
        llm=lambda: ReplayBackend([reply]),
        store=store,
        model_id="a",
        rule=HistoryRule("test", 2),
    )
    other = run_profiles(
        catalogue,
        ["12"],
        llm=lambda: ReplayBackend([reply]),
        store=store,
        model_id="b",
        rule=HistoryRule("test", 2),
    )
    assert (other.cache_hits, other.profiles) == (0, 1)


def test_cli_profile_json_summary_over_a_real_http_wire(tmp_path: Path) -> None:
    server = ChatReplayServer([raw("qwen15_constrained")])
    try:
        args = [
            "profile",
            "--users",
            "4",
            "--cold-k",
            "2",
            "--backend",
            "openai",
            "--base-url",
            server.base_url,
            "--store",
            str(tmp_path / "store"),
            "--concurrency",
            "3",
            "--json",
        ]
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
        again = json.loads(runner.invoke(app, args).stdout)
        assert (again["cache_hits"], again["profiles"]) == (4, 0)
        assert server.requests == 4
        one = runner.invoke(
            app,
            [
                "profile",
                "--user",
                "12",
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
    server = ChatReplayServer([raw("qwen15_constrained")], delay_s=0.3)
    env = {**os.environ, "M3REC_OPENAI__MAX_RETRIES": "0"}
    command = [
        sys.executable,
        "-m",
        "m3rec.cli",
        "profile",
        "--users",
        "12",
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
