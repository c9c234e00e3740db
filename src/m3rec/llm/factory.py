"""Build the LLM backend the settings ask for."""

from __future__ import annotations

from m3rec.llm.base import LLMBackend
from m3rec.llm.registry import resolve_model_file
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
    )
