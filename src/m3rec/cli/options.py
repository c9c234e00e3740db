"""Every option two commands share, declared once, and the settings the flags resolve to."""

from __future__ import annotations

import functools
import inspect
import json
import logging
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from m3rec.settings import Settings, load_settings

if TYPE_CHECKING:
    from m3rec.data import Dataset

F = TypeVar("F", bound=Callable[..., Any])

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML config file (default: $M3REC_CONFIG or ~/.config/m3rec/config.toml).",
        show_default=False,
    ),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Chroma folder for profiles, notes and traits (default: store.path in the "
        "settings, M3REC_STORE__PATH).",
        show_default=False,
    ),
]
StoreUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--store-url",
        help="A Chroma server (e.g. http://127.0.0.1:8000, started with `chroma run --path "
        "DIR`) to keep profiles, notes and traits in instead of the --store folder (default: "
        "store.url in the settings, M3REC_STORE__URL).",
        show_default=False,
    ),
]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Dataset folder: MovieLens 1M, 100K or latest, Amazon P5, or generic. "
        "Default: the small MovieLens catalogue bundled with m3rec.",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        help="Dataset format: auto, movielens-1m, movielens-100k, movielens-latest, amazon-p5 "
        "or generic.",
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", help="Print machine-readable JSON on stdout (progress stays on stderr)."
    ),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens to stderr.")]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="LLM backend: llamacpp (the local GGUF model, default) or openai (any "
        "OpenAI-compatible server).",
        show_default=False,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="llamacpp: a registry name or a .gguf path; openai: the server's model name.",
        show_default=False,
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="OpenAI-compatible server URL, e.g. http://127.0.0.1:8000/v1.",
        show_default=False,
    ),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="API key for the server (prefer M3REC_OPENAI__API_KEY or OPENAI_API_KEY).",
        show_default=False,
    ),
]
GpuLayersOpt = Annotated[
    int | None,
    typer.Option(
        "--n-gpu-layers",
        help="llamacpp: layers to offload to the GPU (-1 = all, 0 = CPU only).",
        show_default=False,
    ),
]

# The flags each settings decorator adds, in the order --help shows them.
_BASE_FLAGS: dict[str, Any] = {
    "config": ConfigOpt,
    "store": StoreOpt,
    "store_url": StoreUrlOpt,
    "verbose": VerboseOpt,
}
_LLM_FLAGS: dict[str, Any] = {
    "backend": BackendOpt,
    "model": ModelOpt,
    "base_url": BaseUrlOpt,
    "api_key": ApiKeyOpt,
    "n_gpu_layers": GpuLayersOpt,
}


def settings_from_flags(
    config: Path | None,
    *,
    store: Path | None = None,
    store_url: str | None = None,
    backend: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    n_gpu_layers: int | None = None,
) -> Settings:
    """Load settings with the command-line flags on top; --model goes where the backend reads it.

    An invalid value that came from a flag is reported with the flag's name.
    """
    llm: dict[str, Any] = {"backend": backend, "n_gpu_layers": n_gpu_layers}
    server: dict[str, Any] = {"base_url": base_url, "api_key": api_key}
    flags = {
        "store.path": "--store",
        "store.url": "--store-url",
        "llm.backend": "--backend",
        "llm.n_gpu_layers": "--n-gpu-layers",
        "openai.base_url": "--base-url",
    }
    stored = {"path": store, "url": store_url}
    overrides: dict[str, Any] = {"llm": llm, "openai": server, "store": stored}
    if model is not None:
        resolved = backend or load_settings(config, {"store": stored}).llm.backend
        section = "openai" if resolved == "openai" else "llm"
        overrides[section]["model"] = model
        flags[f"{section}.model"] = "--model"
    return load_settings(config, overrides, flags=flags)


def store_flag(store: Path | None) -> str | None:
    """Return the flag to name in a store error: `--store` when the user gave it."""
    return "--store" if store is not None else None


def with_settings(*, llm: bool) -> Callable[[F], F]:
    """Give a command --config, --store and --verbose (and with LLM the LLM flags: --backend,
    --model, --base-url, --api-key, --n-gpu-layers); it receives the `settings` they resolve to,
    with logging set up as --verbose asks.

    A command that declares `store` itself still gets it, to name --store in errors.
    """
    added = {**_BASE_FLAGS, **(_LLM_FLAGS if llm else {})}

    def decorate(func: F) -> F:
        hints = typing.get_type_hints(func, include_extras=True)
        params = inspect.signature(func).parameters
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in params.values()
            if p.name != "settings" and p.name not in added
        ]
        flags = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
            for name, kind in added.items()
        ]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name, None) for name in added}
            if "store" in params:
                kwargs["store"] = given["store"]
            setup_logging(bool(given.pop("verbose")))
            settings = settings_from_flags(given.pop("config"), **given)
            return func(*args, settings=settings, **kwargs)

        wrapper.__signature__ = inspect.Signature(own + flags)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


with_llm_settings = with_settings(llm=True)
"""Give a command the settings flags and the LLM flags (see `with_settings`)."""


def split_setting(pair: str) -> tuple[str, Any] | None:
    """Split a --set KEY=VALUE into the key and the value read as JSON (else as text);
    None when there is no '=' or no key."""
    key, sep, raw = pair.partition("=")
    if not sep or not key.strip():
        return None
    try:
        return key.strip(), json.loads(raw)
    except json.JSONDecodeError:
        return key.strip(), raw


def setup_logging(verbose: bool) -> None:
    """Log to stderr: INFO with --verbose, else warnings only."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def load_data(data: Path | None, data_format: str) -> Dataset:
    """Load --data in --format (default: the bundled catalogue); warn on stderr about skipped
    rows."""
    from m3rec.cli.render import warn_skipped_rows
    from m3rec.data import bundled_catalogue_path, load_dataset

    dataset = load_dataset(data or bundled_catalogue_path(), data_format)
    warn_skipped_rows(dataset.load_report)
    return dataset
