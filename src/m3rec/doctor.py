"""Check an installation: versions, model file, stores, device, one live structured call."""

from __future__ import annotations

import platform
import time
from importlib import metadata
from typing import Any

from pydantic import BaseModel

from m3rec import prompts
from m3rec.errors import M3recError
from m3rec.llm.base import structured
from m3rec.llm.factory import build_backend
from m3rec.llm.registry import MODELS, model_status
from m3rec.settings import Settings

_PACKAGES = (
    "m3rec",
    "llama-cpp-python",
    "openai",
    "torch",
    "chromadb",
    "langgraph",
    "langchain-core",
    "sentence-transformers",
    "pydantic",
)


class SumAnswer(BaseModel):
    """The doctor's round-trip schema."""

    sum: float


def package_versions() -> dict[str, str | None]:
    """Return the installed version of each package m3rec relies on (None if absent)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def describe_devices() -> dict[str, Any]:
    """Return whether llama.cpp and torch can use a GPU here."""
    from m3rec.llm.llamacpp import available_cores, gpu_offload_supported

    try:
        import torch

        cuda = bool(torch.cuda.is_available())
    except ImportError:
        cuda = False
    return {
        "cpu_cores": available_cores(),
        "llama_cpp_gpu_offload": gpu_offload_supported(),
        "torch_cuda": cuda,
    }


def describe_model(settings: Settings) -> dict[str, Any]:
    """Return the local model file's path and checksum state (llamacpp backend only)."""
    if settings.llm.backend != "llamacpp":
        return {"name": settings.openai.model, "served_by": settings.openai.base_url}
    spec = MODELS.get(settings.llm.model)
    if spec is None:
        return {"name": settings.llm.model, "path": settings.llm.model, "registry": False}
    status = model_status(spec, settings.paths.model_dir)
    return {
        "name": spec.name,
        "path": str(status.path),
        "sha256": spec.sha256,
        "state": status.state,
    }


def round_trip(settings: Settings) -> dict[str, Any]:
    """Ask the configured backend for a small structured object; report what came back."""
    started = time.perf_counter()
    try:
        backend = build_backend(settings)
        try:
            prompt = prompts.render("doctor", a="2", b="3")
            result = structured(backend, prompt.messages, SumAnswer, max_tokens=32)
            described = backend.describe()
        finally:
            backend.close()
    except M3recError as exc:
        return {"ok": False, "error": str(exc), "seconds": round(time.perf_counter() - started, 2)}
    return {
        "ok": True,
        "backend": described,
        "value": result.value.model_dump(),
        "correct": result.value.sum == 5,
        "repaired": result.repaired,
        "seconds": round(time.perf_counter() - started, 2),
    }


def run_doctor(settings: Settings) -> dict[str, Any]:
    """Collect the whole doctor report; report["round_trip"]["ok"] decides the exit code."""
    return {
        "versions": package_versions(),
        "backend": settings.llm.backend,
        "model": describe_model(settings),
        "paths": {
            "model_dir": str(settings.paths.model_dir),
            "cache_dir": str(settings.paths.cache_dir),
            "store": settings.store.kind,
            "store_path": str(settings.store.path),
            "store_path_exists": settings.store.path.exists(),
        },
        "device": describe_devices(),
        "round_trip": round_trip(settings),
    }
