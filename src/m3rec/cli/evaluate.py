"""`m3rec evaluate`: recommenders through the leave-one-out protocol, with reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
from m3rec.cli.render import FitProgress, print_json
from m3rec.eval.baselines import BASELINES, LLM_BASELINES, METHODS, REGISTRY, is_model
from m3rec.llm.cache import CachedBackend
from m3rec.llm.factory import LazyBackend, build_backend, model_identity
from m3rec.settings import Settings

MODELS_HELP = (
    f"Comma-separated models. Baselines: {', '.join(BASELINES)}; LLM re-ranking baseline: "
    f"{', '.join(LLM_BASELINES)}; methods: {', '.join(METHODS)}. Default: all the baselines "
    "without an LLM. m3rec, m3rec-llm and m3rec's ablations (m3rec-history: the history's text "
    "in place of the motivations; notesim: raw sentence embeddings in place of MOTE) read the "
    "cold users' MOPE test profiles from --store (those --model wrote); llmrank and m3rec-llm "
    "ask --model, keeping every reply under the cache folder so that a rerun resumes. "
    "MODEL@TAG runs a variant of MODEL, reported as MODEL@TAG and tested against MODEL: it "
    "takes MODEL's --set values, then its own (--set mote@near.maxpool_weight=0.5); MOTE "
    "variants that differ only in scoring settings share one fit."
)


def _int_list(raw: str, flag: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in raw.split(",") if x.strip())
    except ValueError:
        fail(f"{flag} takes comma-separated integers such as 0,1,2, got {raw!r}")
    if not values:
        fail(f"{flag} needs at least one value")
    return values


def _model_names(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return BASELINES
    names = tuple(m.strip() for m in raw.split(",") if m.strip())
    unknown = [m for m in names if not is_model(m)]
    if unknown or not names:
        fail(f"unknown model {unknown[0] if unknown else '(none)'!r}; use {','.join(REGISTRY)}")
    return names


def _reads_profiles(names: tuple[str, ...]) -> bool:
    from m3rec.eval.baselines import model_class

    return any(getattr(model_class(n), "reads_profiles", False) for n in names)


def _reply_cached_llm(settings: Settings, names: tuple[str, ...]) -> LazyBackend | None:
    """Return the settings' LLM, built on first use, every reply kept under the cache folder
    (a rerun of the same evaluation asks only what it has not asked yet); None if no model
    asks an LLM."""
    from m3rec.eval.baselines import model_class

    if not any(getattr(model_class(n), "asks_llm", False) for n in names):
        return None
    model_id = model_identity(settings)
    replies = settings.paths.cache_dir / "llm-replies.jsonl"
    return LazyBackend(lambda: CachedBackend(build_backend(settings), replies, model_id))


def _overrides(pairs: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        setting = split_setting(pair)
        model, dot, param = setting[0].partition(".") if setting else ("", "", "")
        if setting is None or not dot or not is_model(model):
            fail(f"--set takes MODEL.PARAM=VALUE with a known model, got {pair!r}")
        out.setdefault(model, {})[param] = setting[1]
    return out


@reports_errors
@with_settings(llm=True)
def evaluate(
    data: DataOpt = None,
    data_format: FormatOpt = "auto",
    models: Annotated[
        str | None, typer.Option("--models", help=MODELS_HELP, show_default=False)
    ] = None,
    protocol: Annotated[
        str,
        typer.Option(
            "--protocol", help="sampled (target + 99 negatives), full, or both (sampled,full)."
        ),
    ] = "sampled",
    cold_k: Annotated[
        str,
        typer.Option("--cold-k", help="Comma-separated cold-start cuts; 0 = the whole history."),
    ] = "0",
    seeds: Annotated[
        int, typer.Option("--seeds", help="Number of seeds (0..N-1); mean and std over them.")
    ] = 3,
    users: Annotated[
        int | None,
        typer.Option(
            "--users",
            help="Evaluate a seeded sample of N users (default: all).",
            show_default=False,
        ),
    ] = None,
    cold_users: Annotated[
        int | None,
        typer.Option(
            "--cold-users",
            help="Users cut in a cold-start run (default: 1000, at most a fifth of the users).",
            show_default=False,
        ),
    ] = None,
    profiled: Annotated[
        bool,
        typer.Option(
            "--profiled",
            help="Evaluate only the users with a test-stage profile at each cold_k in --store "
            "(or --store-url), written by --model: the same users as m3rec's rows. Automatic "
            "when a model that reads profiles (m3rec, m3rec-llm, m3rec-history, notesim) runs.",
        ),
    ] = False,
    negatives: Annotated[
        int, typer.Option("--negatives", help="Sampled negatives per test user.")
    ] = 99,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="MODEL.PARAM=VALUE",
            help="A model setting, e.g. sasrec.epochs=20 (repeatable).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for results.json, results.md and charts.")
    ] = Path("m3rec-eval"),
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate recommenders with the leave-one-out protocol.

    Each model is fitted and scored for every cold-start cut and seed; the results (mean, std
    and a paired test against the best baseline) go to --out and to stdout.
    """
    from m3rec.eval.harness import EvalSettings
    from m3rec.eval.report import markdown_table
    from m3rec.eval.run import evaluate_dataset

    protocols = (
        ("sampled", "full")
        if protocol == "both"
        else tuple(p.strip() for p in protocol.split(",") if p.strip())
    )
    names = _model_names(models)
    llm = _reply_cached_llm(settings, names)
    try:
        plan = EvalSettings(
            models=names,
            protocols=protocols,
            cold_ks=_int_list(cold_k, "--cold-k"),
            seeds=seeds,
            users=users,
            cold_users=cold_users,
            n_negatives=negatives,
            overrides=_overrides(set_ or []),
            torch_threads=settings.torch.threads,
            cache_dir=settings.paths.embeddings_dir,
            profiles=settings.store if profiled or _reads_profiles(names) else None,
            profile_model=model_identity(settings),
            llm=llm,
        )
    except (ValueError, KeyError) as e:
        fail(str(e).strip("'\""))
    dataset = load_data(data, data_format)
    try:
        with FitProgress() as progress:
            report = evaluate_dataset(dataset, plan, out, progress.on_event)
    except ValueError as e:  # data too small for the protocol, an invalid model setting
        fail(str(e))
    except OSError as e:
        fail(f"cannot write results to {out}: {e.strerror}; choose a writable --out")
    finally:
        if llm is not None:
            llm.close()
    if as_json:
        print_json(report.doc)
    else:
        typer.echo(markdown_table(report.doc))
        typer.echo("wrote " + ", ".join(str(p) for p in report.paths))
