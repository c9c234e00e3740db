"""The `m3rec evaluate` command: run baselines through the evaluation protocol."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from m3rec.cli_common import epoch_progress, split_setting
from m3rec.data import DataError, index_dataset, load_dataset
from m3rec.eval.baselines import BASELINES, REGISTRY
from m3rec.eval.harness import EvalSettings, run_evaluation
from m3rec.eval.report import markdown_table, write_per_user, write_report


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def _int_list(raw: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in raw.split(",") if x.strip())
    except ValueError:
        raise _fail(f"--{what} takes comma-separated integers such as 0,1,2, got {raw!r}") from None
    if not values:
        raise _fail(f"--{what} needs at least one value")
    return values


def _overrides(pairs: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        setting = split_setting(pair)
        model, dot, param = setting[0].partition(".") if setting else ("", "", "")
        if setting is None or not dot or model not in REGISTRY:
            raise _fail(f"--set takes MODEL.PARAM=VALUE with a known model, got {pair!r}")
        out.setdefault(model, {})[param] = setting[1]
    return out


def evaluate(
    data: Annotated[Path, typer.Option(help="Dataset folder (MovieLens, Amazon P5 or generic).")],
    format: Annotated[
        str,
        typer.Option(
            help="auto, movielens-1m, movielens-100k, movielens-latest, amazon-p5, generic."
        ),
    ] = "auto",
    models: Annotated[
        str,
        typer.Option(help=f"Comma-separated models: {','.join(REGISTRY)} (default: baselines)."),
    ] = ",".join(BASELINES),
    protocol: Annotated[
        str, typer.Option(help="sampled (target + 99 negatives), full, or both (sampled,full).")
    ] = "sampled",
    cold_k: Annotated[
        str, typer.Option("--cold-k", help="Comma-separated cold-start cuts; 0 = whole history.")
    ] = "0",
    seeds: Annotated[
        int, typer.Option(help="Number of seeds (0..N-1); mean and std over them.")
    ] = 3,
    users: Annotated[
        int | None, typer.Option(help="Evaluate a seeded sample of N users (default: all).")
    ] = None,
    cold_users: Annotated[
        int | None,
        typer.Option(
            help="Users cut in a cold-start run (default 1000, at most a fifth of users)."
        ),
    ] = None,
    negatives: Annotated[int, typer.Option(help="Sampled negatives per test user.")] = 99,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Model setting MODEL.PARAM=VALUE, e.g. sasrec.epochs=20."),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Folder for results.json, results.md and charts.")
    ] = Path("m3rec-eval"),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the results JSON to stdout.")
    ] = False,
) -> None:
    """Evaluate recommenders on a dataset with the leave-one-out protocol."""
    names = tuple(m.strip() for m in models.split(",") if m.strip())
    unknown = [m for m in names if m not in REGISTRY]
    if unknown or not names:
        raise _fail(
            f"unknown model {unknown[0] if unknown else '(none)'!r}; use {','.join(REGISTRY)}"
        )
    protocols = (
        ("sampled", "full")
        if protocol == "both"
        else tuple(p.strip() for p in protocol.split(",") if p.strip())
    )
    try:
        settings = EvalSettings(
            models=names,
            protocols=protocols,
            cold_ks=_int_list(cold_k, "cold-k"),
            seeds=seeds,
            users=users,
            cold_users=cold_users,
            n_negatives=negatives,
            overrides=_overrides(set_ or []),
        )
    except (ValueError, KeyError) as e:
        raise _fail(str(e).strip("'\"")) from None
    err = Console(stderr=True)
    try:
        dataset = load_dataset(data, format)
        if dataset.load_report.total_skipped:
            err.print(f"[yellow]skipped rows:[/yellow]\n{dataset.load_report.summary()}")
        indexed = index_dataset(dataset)
        with _progress(err) as callback:
            result = run_evaluation(indexed, settings, callback)
    except DataError as e:
        raise _fail(str(e)) from None
    except ValueError as e:  # data too small for the protocol, an invalid model setting
        raise _fail(str(e)) from None
    doc = result.to_json()
    doc["load_report"] = dataset.load_report.as_dict()
    try:
        paths = write_report(doc, out)
        paths.append(write_per_user(result, out))
    except OSError as e:
        raise _fail(
            f"cannot write results to {out}: {e.strerror}; choose a writable --out"
        ) from None
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
    else:
        typer.echo(markdown_table(doc))
        typer.echo("wrote " + ", ".join(str(p) for p in paths))


class _progress:
    """Rich progress bars on stderr: one for the runs, one for the epochs of the current fit."""

    def __init__(self, console: Console) -> None:
        self.bar = epoch_progress(console, transient=False)
        self.runs: Any = None
        self.epochs: Any = None

    def __enter__(self) -> Any:
        self.bar.__enter__()
        return self.callback

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def callback(self, event: str, info: dict[str, Any]) -> None:
        if not self.bar.console.is_terminal:  # a log file: one plain line per event
            self._log(event, info)
            return
        if self.runs is None:
            self.runs = self.bar.add_task("runs", total=info.get("total"), info="")
        if event == "job":
            label = f"{info['model']} cold_k={info['cold_k']} seed={info['seed']}"
            self.bar.update(self.runs, description=f"runs ({label})")
            if self.epochs is not None:
                self.bar.remove_task(self.epochs)
            self.epochs = None
        elif event == "epoch":
            if self.epochs is None:
                self.epochs = self.bar.add_task("  epochs", total=info["epochs"], info="")
            logs = ", ".join(
                f"{k} {v:.4f}" for k, v in info.items() if k in ("loss", "valid_ndcg10")
            )
            self.bar.update(self.epochs, completed=info["epoch"], info=logs)
        elif event == "scored":
            self.bar.update(self.runs, completed=info["done"])

    def _log(self, event: str, info: dict[str, Any]) -> None:
        label = f"{info.get('model')} cold_k={info.get('cold_k')} seed={info.get('seed')}"
        if event == "epoch":
            logs = " ".join(
                f"{k}={v:.4f}" for k, v in info.items() if k in ("loss", "valid_ndcg10")
            )
            self.bar.console.print(f"{label} epoch {info['epoch']}/{info['epochs']} {logs}")
        elif event == "scored":
            self.bar.console.print(
                f"{label} done in {info['fit_seconds']:.1f}s fit ({info['done']}/{info['total']})"
            )
