"""`m3rec train`: train MOTE on a dataset and write a checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from m3rec.cli.errors import fail, reports_errors
from m3rec.cli.options import (
    DataOpt,
    FormatOpt,
    JsonOpt,
    load_data,
    split_setting,
    with_settings,
)
from m3rec.cli.render import FitProgress, console, print_json
from m3rec.settings import MOTE_BATCH_SIZE, MOTE_DIM, MOTE_EPOCHS, Settings

if TYPE_CHECKING:
    from m3rec.encoders.pipeline import TrainOutcome


def _mote_settings(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if (setting := split_setting(pair)) is None:
            fail(f"--set takes PARAM=VALUE such as slots=2, got {pair!r}")
        out[setting[0]] = setting[1]
    return out


def _maxpool_note(outcome: TrainOutcome) -> str:
    choice = outcome.maxpool_choice
    if choice is None or not choice.valid_ndcg10:
        return ""
    note = f", maxpool_weight {choice.weight:g} chosen on validation"
    if choice.weight:
        return f"{note} (gain over 0: {choice.gain_z[choice.weight]:.1f} standard errors)"
    best_z = max(choice.gain_z.values())
    return f"{note} (no weight led 0 by {choice.min_z:g} standard errors; the best by {best_z:.1f})"


def _print_settings(as_json: bool) -> None:
    from m3rec.encoders.config import MoteConfig

    rows = [
        {"name": name, "default": field.default, "description": field.description or ""}
        for name, field in MoteConfig.model_fields.items()
    ]
    for row in rows:
        if row["name"] == "maxpool_weight":
            row["default"] = "auto"
    if as_json:
        print_json({"settings": rows})
        return
    for row in rows:
        console.print(f"{row['name']} = {row['default']}: {row['description']}", highlight=False)


@reports_errors
@with_settings(llm=False)
def train(
    data: DataOpt = None,
    data_format: FormatOpt = "auto",
    epochs: Annotated[
        int, typer.Option("--epochs", min=1, help="Most epochs; stops early on validation NDCG@10.")
    ] = MOTE_EPOCHS,
    device: Annotated[
        Literal["cpu", "cuda"], typer.Option("--device", help="Train on the CPU or a CUDA GPU.")
    ] = "cpu",
    out: Annotated[Path, typer.Option("--out", help="Checkpoint file to write.")] = Path("mote.pt"),
    seed: Annotated[
        int, typer.Option("--seed", help="Seed: two runs with one seed and settings are identical.")
    ] = 0,
    dim: Annotated[
        int, typer.Option("--dim", min=2, help="Size of the motivation/trait space.")
    ] = MOTE_DIM,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=2, help="Training pairs per step.")
    ] = MOTE_BATCH_SIZE,
    valid_users: Annotated[
        int,
        typer.Option("--valid-users", min=1, help="Validation users sampled for early stopping."),
    ] = 1000,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="PARAM=VALUE",
            help="Any other MOTE setting, e.g. slots=2 (repeatable; --list-settings names them).",
            show_default=False,
        ),
    ] = None,
    list_settings: Annotated[
        bool,
        typer.Option(
            "--list-settings", help="Print every setting --set takes, with its default, and exit."
        ),
    ] = False,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Train the MOTE encoder and save a checkpoint.

    MOTE learns from the dataset's leave-one-out training split. Item texts are embedded first
    (cached under the cache folder, so a second run skips it), then MOTE trains until
    validation NDCG@10 stops improving.
    """
    from m3rec.encoders.pipeline import train_mote

    if list_settings:
        _print_settings(as_json)
        return
    overrides = {
        "threads": settings.torch.threads,
        **_mote_settings(set_ or []),
        "epochs": epochs,
        "device": device,
        "dim": dim,
        "batch_size": batch_size,
    }
    dataset = load_data(data, data_format)
    with FitProgress() as progress:
        outcome = train_mote(
            dataset,
            out,
            seed=seed,
            overrides=overrides,
            valid_users=valid_users,
            cache_dir=settings.paths.embeddings_dir,
            on_embed=progress.on_embed,
            on_epoch=progress.on_epoch,
        )
    if as_json:
        print_json(outcome.as_dict())
        return
    result = outcome.result
    best = "n/a" if result.best_valid_ndcg10 is None else f"{result.best_valid_ndcg10:.4f}"
    console.print(
        f"trained MOTE on {outcome.dataset} in {outcome.train_seconds:.1f}s "
        f"({result.epochs_run} epochs of {outcome.seconds_per_epoch:.1f}s, best epoch "
        f"{result.best_epoch}, validation NDCG@10 {best}{_maxpool_note(outcome)}); wrote {out}",
        highlight=False,
    )
