"""MOPE quality figures from stored profiles: validity, the validator's rules, kinds, echoes.

Run: .venv/bin/python scripts/bench/mope_quality.py --runs runs/mope-quality/v2 \
        --data ../shared/data/amazon-beauty --data ../shared/data/ml-1m [--read 20] [--json OUT]

For every batch a scripts/bench/mope_quality.sh run wrote (MODEL-DATASET-kK-nN.json and the
store beside it), that is per model, prompt, dataset and cold_k: how many profiles and
recorded failures; the share valid on the first reply; the share
of first replies each rule turned down (read from the store for profiles written with the
validator, i.e. `rejected` in their metadata; for profiles written before it, by running the
rules on the stored profile, marked "post hoc"); distinct motivation kinds per profile; and the
share of notes that restate a category: a note whose MiniLM embedding has cosine >= ECHO_COSINE
with the category names of its evidence items. `--read N` prints N profiles per group to read.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from m3rec import prompts
from m3rec.agents.notes import note_text
from m3rec.agents.profile_checks import RULES, check_profile
from m3rec.data import load_dataset
from m3rec.data.histories import HistoryRule
from m3rec.data.types import Dataset
from m3rec.embeddings import embed_texts
from m3rec.llm.base import ReplyRejected
from m3rec.schemas import MotivationProfile
from m3rec.settings import Settings, StoreSettings
from m3rec.store import open_store

ECHO_COSINE = 0.6
# The rules of profiles stored before each profile recorded its rules (`rules` in its metadata):
# those before copied_item_text, the first rule added after.
FIRST_RULES = RULES[: RULES.index("copied_item_text")]
TOP_LEVELS = {"Beauty", "Sports & Outdoors"}  # every item's first category says nothing


_RUN = re.compile(r"-k(?P<k>\d+)-n(?P<n>\d+)$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--runs",
        type=Path,
        action="append",
        required=True,
        help="a scripts/bench/mope_quality.sh OUT",
    )
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--read", type=int, default=0, help="print N profiles per group")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    datasets = {path.name: load_dataset(path) for path in args.data}
    settings = Settings()
    rows = []
    for folder in args.runs:
        store = open_store(StoreSettings(kind="embedded", path=folder / "store"), flag="read")
        failures = {f["key"]: f for f in store.list_failures()}
        for run in sorted(folder.glob("*.json")):
            match = _RUN.search(run.stem)
            named = next((d for d in datasets if run.stem.count(f"-{d}-k")), None)
            if match is None or named is None:
                continue
            dataset = datasets[named]
            model = run.stem.split(f"-{named}-k")[0]
            found, failed = [], []
            for row in json.loads(run.read_text())["users"]:
                stored = store.get_profile(row["key"])
                if stored is None:
                    failed.append(failures.get(row["key"], {}))
                    continue
                profile = MotivationProfile.model_validate_json(stored.profile_json)
                found.append({"profile": profile, "meta": stored.meta, "user": row["user_id"]})
            prompt_id = found[0]["profile"].prompt_id if found else str(failed[0].get("prompt_id"))
            group = (model, prompt_id, dataset.name, f"cold_k {match['k']}")
            rows.append(_figures(group, found, failed, dataset, settings))
            if args.read:
                _print_profiles(group, found[: args.read], dataset)
    print(_table(rows))
    print(_kinds_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


def _first_try_rules(entry: dict[str, Any], dataset: Dataset) -> tuple[tuple[str, ...], bool]:
    """Return the rules the first reply broke, and whether that was read post hoc."""
    meta = entry["meta"]
    if "rejected" in meta:
        return tuple(r for r in str(meta["rejected"]).split(",") if r), False
    profile: MotivationProfile = entry["profile"]
    rule = HistoryRule(stage="test", cold_k=int(meta.get("cold_k", 0) or 0))
    history = rule.history(dataset, entry["user"])
    name, version = profile.prompt_id.split("/")
    try:
        check_profile(profile, history, prompts.examples(name, version))
    except ReplyRejected as exc:
        return exc.rules, True
    return (), True


def _figures(
    group: tuple[str, ...],
    found: list[dict[str, Any]],
    failed: list[dict[str, Any]],
    dataset: Dataset,
    settings: Settings,
) -> dict[str, Any]:
    model, prompt_id, dataset_name, history = group
    n = len(found) + len(failed)
    rule_counts = dict.fromkeys((*RULES, "schema"), 0)
    first_valid = 0
    post_hoc = False
    for failure in failed:
        for rule in filter(None, str(failure.get("rejected", "schema")).split(",")):
            rule_counts[rule] = rule_counts.get(rule, 0) + 1
    for entry in found:
        rules, post_hoc = _first_try_rules(entry, dataset)
        first_valid += not rules and bool(entry["meta"].get("first_try_valid", True))
        for rule in rules:
            rule_counts[rule] = rule_counts.get(rule, 0) + 1
    in_force = set(RULES)
    for meta in [e["meta"] for e in found] + failed:
        if "rejected" in meta:  # read from the store, not post hoc
            in_force &= set(str(meta.get("rules") or ",".join(FIRST_RULES)).split(","))
    kinds = [len({m.kind for m in e["profile"].motivations if m.kind}) for e in found if found]
    echo, notes = _category_echoes(found, dataset, settings)
    kind_counts = Counter(m.kind for e in found for m in e["profile"].motivations if m.kind)
    n_motivations = sum(kind_counts.values())
    return {
        "model": model,
        "prompt": prompt_id,
        "dataset": dataset_name,
        "history": history,
        "users": n,
        "stored": len(found),
        "failed": len(failed),
        "first_try_valid": first_valid / n if n else 0.0,
        "post_hoc": post_hoc,
        "rejected_share": {
            rule: count / n
            for rule, count in rule_counts.items()
            if n and (rule in in_force or rule == "schema")
        },
        "kinds_per_profile": float(np.mean(kinds)) if kinds and any(kinds) else None,
        "motivations_per_profile": float(np.mean([len(e["profile"].motivations) for e in found]))
        if found
        else 0.0,
        "category_echo_share": echo / notes if notes else None,
        "kind_shares": {k: c / n_motivations for k, c in kind_counts.most_common()},
        "notes": notes,
    }


def _category_echoes(
    found: list[dict[str, Any]], dataset: Dataset, settings: Settings
) -> tuple[int, int]:
    pairs = []
    for entry in found:
        for m in entry["profile"].motivations:
            names = {
                name
                for item_id in m.evidence
                if item_id in dataset.items
                for name in dataset.items[item_id].category_names()
                if name not in TOP_LEVELS
            }
            if names:
                pairs.append((note_text(m.label, m.description, m.kind), ", ".join(sorted(names))))
    if not pairs:
        return 0, 0
    cache = settings.paths.embeddings_dir
    notes = embed_texts([p[0] for p in pairs], cache_dir=cache)
    categories = embed_texts([p[1] for p in pairs], cache_dir=cache)
    cosine = (notes * categories).sum(axis=1)
    return int((cosine >= ECHO_COSINE).sum()), len(pairs)


def _table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| model | prompt | dataset | history | users | failed | first-try valid | "
        + " | ".join(RULES)
        + " | schema | kinds / profile | category echoes |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        shares = " | ".join(
            _pct(r["rejected_share"][rule]) if rule in r["rejected_share"] else "-"
            for rule in (*RULES, "schema")
        )
        kinds = f"{r['kinds_per_profile']:.2f}" if r["kinds_per_profile"] is not None else "-"
        echo = _pct(r["category_echo_share"]) if r["category_echo_share"] is not None else "-"
        valid = _pct(r["first_try_valid"]) + (" (post hoc)" if r["post_hoc"] else "")
        lines.append(
            f"| {r['model']} | {r['prompt']} | {r['dataset']} | {r['history']} | {r['users']} | "
            f"{r['failed']} | {valid} | {shares} | {kinds} | {echo} |"
        )
    return "\n".join(lines)


def _kinds_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| model | prompt | dataset | motivations / profile | kinds, most used first |"]
    lines.append("|---|---|---|---|---|")
    for r in rows:
        if not r["kind_shares"]:
            continue
        kinds = ", ".join(f"{k} {_pct(v)}" for k, v in r["kind_shares"].items())
        lines.append(
            f"| {r['model']} | {r['prompt']} | {r['dataset']} | "
            f"{r['motivations_per_profile']:.2f} | {kinds} |"
        )
    return "\n".join(lines)


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _print_profiles(group: tuple[str, ...], found: list[dict[str, Any]], dataset: Dataset) -> None:
    print(f"\n### {' / '.join(group)}")
    for entry in found:
        profile: MotivationProfile = entry["profile"]
        print(f"- user {entry['user']} (rejected: {entry['meta'].get('rejected', '?')})")
        for m in profile.motivations:
            titles = "; ".join(
                dataset.items[i].title[:40] for i in m.evidence if i in dataset.items
            )
            print(f"    {m.kind or '-'} | {m.label} | {m.description} [{titles}]")
        print(f"    summary: {profile.summary} | shift: {profile.shift}")


if __name__ == "__main__":
    main()
