"""What a command needs from the data and builds on first use, with its progress on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from m3rec.cli.render import FitProgress, err_console
from m3rec.settings import Settings

if TYPE_CHECKING:
    from m3rec.data import Dataset


def checkpoint_for(settings: Settings, dataset: Dataset, given: Path | None) -> Path:
    """Return GIVEN, else DATASET's cached MOTE checkpoint, built with its progress on stderr."""
    if given is not None:
        return given
    from m3rec.artifacts import ensure_checkpoint

    with FitProgress() as progress:
        built = ensure_checkpoint(
            settings, dataset, on_embed=progress.on_embed, on_epoch=progress.on_epoch
        )
    where = escape(str(built.path))
    if built.built:
        err_console.print(
            f"built the MOTE checkpoint for {escape(dataset.name)} in {built.seconds:.1f}s; "
            f"cached at {where}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        err_console.print(
            f"[dim]reusing the cached MOTE checkpoint {where}[/dim]",
            highlight=False,
            soft_wrap=True,
        )
    return built.path
