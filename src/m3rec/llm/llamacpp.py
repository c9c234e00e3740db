"""In-process llama.cpp backend: the model's own chat template, JSON-schema constrained output."""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from m3rec.errors import LLMError, ModelError
from m3rec.llm.base import ChatMessage, Completion, OnText, require_text
from m3rec.llm.cancel import CANCEL
from m3rec.llm.meter import METER

logger = logging.getLogger(__name__)


def available_cores() -> int:
    """Return the number of CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_threads(cores: int | None = None, load: float | None = None) -> int:
    """Return the cores not already busy (1-minute load average), at least one.

    llama.cpp's threads wait on each other at every step: one thread that cannot get a core
    stalls the rest, so on a shared machine fewer threads run much faster (measured here:
    qwen2.5-1.5b generated 17.9 tok/s on 1 thread but 7.8 tok/s on 2 with other jobs running).
    """
    cores = cores if cores is not None else available_cores()
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = 0.0
    return max(1, min(cores, cores - int(load)))


def gpu_offload_supported() -> bool:
    """Tell whether this llama-cpp-python build can offload layers to a GPU."""
    try:
        import llama_cpp
    except ImportError:
        return False
    return bool(llama_cpp.llama_supports_gpu_offload())


class LlamaCppBackend:
    """A GGUF model run in this process by llama-cpp-python."""

    name = "llamacpp"

    def __init__(
        self,
        model_path: Path,
        *,
        model_name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        max_tokens: int = 512,
        temperature: float = 0.0,
        seed: int = 0,
        prompt_cache_mb: int = 0,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMError(
                "llama-cpp-python is not installed: run `make install` or "
                "`pip install 'llama-cpp-python[server]==0.3.36'`"
            ) from exc
        self.model_path = model_path
        self.model_name = model_name or model_path.name
        self.n_threads = n_threads or default_threads()
        self.n_gpu_layers = n_gpu_layers
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.prompt_cache_mb = prompt_cache_mb
        self._lock = threading.Lock()
        self._live = [0, 0]  # calls and tokens of the current request already given to METER
        self._on_text: OnText | None = None  # the current request's listener
        try:
            with _quiet_stderr():
                self._llama = Llama(
                    model_path=str(model_path),
                    n_ctx=n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    n_gpu_layers=n_gpu_layers,
                    seed=seed,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"llama.cpp could not load {model_path} ({exc}): "
                "run `m3rec models verify NAME` or pull the model again with --force"
            ) from None
        self._llama.generate = self._metered(self._llama.generate)  # type: ignore[method-assign,assignment]
        if prompt_cache_mb:
            from llama_cpp import LlamaRAMCache

            self._llama.set_cache(LlamaRAMCache(capacity_bytes=prompt_cache_mb << 20))

    def _metered(self, generate: Callable[..., Iterator[int]]) -> Callable[..., Iterator[int]]:
        """Wrap Llama.generate, which the completion calls consume token by token, to count each
        token on METER as the completion keeps it; the call itself is unchanged.

        Not stream=True: its chunks carry no usage and merge the tokens of a split UTF-8
        character, so its counts would be guesses; this way the reply is the same call as ever.
        """

        def metered(tokens: Sequence[int], *args: Any, **kwargs: Any) -> Iterator[int]:
            METER.add_prompt(len(tokens))
            self._live[0] += 1
            on_text, text = self._on_text, ""
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            for token in generate(tokens, *args, **kwargs):
                CANCEL.check()  # a cancelled turn stops here, mid-reply
                if on_text is not None:
                    piece = decoder.decode(self._llama.detokenize([token]))
                    if piece:
                        text += piece
                        on_text(text)
                yield token
                # Resumed: the completion kept TOKEN and asks for the next. It stops at an
                # end-of-generation token without keeping it, so that one is never counted.
                METER.add_generated(1)
                self._live[1] += 1

        return metered

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        on_text: OnText | None = None,
    ) -> Completion:
        """Generate a reply with the model's chat template, grammar-constrained to JSON_SCHEMA;
        ON_TEXT is told the reply so far after each token that adds text."""
        kwargs: dict[str, Any] = {
            "messages": [m.as_dict() for m in messages],
            "max_tokens": max_tokens or self.max_tokens,
            "temperature": self.temperature if temperature is None else temperature,
            "seed": self.seed,  # per request: a sampled reply depends on nothing asked before it
        }
        if json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": grammar_safe(json_schema)}
        started = time.perf_counter()
        with self._lock:
            self._live, self._on_text = [0, 0], on_text
            try:
                reply: Any = self._llama.create_chat_completion(**kwargs)
            except ValueError as exc:  # prompt longer than the context window
                raise LLMError(f"llama.cpp refused the request ({exc}): raise llm.n_ctx") from None
            finally:
                self._on_text = None
            live_calls, live_generated = self._live
        choice = reply["choices"][0]
        usage = reply.get("usage") or {}
        completion = Completion(
            text=require_text(choice["message"].get("content"), self.name),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=time.perf_counter() - started,
            finish_reason=choice.get("finish_reason"),
        )
        # The last token kept under max_tokens or a stop string is not counted live: settle on
        # the reply's own counts.
        if not live_calls:
            METER.add_prompt(completion.prompt_tokens)
        METER.add_generated(completion.completion_tokens - live_generated)
        if on_text is not None:
            on_text(completion.text)  # the reply as the chat completion settled it
        return completion

    def describe(self) -> dict[str, Any]:
        """Return the model file, threads and GPU offload of this backend."""
        offload = self.n_gpu_layers != 0 and gpu_offload_supported()
        return {
            "backend": self.name,
            "model": self.model_name,
            "model_path": str(self.model_path),
            "n_threads": self.n_threads,
            "n_gpu_layers": self.n_gpu_layers,
            "prompt_cache_mb": self.prompt_cache_mb,
            "device": "GPU" if offload else "CPU",
        }

    def close(self) -> None:
        """Free the model."""
        with self._lock:
            close = getattr(self._llama, "close", None)
            if close is not None:
                close()


def grammar_safe(schema: Any) -> Any:
    """Return SCHEMA with `"` and `\\` in its const and enum strings written `'` and `/`.

    llama-cpp-python's schema-to-grammar conversion escapes those characters wrongly in a
    literal, and llama.cpp then fails to parse the grammar and ends the process: an item title
    holding a quote (catalogue text that imitates JSON) did that to the reasons request. A
    value so rewritten no longer matches the data exactly; the checks downstream treat it as
    any other value the data does not hold."""
    if isinstance(schema, dict):
        return {
            key: _literal_safe(value) if key in ("const", "enum") else grammar_safe(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [grammar_safe(value) for value in schema]
    return schema


def _literal_safe(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\\", "/").replace('"', "'")
    if isinstance(value, list):
        return [_literal_safe(v) for v in value]
    return value


@contextlib.contextmanager
def _quiet_stderr():  # type: ignore[no-untyped-def]
    """Silence llama.cpp's C-level loading chatter, which bypasses Python's sys.stderr."""
    if logger.isEnabledFor(logging.DEBUG):
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
