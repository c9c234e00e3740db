"""What every m3rec command shares: option types, settings from flags, one-line errors, output."""

from __future__ import annotations

import functools
import inspect
import json
import logging
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from m3rec.errors import M3recError
from m3rec.settings import Settings, load_settings

console = Console()
F = TypeVar("F", bound=Callable[..., Any])

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", help="TOML config file (default: $M3REC_CONFIG or ~/.config/m3rec/config.toml)."
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="LLM backend: 'llamacpp' (local GGUF, default) or 'openai' "
        "(any OpenAI-compatible server).",
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="llamacpp: a registry name or a .gguf path; openai: the server's model name.",
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible server URL, e.g. http://127.0.0.1:8000/v1."),
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
        "--n-gpu-layers", help="llamacpp: layers to offload to the GPU (-1 = all, 0 = CPU only)."
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens to stderr.")]


def fail(message: str) -> NoReturn:
    """Print one error line to stderr and exit with code 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def reports_errors(func: F) -> F:
    """Turn domain errors into one line and exit code 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except M3recError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted")

    return wrapper  # type: ignore[return-value]


def settings_from_flags(
    config: Path | None,
    *,
    backend: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    n_gpu_layers: int | None = None,
) -> Settings:
    """Load settings with the command-line flags on top; --model goes where the backend reads it."""
    resolved_backend = backend or load_settings(config).llm.backend
    llm: dict[str, Any] = {"backend": backend, "n_gpu_layers": n_gpu_layers}
    server: dict[str, Any] = {"base_url": base_url, "api_key": api_key}
    if resolved_backend == "openai":
        server["model"] = model
    else:
        llm["model"] = model
    return load_settings(config, {"llm": llm, "openai": server})


LLM_FLAGS: dict[str, Any] = {
    "config": ConfigOpt,
    "backend": BackendOpt,
    "model": ModelOpt,
    "base_url": BaseUrlOpt,
    "api_key": ApiKeyOpt,
    "n_gpu_layers": GpuLayersOpt,
}


def with_llm_settings(func: F) -> F:
    """Give a command the LLM flags (--config, --backend, --model, --base-url, --api-key,
    --n-gpu-layers); it receives the `settings` they resolve to in their place."""
    hints = typing.get_type_hints(func, include_extras=True)
    own = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(func).parameters.values()
        if p.name != "settings"
    ]
    flags = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
        for name, kind in LLM_FLAGS.items()
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name, None) for name in LLM_FLAGS}
        config = given.pop("config")
        return func(*args, settings=settings_from_flags(config, **given), **kwargs)

    wrapper.__signature__ = inspect.Signature(own + flags)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


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


def epoch_progress(console: Console, **options: Any) -> Progress:
    """Return the progress bar that long fits show: description, bar, n/N, elapsed, last info."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        **options,
    )


def print_json(data: Any) -> None:
    """Print DATA as JSON on stdout."""
    typer.echo(json.dumps(data, indent=2, default=str))


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Dataset folder (MovieLens 1M/100K/latest-small, Amazon P5, or generic); "
        "default: the bundled MovieLens latest-small.",
    ),
]
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        help="auto, movielens-1m, movielens-100k, movielens-latest, amazon-p5 or generic.",
    ),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store", help="Chroma folder for profiles, notes and traits (default: paths.chroma_dir)."
    ),
]


def _load_data(data: Path | None, data_format: str) -> Any:
    from m3rec.data import bundled_catalogue_path, load_dataset

    return load_dataset(data or bundled_catalogue_path(), data_format)
