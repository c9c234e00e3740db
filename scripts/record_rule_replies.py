"""Record real replies that break (or keep) each rule of the profile validator, for the tests.

Run: .venv/bin/python scripts/record_rule_replies.py --out tests/fixtures/replies/mope_rules.json
     [--only key1,key2]
     .venv/bin/python scripts/record_rule_replies.py --library \
         --out tests/fixtures/replies/mope_v2_library.json

Each case asks a registry model for one user's profile exactly as `m3rec profile` does (the
prompt version, the schema it constrains generation to, the token budget, one repair), and keeps
every raw reply, the rules each broke, and the history the model read (ids, text, titles,
categories), so a test can replay the replies through the real parser and validator. Only data
the repository may hold is used: the bundled MovieLens latest-small catalogue and Amazon Beauty.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from m3rec.agents.mope import ask_window
from m3rec.data import bundled_catalogue_path, load_dataset
from m3rec.data.histories import HistoryRule, describe_rule
from m3rec.data.types import Dataset
from m3rec.errors import StructuredOutputError
from m3rec.llm.llamacpp import LlamaCppBackend
from m3rec.llm.registry import MODELS, require_verified
from m3rec.settings import Settings

BEAUTY = Path("../shared/data/amazon-beauty")
# key: (model, dataset (None: the bundled catalogue), user, stage, cold_k, prompt,
#       the rule the first reply is expected to break ("" = none), note)
CASES: dict[str, tuple[str, Path | None, str, str | None, int, str, str, str]] = {
    "qwen05_v1_copies_example": (
        "qwen2.5-0.5b",
        BEAUTY,
        "A34M5RUZ6QTZUR",
        "test",
        0,
        "mope/v1",
        "copied_example",
        "five nail polishes; v1's few-shot comes back word for word",
    ),
    "qwen05_v1_title_label": (
        "qwen2.5-0.5b",
        BEAUTY,
        "A37IGJXPSMHU5F",
        "test",
        2,
        "mope/v1",
        "title_label",
        "labels 'DIY UV Color Gel Set', '3D Nail Art Decoration': item titles",
    ),
    "qwen05_v1_empty_shift": (
        "qwen2.5-0.5b",
        BEAUTY,
        "AO340ZNQFZIJM",
        "test",
        2,
        "mope/v1",
        "empty_shift",
        "'from nail spa equipment to nail spa equipment'",
    ),
    "qwen05_v1_repeated": (
        "qwen2.5-0.5b",
        BEAUTY,
        "A2QV6QJG4WSXOJ",
        "test",
        2,
        "mope/v1",
        "repeated_motivation",
        "'fast hair care' twice",
    ),
    "qwen05_v2_category_repeat": (
        "qwen2.5-0.5b",
        BEAUTY,
        "A34M5RUZ6QTZUR",
        "test",
        0,
        "mope/v2",
        "category_label",
        "'hand & nail care' four times",
    ),
    "smollm2_v2_copies_example": (
        "smollm2-135m",
        BEAUTY,
        "A34M5RUZ6QTZUR",
        "test",
        2,
        "mope/v2",
        "copied_example",
        "v2's music example ('the records of their teens') for nail polish",
    ),
    "smollm2_v1_free_ids": (
        "smollm2-135m",
        BEAUTY,
        "A34M5RUZ6QTZUR",
        "test",
        2,
        "mope/v1",
        "no_valid_evidence",
        "v1's schema leaves ids free: none it cites is the history's",
    ),
    "qwen15_v2_genre_label": (
        "qwen2.5-1.5b",
        None,
        "1",
        "test",
        2,
        "mope/v2",
        "category_label",
        "bundled catalogue, a genre as a label",
    ),
    "qwen15_v1_cites_everything": (
        "qwen2.5-1.5b",
        None,
        "398",
        None,
        0,
        "mope/v1",
        "cites_everything",
        "the README's user: 20 items, every motivation cites all of them",
    ),
}


SLICE = Path("tests/fixtures/data/ml-latest-slice")
# The replies the other tests replay, one per history they profile: the default model, prompt and
# grammar, bundled catalogue (None) or the test slice; (data, user, stage, cold_k, items).
LIBRARY: list[tuple[Path | None, str, str | None, int, int]] = [
    (None, "398", None, 0, 8),
    (None, "12", None, 0, 8),
    (None, "100", None, 0, 8),
    (None, "12", "test", 2, 20),
    (None, "398", "test", 2, 20),
    (None, "100", "test", 2, 20),
    (None, "12", "test", 1, 20),
    (None, "398", "test", 1, 20),
    (SLICE, "1", None, 0, 20),
    (SLICE, "4", None, 0, 20),
    (SLICE, "1", "test", 0, 20),
    (None, "1", None, 0, 8),
    (None, "2", None, 0, 8),
    (None, "3", None, 0, 8),
    (None, "5", None, 0, 8),
    (None, "7", None, 0, 8),
]


def record(
    backend: LlamaCppBackend, dataset: Dataset, user: str, rule: HistoryRule, prompt_id: str
) -> dict[str, Any]:
    """Ask for USER's profile as `m3rec profile` does (`ask_window`: its prompt, grammar, token
    bound and rules) and return every raw reply and what each broke."""
    history = rule.history(dataset, user)
    try:
        result = ask_window(backend, user, history, prompt_id)
        raw, rejected = result.raw_replies, result.rejected
    except StructuredOutputError as exc:
        raw, rejected = exc.raw_replies, exc.rejected
    return {
        "raw": raw,
        "rejected": [list(r) for r in rejected],
        "model": backend.describe().get("model"),
        "prompt_id": prompt_id,
        "dataset": dataset.name,
        "user_id": user,
        "rule": rule.context(dataset.name),
        "history_ids": [entry.item_id for entry in history],
        "history": [dataclasses.asdict(entry) for entry in history],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", default="", help="comma-separated keys to re-record")
    parser.add_argument(
        "--library", action="store_true", help="record LIBRARY (the other tests' replies)"
    )
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    recorded = json.loads(args.out.read_text()) if args.out.exists() else {}
    settings = Settings()
    backends: dict[str, LlamaCppBackend] = {}
    datasets: dict[Path | None, Dataset] = {}

    def backend(model: str) -> LlamaCppBackend:
        if model not in backends:
            path = require_verified(MODELS[model], settings.paths.model_dir)
            backends[model] = LlamaCppBackend(path, model_name=model, n_ctx=4096, n_threads=1)
        return backends[model]

    def data(path: Path | None) -> Dataset:
        if path not in datasets:
            datasets[path] = load_dataset(path or bundled_catalogue_path())
        return datasets[path]

    jobs: list[tuple[str, dict[str, Any]]] = []
    if args.library:
        for path, user, stage, cold_k, items in LIBRARY:
            rule = HistoryRule(stage=stage, cold_k=cold_k, n_items=items)  # type: ignore[arg-type]
            key = f"{data(path).name}/{user}/{describe_rule(rule.context(''))}"
            jobs.append(
                (
                    key,
                    {
                        "data": path,
                        "user": user,
                        "rule": rule,
                        "model": "qwen2.5-1.5b",
                        "prompt_id": "mope/v2",
                    },
                )
            )
    else:
        for key, (
            model,
            path,
            user,
            stage,
            cold_k,
            prompt_id,
            expect,
            note,
        ) in CASES.items():
            rule = HistoryRule(stage=stage, cold_k=cold_k)  # type: ignore[arg-type]
            jobs.append(
                (
                    key,
                    {
                        "data": path,
                        "user": user,
                        "rule": rule,
                        "model": model,
                        "prompt_id": prompt_id,
                        "expect": expect,
                        "note": note,
                    },
                )
            )
    for key, job in jobs:
        if (only and key not in only) or (not only and key in recorded):
            continue
        case = record(
            backend(job["model"]),
            data(job["data"]),
            job["user"],
            job["rule"],
            job["prompt_id"],
        )
        recorded[key] = {**case, **{k: job[k] for k in ("expect", "note") if k in job}}
        print(key, case["rejected"], repr(case["raw"][-1][:150]), flush=True)
        args.out.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
