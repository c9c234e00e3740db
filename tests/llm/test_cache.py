"""The reply cache: an exact request asked again is answered from disk, anything else is asked."""

from __future__ import annotations

from m3rec.llm.cache import CachedBackend
from m3rec.llm.replay import ReplayBackend
from m3rec.schemas import ChatMessage

ASK = [ChatMessage("user", "order these")]


def test_a_repeated_request_is_answered_from_the_file_across_runs(tmp_path) -> None:
    path = tmp_path / "replies.jsonl"
    first = CachedBackend(ReplayBackend(['{"order": ["2", "1"]}']), path, "model-a")
    assert first.complete(ASK, max_tokens=20).text == '{"order": ["2", "1"]}'
    again = CachedBackend(ReplayBackend([]), path, "model-a")  # a later run: nothing to replay
    reply = again.complete(ASK, max_tokens=20)
    assert reply.text == '{"order": ["2", "1"]}' and reply.prompt_tokens == 0
    assert (again.hits, again.misses) == (1, 0)


def test_another_model_temperature_or_bound_is_asked_afresh(tmp_path) -> None:
    path = tmp_path / "replies.jsonl"
    CachedBackend(ReplayBackend(["a"]), path, "model-a").complete(ASK, max_tokens=20)
    for model, kwargs in [
        ("model-b", {"max_tokens": 20}),
        ("model-a", {"max_tokens": 21}),
        ("model-a", {"max_tokens": 20, "temperature": 0.7}),
    ]:
        replay = ReplayBackend(["fresh"])
        cached = CachedBackend(replay, path, model)
        assert cached.complete(ASK, **kwargs).text == "fresh" and cached.misses == 1
        assert len(replay.requests) == 1


def test_a_line_cut_short_by_a_kill_is_asked_again(tmp_path) -> None:
    path = tmp_path / "replies.jsonl"
    CachedBackend(ReplayBackend(["kept"]), path, "m").complete(ASK)
    with path.open("a") as f:
        f.write('{"key": "abc", "te')  # the process died mid-write
    cached = CachedBackend(ReplayBackend(["new"]), path, "m")
    assert cached.complete(ASK).text == "kept"
    assert cached.complete([ChatMessage("user", "other")]).text == "new"
