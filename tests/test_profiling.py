"""Batch profiling: resume, no double work, per-user failures, and the CLI over a real HTTP wire."""

import pytest
from typer.testing import CliRunner

from m3rec.data import bundled_catalogue_path, load_dataset
from m3rec.data.histories import HistoryRule
from m3rec.errors import ConfigError, LLMUnavailableError
from m3rec.llm.base import ChatMessage, Completion
from m3rec.profiling import run_profiles, select_users
from m3rec.store import memory_store
from tests.replies import AnyUserReplies, LibraryBackend, WrongFirst, raw

runner = CliRunner()


@pytest.fixture(scope="module")
def catalogue():  # type: ignore[no-untyped-def]
    return load_dataset(bundled_catalogue_path())


class DiesAfter(LibraryBackend):
    """Replays recorded replies, then the server 'goes away'."""

    def __init__(self, alive_calls: int) -> None:
        super().__init__()
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
    users = ["12", "398"]
    dying = DiesAfter(alive_calls=1)
    with pytest.raises(LLMUnavailableError):
        run_profiles(
            catalogue,
            users,
            llm=lambda: dying,
            store=store,
            model_id="m",
            rule=HistoryRule("test", 2),
        )
    healthy = LibraryBackend()
    summary = run_profiles(
        catalogue,
        users,
        llm=lambda: healthy,
        store=store,
        model_id="m",
        rule=HistoryRule("test", 2),
    )
    assert (summary.cache_hits, summary.profiles, summary.failed) == (1, 1, 0)
    assert len(healthy.requests) == 1  # the first user's profile was not computed twice
    again = run_profiles(
        catalogue,
        users,
        llm=lambda: pytest.fail("no LLM needed"),
        store=store,
        model_id="m",
        rule=HistoryRule("test", 2),
    )
    assert (again.cache_hits, again.profiles, again.llm_calls) == (2, 0, 0)


def test_a_user_whose_reply_never_validates_is_recorded_and_retried(catalogue) -> None:  # type: ignore[no-untyped-def]
    store = memory_store()
    wrong = raw("qwen15_traits")
    summary = run_profiles(
        catalogue,
        ["12", "398"],
        llm=lambda: WrongFirst(wrong, 2),
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
    assert "ProfileDraftV2" in summary.failures[0]["error"]
    retry = run_profiles(
        catalogue,
        ["12", "398"],
        llm=lambda: LibraryBackend(AnyUserReplies()),
        store=store,
        model_id="m",
        rule=HistoryRule("test", 1),
    )
    assert (retry.cache_hits, retry.profiles, retry.failed) == (1, 1, 0)
    assert failed_user in {"12", "398"}


def test_skip_failed_reports_a_recorded_failure_without_a_call(catalogue) -> None:  # type: ignore[no-untyped-def]
    store = memory_store()
    rule = HistoryRule("test", 1)
    wrong = raw("qwen15_traits")
    run_profiles(
        catalogue, ["12"], llm=lambda: WrongFirst(wrong, 2), store=store, model_id="m", rule=rule
    )
    answers = LibraryBackend(AnyUserReplies())
    again = run_profiles(
        catalogue,
        ["12", "398"],
        llm=lambda: answers,
        store=store,
        model_id="m",
        rule=rule,
        skip_failed=True,
    )
    assert (again.profiles, again.failed, again.llm_calls) == (1, 1, 1)  # 398 only is asked
    assert "failed before; not asked again" in again.failures[0]["error"]
    assert [row["outcome"] for row in again.users] == ["failed", "profiled"]


def test_changing_the_model_never_serves_a_stale_profile(catalogue) -> None:  # type: ignore[no-untyped-def]
    store = memory_store()
    run_profiles(
        catalogue,
        ["12"],
        llm=LibraryBackend,
        store=store,
        model_id="a",
        rule=HistoryRule("test", 2),
    )
    other = run_profiles(
        catalogue,
        ["12"],
        llm=LibraryBackend,
        store=store,
        model_id="b",
        rule=HistoryRule("test", 2),
    )
    assert (other.cache_hits, other.profiles) == (0, 1)
