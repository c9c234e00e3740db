"""Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp's server, Ollama) as an LLM backend."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from m3rec.errors import LLMAuthError, LLMError, LLMResponseError, LLMUnavailableError
from m3rec.llm.base import ChatMessage, Completion, OnText, require_text
from m3rec.llm.cancel import CANCEL
from m3rec.llm.meter import METER

logger = logging.getLogger(__name__)

# Tried in this order under structured_mode="auto"; a server that rejects one moves to the next.
_AUTO_ORDER = ("json_schema", "json_object", "tool", "text")
_TOOL_NAME = "answer"
_TEXT_SCHEMA_NOTE = (
    "Reply with only one JSON object that validates against this JSON schema:\n{schema}"
)


class OpenAICompatBackend:
    """Chat completions over HTTP, with the structured mode the server accepts."""

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 2,
        max_tokens: int = 512,
        temperature: float = 0.0,
        seed: int | None = 0,
        structured_mode: str = "auto",
    ) -> None:
        try:
            import openai
        except ImportError as exc:
            raise LLMError("the openai package is not installed: run `pip install openai`") from exc
        self._openai = openai
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self._secret = api_key or ""
        self._modes = _AUTO_ORDER if structured_mode == "auto" else (structured_mode,)
        self._client = openai.OpenAI(
            base_url=self.base_url,
            # Local servers need no key, but the SDK insists on one.
            api_key=api_key or "not-needed",
            timeout=timeout_s,
            max_retries=max_retries,
        )

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        on_text: OnText | None = None,
    ) -> Completion:
        """Send one chat request; under a schema, fall back through the modes the server accepts.

        ON_TEXT is told the whole reply once it has arrived (this backend does not stream)."""
        CANCEL.check()
        completion = self._complete(messages, json_schema, max_tokens, temperature)
        CANCEL.check()  # the server is not interrupted; its reply is dropped
        if on_text is not None:
            on_text(completion.text)
        return completion

    def _complete(
        self,
        messages: list[ChatMessage],
        json_schema: dict[str, Any] | None,
        max_tokens: int | None,
        temperature: float | None,
    ) -> Completion:
        if json_schema is None:
            return self._request(messages, None, None, max_tokens, temperature)
        last_error: LLMResponseError | None = None
        for mode in self._modes:
            try:
                completion = self._request(messages, json_schema, mode, max_tokens, temperature)
            except _ModeRejectedError as exc:
                logger.info("server rejected structured mode %s: %s", mode, exc)
                last_error = LLMResponseError(
                    f"the server at {self.base_url} rejected structured mode '{mode}' ({exc}): "
                    "set openai.structured_mode to text"
                )
                continue
            self._modes = (mode,)  # remember what this server accepts
            return completion
        assert last_error is not None
        raise last_error

    def _request(
        self,
        messages: list[ChatMessage],
        json_schema: dict[str, Any] | None,
        mode: str | None,
        max_tokens: int | None,
        temperature: float | None = None,
    ) -> Completion:
        kwargs = self._request_kwargs(messages, json_schema, mode, max_tokens, temperature)
        started = time.perf_counter()
        probing = mode not in (None, "text") and len(self._modes) > 1
        reply = self._call(kwargs, rejectable=mode not in (None, "text"), probing=probing)
        if isinstance(reply, str) or not getattr(reply, "choices", None):
            raise LLMResponseError(
                f"the server at {self.base_url} did not answer with a chat completion: "
                "check that --base-url points at an OpenAI-compatible /v1 endpoint"
            )
        choice = reply.choices[0]
        text = _tool_arguments(choice) if mode == "tool" else choice.message.content
        usage = reply.usage
        completion = Completion(
            text=require_text(text, self.name),
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            seconds=time.perf_counter() - started,
            finish_reason=choice.finish_reason,
        )
        METER.add_prompt(completion.prompt_tokens)
        METER.add_generated(completion.completion_tokens)
        return completion

    def _request_kwargs(
        self,
        messages: list[ChatMessage],
        json_schema: dict[str, Any] | None,
        mode: str | None,
        max_tokens: int | None,
        temperature: float | None = None,
    ) -> dict[str, Any]:
        chat = [m.as_dict() for m in messages]
        # max_tokens goes in the body: some servers ignore max_completion_tokens.
        extra_body: dict[str, Any] = {"max_tokens": max_tokens or self.max_tokens}
        kwargs: dict[str, Any] = {
            "model": self.model,
            "temperature": self.temperature if temperature is None else temperature,
            "extra_body": extra_body,
        }
        if self.seed is not None:
            kwargs["seed"] = self.seed
        if json_schema is not None and mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": _schema_name(json_schema), "schema": json_schema},
            }
        elif json_schema is not None and mode == "json_object":
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        elif json_schema is not None and mode == "tool":
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {"name": _TOOL_NAME, "parameters": json_schema},
                }
            ]
            kwargs["tool_choice"] = {"type": "function", "function": {"name": _TOOL_NAME}}
        if json_schema is not None and mode in ("json_object", "text"):
            note = _TEXT_SCHEMA_NOTE.format(schema=json.dumps(json_schema, separators=(",", ":")))
            chat = [*chat, {"role": "system", "content": note}]
        kwargs["messages"] = chat
        return kwargs

    def _call(self, kwargs: dict[str, Any], *, rejectable: bool, probing: bool = False) -> Any:
        openai = self._openai
        try:
            if probing:
                # A server refusing a mode answers at once; retrying that refusal only wastes time.
                # Anything else (no connection, an overload) is asked again with retries.
                try:
                    return self._client.with_options(max_retries=0).chat.completions.create(
                        **kwargs
                    )
                except openai.APIConnectionError:
                    pass
                except openai.APIStatusError as exc:
                    if _rejects_structured_mode(exc):
                        raise
            return self._client.chat.completions.create(**kwargs)
        except openai.APITimeoutError:
            raise LLMUnavailableError(
                f"the server at {self.base_url} did not answer within {self.timeout_s:g}s: "
                "check that it is running, or raise openai.timeout_s"
            ) from None
        except openai.APIConnectionError:
            raise LLMUnavailableError(
                f"cannot connect to the server at {self.base_url}: start it, or fix --base-url"
            ) from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise LLMAuthError(
                f"the server at {self.base_url} refused the API key (HTTP {exc.status_code}): "
                "check --api-key, M3REC_OPENAI__API_KEY or OPENAI_API_KEY"
            ) from None
        except openai.NotFoundError:
            raise LLMResponseError(
                f"the server at {self.base_url} answered 404 for model '{self.model}': "
                "check --model and that --base-url ends with /v1"
            ) from None
        except openai.APIStatusError as exc:
            if rejectable and _rejects_structured_mode(exc):
                raise _ModeRejectedError(self._redact(_short(exc))) from None
            if exc.status_code in (400, 422):
                raise LLMResponseError(
                    f"the server at {self.base_url} rejected the request "
                    f"({self._redact(_short(exc))})"
                ) from None
            tries = f"after {self._client.max_retries} retries"
            if exc.status_code == 429:
                raise LLMUnavailableError(
                    f"the server at {self.base_url} is rate-limiting requests (HTTP 429) {tries}: "
                    "lower --concurrency, or raise openai.max_retries"
                ) from None
            if exc.status_code >= 500:
                raise LLMUnavailableError(
                    f"the server at {self.base_url} failed with HTTP {exc.status_code} {tries}: "
                    "check the server's log"
                ) from None
            raise LLMResponseError(
                f"the server at {self.base_url} failed with HTTP {exc.status_code}: "
                "check the server's log"
            ) from None
        except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError):
            raise LLMResponseError(
                f"the server at {self.base_url} answered with something that is not JSON: "
                "check that --base-url points at an OpenAI-compatible /v1 endpoint"
            ) from None

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def describe(self) -> dict[str, Any]:
        """Return the server and model; never the key."""
        return {
            "backend": self.name,
            "model": self.model,
            "base_url": self.base_url,
            "api_key": "set" if self._secret else "not set",
            "device": "remote",
        }

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


class _ModeRejectedError(Exception):
    """The server refused a structured-output mode; the next mode may work."""


def _rejects_structured_mode(exc: Any) -> bool:
    """Tell whether an HTTP error is the server refusing a response_format or tool request."""
    if exc.status_code in (400, 422):
        return True
    # llama.cpp's server answers 500 for a request body it fails to validate.
    text = _short(exc).lower()
    return exc.status_code == 500 and any(
        word in text for word in ("response_format", "json_schema", "tool")
    )


def _short(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return " ".join(message.split())[:200]


def _schema_name(json_schema: dict[str, Any]) -> str:
    title = str(json_schema.get("title") or "answer")
    return "".join(ch for ch in title if ch.isalnum() or ch in "_-")[:64] or "answer"


def _tool_arguments(choice: Any) -> str | None:
    calls = getattr(choice.message, "tool_calls", None) or []
    if calls:
        return str(calls[0].function.arguments)
    return choice.message.content
