"""The `m3rec train` command: train MOTE on a dataset and write a checkpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console

from m3rec.cli_common import epoch_progress, split_setting
from m3rec.encoders.errors import EncoderError


def _settings(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if (setting := split_setting(pair)) is None:
            raise EncoderError(f"--set takes PARAM=VALUE such as slots=2, got {pair!r}")
        out[setting[0]] = setting[1]
    return out


def train(
    data: Annotated[
        Path | None,
        typer.Option(
            help="Dataset folder (MovieLens, Amazon P5 or generic); default: the bundled "
            "MovieLens latest-small."
        ),
    ] = None,
    format: Annotated[
        str,
        typer.Option(
            help="auto, movielens-1m, movielens-100k, movielens-latest, amazon-p5, generic."
        ),
    ] = "auto",
    epochs: Annotated[
        int, typer.Option(min=1, help="Most epochs; stops early on validation NDCG@10.")
    ] = 30,
    device: Annotated[
        Literal["cpu", "cuda"], typer.Option(help="Train on the CPU or a CUDA GPU.")
    ] = "cpu",
    out: Annotated[Path, typer.Option(help="Checkpoint file to write.")] = Path("mote.pt"),
    seed: Annotated[int, typer.Option(help="Seed: two CPU runs with one seed are identical.")] = 0,
    dim: Annotated[int, typer.Option(min=2, help="Size of the motivation/trait space.")] = 64,
    batch_size: Annotated[int, typer.Option(min=2, help="Training pairs per step.")] = 1024,
    valid_users: Annotated[
        int, typer.Option(min=1, help="Validation users sampled for early stopping.")
    ] = 1000,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Any other MOTE setting PARAM=VALUE, e.g. slots=2."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the training result as JSON to stdout.")
    ] = False,
) -> None:
    """Train the MOTE encoder on a dataset's training split and save a checkpoint."""
    import pydantic

    from m3rec.data import bundled_catalogue_path, index_dataset, leave_one_out, load_dataset
    from m3rec.encoders.checkpoint import fingerprint, save_checkpoint
    from m3rec.encoders.recommender import MoteRecommender
    from m3rec.encoders.training import check_device
    from m3rec.ranking.training_data import train_data

    check_device(device)

    overrides = {"epochs": epochs, "device": device, "dim": dim, "batch_size": batch_size}
    try:
        model = MoteRecommender(seed=seed, **{**_settings(set_ or []), **overrides})
    except pydantic.ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise EncoderError(f"invalid MOTE setting {where}: {err['msg']}") from None
    err_console = Console(stderr=True)
    dataset = load_dataset(data or bundled_catalogue_path(), format)
    if dataset.load_report.total_skipped:
        err_console.print(f"[yellow]skipped rows:[/yellow]\n{dataset.load_report.summary()}")
    indexed = index_dataset(dataset)
    split = leave_one_out(indexed)
    tdata = train_data(indexed, split, seed, valid_users=valid_users)
    started = time.perf_counter()
    with _EpochBar(err_console, epochs) as on_epoch:
        model.fit(tdata, on_epoch)
    seconds = time.perf_counter() - started
    fp = fingerprint(indexed.name, indexed.item_ids, indexed.sequences, indexed.item_texts)
    save_checkpoint(out, model.to_checkpoint(fp))
    result = model.result
    doc = {
        "checkpoint": str(out),
        "dataset": indexed.name,
        "users": indexed.n_users,
        "items": indexed.n_items,
        "device": device,
        "seed": seed,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "valid_ndcg10": result.best_valid_ndcg10,
        "train_seconds": round(seconds, 3),
        "seconds_per_epoch": round(seconds / max(1, result.epochs_run), 3),
        "epochs": result.history,
        "notes": "history items' text and traits (no LLM notes used in training)",
        "config": model.cfg.model_dump(),
    }
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
    else:
        best = "n/a" if result.best_valid_ndcg10 is None else f"{result.best_valid_ndcg10:.4f}"
        typer.echo(
            f"trained MOTE on {indexed.name} in {seconds:.1f}s ({result.epochs_run} epochs, "
            f"best epoch {result.best_epoch}, validation NDCG@10 {best}); wrote {out}"
        )


class _EpochBar:
    """A rich epoch bar on stderr; plain lines when stderr is not a terminal."""

    def __init__(self, console: Console, epochs: int) -> None:
        self.console, self.epochs = console, epochs
        self.bar = epoch_progress(console, disable=not console.is_terminal)
        self.task = self.bar.add_task("epochs", total=epochs, info="")

    def __enter__(self) -> Any:
        self.bar.__enter__()
        return self.on_epoch

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def on_epoch(self, epoch: int, epochs: int, logs: dict[str, float]) -> None:
        info = " ".join(f"{k} {v:.4f}" for k, v in logs.items())
        if self.console.is_terminal:
            self.bar.update(self.task, completed=epoch, info=info)
        else:
            self.console.print(f"epoch {epoch}/{epochs} {info}")
