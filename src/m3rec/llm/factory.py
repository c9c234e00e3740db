"""Build the LLM backend the settings ask for, lazily, and name the model for cache keys."""

from __future__ import annotations

import threading
from collections.abc import Callable

from m3rec.llm.base import LLMBackend
from m3rec.llm.registry import MODELS, resolve_model_file
from m3rec.settings import Settings


def build_backend(settings: Settings) -> LLMBackend:
    """Return a ready backend: the local GGUF model (verified) or an OpenAI-compatible client."""
    llm = settings.llm
    if llm.backend == "openai":
        from m3rec.llm.openai_compat import OpenAICompatBackend

        server = settings.openai
        return OpenAICompatBackend(
            base_url=server.base_url,
            model=server.model,
            api_key=settings.openai_api_key(),
            timeout_s=server.timeout_s,
            max_retries=server.max_retries,
            max_tokens=llm.max_tokens,
            temperature=llm.temperature,
            seed=llm.seed,
            structured_mode=server.structured_mode,
        )
    from m3rec.llm.llamacpp import LlamaCppBackend

    path, registry_name = resolve_model_file(llm.model, settings.paths.model_dir)
    return LlamaCppBackend(
        path,
        model_name=registry_name,
        n_ctx=llm.n_ctx,
        n_threads=llm.n_threads,
        n_gpu_layers=llm.n_gpu_layers,
        max_tokens=llm.max_tokens,
        temperature=llm.temperature,
        seed=llm.seed,
        prompt_cache_mb=llm.prompt_cache_mb,
    )


def model_identity(settings: Settings) -> str:
    """Return what identifies the model in cache keys: a changed model never serves old notes."""
    if settings.llm.backend == "openai":
        return f"openai:{settings.openai.base_url}:{settings.openai.model}"
    spec = MODELS.get(settings.llm.model)
    if spec is not None:
        return f"llamacpp:{spec.name}:{spec.sha256[:16]}"
    return f"llamacpp:{settings.llm.model}"


class LazyBackend:
    """Build the LLM backend on first use, once, from any thread; close it if it was built."""

    def __init__(self, factory: Callable[[], LLMBackend]) -> None:
        self._factory = factory
        self._backend: LLMBackend | None = None
        self._lock = threading.Lock()

    def __call__(self) -> LLMBackend:
        with self._lock:
            if self._backend is None:
                self._backend = self._factory()
            return self._backend

    def close(self) -> None:
        """Close the backend if it was ever built."""
        if self._backend is not None:
            self._backend.close()
