"""The OpenAI-compatible backend against a real llama.cpp server on loopback, and bad wires."""

import threading
import time

import pytest
from pydantic import BaseModel

from m3rec.errors import Cancelled, LLMAuthError, LLMResponseError, LLMUnavailableError
from m3rec.llm.base import ChatMessage, structured
from m3rec.llm.cancel import CANCEL
from m3rec.llm.openai_compat import OpenAICompatBackend
from tests.conftest import LlamaServer, free_port
from tests.llm.wire import ChatReplayServer, http_server


class Pet(BaseModel):
    name: str
    legs: int


ASK = [ChatMessage("user", "Invent a pet. Reply as JSON with keys name and legs.")]


def backend(base_url: str, **kwargs: object) -> OpenAICompatBackend:
    # Generous: on shared cores the tiny model under a grammar can slow to ~1 token/s.
    options: dict[str, object] = {"timeout_s": 180.0, "max_retries": 0, "max_tokens": 48}
    options.update(kwargs)
    return OpenAICompatBackend(base_url=base_url, model="smollm2", **options)  # type: ignore[arg-type]


@pytest.mark.llm
def test_real_llama_server_returns_a_schema_valid_object(llama_server: LlamaServer) -> None:
    client = backend(llama_server.base_url)
    result = structured(client, ASK, Pet)
    assert isinstance(result.value, Pet)
    assert result.usage.completion_tokens > 0
    # llama.cpp's server rejects json_schema; the backend must have settled on a mode it accepts.
    assert client._modes in (("json_object",), ("tool",), ("text",))


@pytest.mark.llm
def test_max_tokens_is_honoured_by_a_server_that_ignores_max_completion_tokens(
    llama_server: LlamaServer,
) -> None:
    client = backend(llama_server.base_url)
    reply = client.complete(
        [ChatMessage("user", "Count from 1 to 200, comma separated.")], max_tokens=8
    )
    assert reply.completion_tokens <= 8
    assert reply.finish_reason == "length"


@pytest.mark.llm
def test_killing_the_server_makes_the_next_call_fail_cleanly(llama_server: LlamaServer) -> None:
    client = backend(llama_server.base_url, max_retries=1)
    structured(client, ASK, Pet)
    llama_server.stop()
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError, match=r"cannot connect.*start it, or fix --base-url"):
        structured(client, ASK, Pet)
    assert time.monotonic() - started < 10


@pytest.mark.llm
def test_wrong_api_key_is_named_and_never_echoed(keyed_llama_server: LlamaServer) -> None:
    client = backend(keyed_llama_server.base_url, api_key="sk-wrong-key-987654")
    with pytest.raises(LLMAuthError, match="refused the API key") as caught:
        client.complete(ASK)
    assert "sk-wrong-key-987654" not in str(caught.value)
    assert "sk-wrong-key-987654" not in repr(client.describe())
    right = backend(keyed_llama_server.base_url, api_key="sk-test-secret-123456")
    assert structured(right, ASK, Pet).value.legs >= 0


def test_connection_refused_is_unavailable() -> None:
    client = backend(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(LLMUnavailableError, match="cannot connect"):
        client.complete(ASK)


def test_a_server_that_answers_html_is_a_clear_error() -> None:
    page = b"<html><body>Welcome to nginx</body></html>"
    with (
        http_server(200, page, "text/html") as url,
        pytest.raises(LLMResponseError, match=r"not JSON|not answer with a chat completion"),
    ):
        backend(url).complete(ASK)


def test_a_server_that_answers_broken_json_is_a_clear_error() -> None:
    with (
        http_server(200, b'{"choices": [', "application/json") as url,
        pytest.raises(LLMResponseError),
    ):
        backend(url).complete(ASK)


def test_a_slow_server_times_out_within_the_limit() -> None:
    with http_server(200, b"{}", "application/json", delay_s=5.0) as url:
        client = backend(url, timeout_s=0.5, max_retries=1)
        started = time.monotonic()
        with pytest.raises(LLMUnavailableError, match=r"did not answer within 0.5s"):
            client.complete(ASK)
        assert time.monotonic() - started < 4.5


def test_server_errors_are_reported_with_their_status() -> None:
    body = b'{"error": {"message": "overloaded"}}'
    with (
        http_server(503, body, "application/json") as url,
        pytest.raises(LLMUnavailableError, match="HTTP 503 after 0 retries"),
    ):
        backend(url).complete(ASK)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_passing_overload_is_retried_with_backoff_and_then_answered(status: int) -> None:
    server = ChatReplayServer(['{"name": "Rex", "legs": 4}'], errors=[status, status])
    try:
        started = time.monotonic()
        value = structured(backend(server.base_url, max_retries=2), ASK, Pet).value
        assert value == Pet(name="Rex", legs=4)
        assert server.requests == 3  # two refusals, then the answer
        # The structured-mode probe is not retried; the SDK then waits about 0.5 s less jitter.
        assert time.monotonic() - started > 0.3
    finally:
        server.close()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (429, r"rate-limiting requests \(HTTP 429\) after 2 retries"),
        (503, "HTTP 503 after 2 retries"),
    ],
)
def test_a_lasting_overload_is_retried_a_bounded_number_of_times_then_named(
    status: int, message: str
) -> None:
    server = ChatReplayServer(['{"name": "Rex", "legs": 4}'], errors=[status] * 10, retry_after_s=0)
    try:
        with pytest.raises(LLMUnavailableError, match=message):
            backend(server.base_url, max_retries=2).complete(ASK)
        assert server.requests == 3
    finally:
        server.close()


def test_a_reply_that_arrives_after_a_cancel_is_dropped_and_none_is_asked_after_it() -> None:
    server = ChatReplayServer(lambda _: '{"name": "Rex", "legs": 4}', delay_s=0.5)
    client = backend(server.base_url, structured_mode="json_object")
    timer = threading.Timer(0.1, CANCEL.request)  # Ctrl-C while the server is writing
    try:
        timer.start()
        with pytest.raises(Cancelled):
            client.complete(ASK)
        with pytest.raises(Cancelled):
            structured(client, ASK, Pet)
        assert server.requests == 1
        CANCEL.clear()
        assert structured(client, ASK, Pet).value == Pet(name="Rex", legs=4)
    finally:
        CANCEL.clear()
        server.close()


def test_api_key_is_redacted_from_a_rejection_message() -> None:
    body = b'{"error": {"message": "bad request for key sk-leaky-555 in response_format"}}'
    with http_server(400, body, "application/json") as url:
        client = backend(url, api_key="sk-leaky-555", structured_mode="json_schema")
        with pytest.raises(LLMResponseError) as caught:
            client.complete(ASK, json_schema=Pet.model_json_schema())
        assert "sk-leaky-555" not in str(caught.value)
        assert "***" in str(caught.value)
