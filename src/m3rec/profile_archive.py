"""What the store holds, for people: list stored profiles, and move them between stores as JSONL.

An export is one compact JSON object a line: the profile key, the user, the profile itself, and
how it was made (dataset, history rule, model, prompt version, cost, when). Importing the same
file into another store restores the profiles and their notes under the same keys, so a run that
reads them (a benchmark, `recommend`) finds them and calls no LLM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from m3rec.agents.notes import motivation_notes
from m3rec.data.errors import DataError
from m3rec.data.histories import describe_rule
from m3rec.files import write_atomically
from m3rec.schemas import MotivationProfile
from m3rec.store import MotivationStore, StoredProfile

FORMAT = "m3rec-profiles/1"
_RULE_KEYS = ("dataset", "stage", "cold_k", "items")


@dataclass(frozen=True)
class ProfileRow:
    """One stored profile as a line of `m3rec profiles list`."""

    key: str
    user_id: str
    dataset: str
    rule: str
    model_id: str
    prompt_id: str
    created_at: str
    labels: list[str]

    def as_dict(self) -> dict[str, Any]:
        """Return the row as JSON-ready data."""
        return dict(vars(self))


@dataclass
class ImportSummary:
    """What an import did: profiles added, profiles the store already had, lines refused."""

    imported: int = 0
    already_stored: int = 0
    errors: list[str] = field(default_factory=list)


def profile_rows(store: MotivationStore, dataset: str | None = None) -> list[ProfileRow]:
    """Return every stored profile (of DATASET when given), by user, then newest first."""
    rows = [_row(p) for p in store.list_profiles(dataset)]
    rows.sort(key=lambda r: r.created_at, reverse=True)
    rows.sort(key=lambda r: _natural(r.user_id))
    return rows


def _row(stored: StoredProfile) -> ProfileRow:
    meta = stored.meta
    profile = json.loads(stored.profile_json)
    return ProfileRow(
        key=stored.key,
        user_id=stored.user_id,
        dataset=str(meta.get("dataset", "")),
        rule=describe_rule(meta),
        model_id=str(meta.get("model_id", profile.get("model", ""))),
        prompt_id=str(meta.get("prompt_id", profile.get("prompt_id", ""))),
        created_at=str(meta.get("created_at", "")),
        labels=[m["label"] for m in profile.get("motivations", [])],
    )


def _natural(value: str) -> tuple[int, int | str]:
    return (0, int(value)) if value.isdigit() else (1, value)


def export_profiles(store: MotivationStore, out: Path, dataset: str | None = None) -> int:
    """Write every stored profile (of DATASET when given) to OUT as JSONL; return how many.

    The file is written whole or not at all (a temporary file renamed into place).
    """
    stored = sorted(store.list_profiles(dataset), key=lambda p: (_natural(p.user_id), p.key))

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as fh:
            for p in stored:
                record = {
                    "format": FORMAT,
                    "key": p.key,
                    "user_id": p.user_id,
                    "profile": json.loads(p.profile_json),
                    "meta": p.meta,
                }
                fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")

    try:
        write_atomically(out, write)
    except OSError as exc:
        raise DataError(
            f"cannot write {out} ({exc.strerror}): choose a writable --out", path=str(out)
        ) from None
    return len(stored)


def import_profiles(store: MotivationStore, path: Path) -> ImportSummary:
    """Add the profiles of an export at PATH to STORE, with their notes, under their own keys;
    keys the store already has are left as they are. A malformed line is reported by number and
    skipped; a file that cannot be read is one error."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path} ({exc}): give an m3rec profiles export") from None
    summary = ImportSummary()
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(_record(line))
        except ValueError as exc:
            summary.errors.append(f"{path}:{number}: {exc}")
    have = store.existing_profile_keys([key for key, *_ in records])
    for key, user, profile, meta in records:
        if key in have:
            summary.already_stored += 1
            continue
        data = profile.model_dump(mode="json")
        store.put_profile(key, user, data, profile.summary, motivation_notes(profile), meta)
        summary.imported += 1
    return summary


def _record(line: str) -> tuple[str, str, MotivationProfile, dict[str, Any]]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"not an {FORMAT} record")
    try:
        profile = MotivationProfile.model_validate(record["profile"])
        key, user = str(record["key"]), str(record["user_id"])
        meta = dict(record.get("meta") or {})
    except (KeyError, TypeError, ValidationError) as exc:
        raise ValueError(f"not a valid profile record ({_first_error(exc)})") from None
    if profile.user_id != user:
        raise ValueError(f"the profile is of user {profile.user_id}, the record of {user}")
    return key, user, profile, meta


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}"
    return f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
