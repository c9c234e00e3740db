"""Readers for MovieLens 1M / 100K / latest, the Amazon P5 format and a generic format."""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from m3rec.data.errors import DataError
from m3rec.data.types import Dataset, Interaction, Item, LoadReport

logger = logging.getLogger(__name__)

Format = Literal["movielens-1m", "movielens-100k", "movielens-latest", "amazon-p5", "generic"]
FORMATS: tuple[str, ...] = (
    "movielens-1m",
    "movielens-100k",
    "movielens-latest",
    "amazon-p5",
    "generic",
)

# Files that identify each format (all must exist), checked in this order by detect_format.
_SIGNATURES: dict[str, tuple[tuple[str, ...], ...]] = {
    "movielens-1m": (("ratings.dat", "movies.dat"),),
    "movielens-100k": (("u.data", "u.item"),),
    "movielens-latest": (("ratings.csv", "movies.csv"),),
    "amazon-p5": (
        ("user_sequence.txt", "items.jsonl"),
        ("user_sequence.txt", "items_weak_text.jsonl"),
    ),
    "generic": (("interactions.csv", "items.jsonl"),),
}

_ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
_YEAR = re.compile(r"\((\d{4})\)\s*$")
_MAX_TAGS = 10

# A raw row before ordering: user, item, timestamp, rating, file order.
_Row = tuple[str, str, "int | None", "float | None", int]


def detect_format(path: Path) -> str:
    """Return the format whose files are present in folder `path`."""
    if not path.exists():
        raise DataError(
            "no such folder; give the folder that holds the dataset files", path=str(path)
        )
    if not path.is_dir():
        raise DataError(
            "is a file; give the folder that holds the dataset files instead", path=str(path)
        )
    for fmt, options in _SIGNATURES.items():
        if any(all((path / f).is_file() for f in files) for files in options):
            return fmt
    found = sorted(p.name for p in path.iterdir())[:12]
    expected = "; ".join(
        f"{fmt}: " + " or ".join(" + ".join(files) for files in options)
        for fmt, options in _SIGNATURES.items()
    )
    raise DataError(
        f"matches no known dataset format (found: {', '.join(found) or 'nothing'}). "
        f"Expected one of {expected}",
        path=str(path),
    )


def load_dataset(
    path: str | Path, format: str = "auto", *, name: str | None = None, strict: bool = False
) -> Dataset:
    """Read the dataset in folder `path`; `strict` turns every skipped row into an error."""
    folder = Path(path).expanduser()
    fmt = detect_format(folder) if format == "auto" else format
    if fmt not in _READERS:
        raise DataError(f"unknown format {fmt!r}; use one of auto, {', '.join(FORMATS)}")
    if format != "auto" and not folder.is_dir():
        detect_format(folder)  # raises the folder error
    report = _Report(strict=strict)
    ds = _READERS[fmt](folder, report)
    ds.name = name or folder.resolve().name
    ds.load_report = report.report
    if report.report.total_skipped:
        logger.warning("%s: %s", ds.name, report.report.summary())
    return ds


class _Report:
    """A LoadReport that raises instead of counting when strict."""

    def __init__(self, *, strict: bool) -> None:
        self.report = LoadReport()
        self.strict = strict

    def skip(self, path: Path, line: int, reason: str, detail: str = "") -> None:
        if self.strict:
            raise DataError(f"{reason}{': ' + detail if detail else ''}", path=str(path), line=line)
        self.report.skip(str(path), line, reason)

    def add_file(self, path: Path, rows: int) -> None:
        self.report.files.append(str(path))
        self.report.rows_read[str(path)] = rows


# ---------------------------------------------------------------- low-level text helpers


def _read_text(path: Path, encoding: str) -> str:
    """Return the file's text, with a DataError naming the line of a bad byte or an empty file."""
    if not path.is_file():
        raise DataError("missing file; the dataset folder must contain it", path=str(path))
    data = path.read_bytes()
    if not data.strip():
        raise DataError("is empty; give a file with at least one row", path=str(path))
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DataError(
            f"is not valid {encoding} (byte {data[e.start]:#04x}); re-save the file as {encoding}",
            path=str(path),
            line=line,
        ) from None
    return text.removeprefix("\ufeff")


def _lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, line) for the non-blank lines of a file."""
    for n, line in enumerate(_read_text(path, encoding).splitlines(), start=1):
        if line.strip():
            yield n, line


def clean_text(value: str) -> str:
    """Unescape HTML entities (also double-escaped ones) and collapse whitespace."""
    for _ in range(3):
        unescaped = html.unescape(value)
        if unescaped == value:
            break
        value = unescaped
    return " ".join(value.split())


def _field_text(value: object) -> str | None:
    """Turn a JSON field value into readable text: lists joined, category paths with '>'."""
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, list):
        if value and all(isinstance(v, list) for v in value):
            return "; ".join(" > ".join(clean_text(str(x)) for x in path) for path in value) or None
        return ", ".join(clean_text(str(v)) for v in value if v is not None and v != "") or None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = clean_text(str(value))
    return text or None


def _movie_item(item_id: str, title: str, genres: list[str]) -> Item:
    title = clean_text(title)
    fields: dict[str, str] = {}
    if m := _YEAR.search(title):
        fields["year"] = m.group(1)
    genres = [g for g in genres if g and g != "(no genres listed)"]
    if genres:
        fields["genres"] = ", ".join(genres)
    return Item(item_id, title, fields)


def _parse_timestamp(raw: str) -> int | None:
    """Parse epoch seconds (int or float) or an ISO 8601 date; None when unparseable."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp())
    return int(value) if math.isfinite(value) else None


def _parse_rating(raw: str) -> float | Literal[False] | None:
    """Parse a rating: None when absent, False when present but not a finite number."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return False
    return value if math.isfinite(value) else False


def _assemble(
    name: str,
    items: dict[str, Item],
    rows: list[_Row],
    report: _Report,
    path: Path,
    line_of: Callable[[int], int],
    *,
    has_timestamps: bool = True,
) -> Dataset:
    """Drop unknown items and exact duplicates (counted), order each user's rows by time."""
    by_user: dict[str, list[_Row]] = defaultdict(list)
    seen: set[tuple[str, str, int | None]] = set()
    for row in rows:
        user, item, ts = row[0], row[1], row[2]
        if item not in items:
            report.skip(path, line_of(row[4]), "unknown_item", f"item {item!r} not in catalogue")
            continue
        key = (user, item, ts if has_timestamps else row[4])
        if key in seen:
            report.skip(path, line_of(row[4]), "duplicate", f"user {user} item {item} again")
            continue
        seen.add(key)
        by_user[user].append(row)
    if not by_user:
        raise DataError(
            "no usable interactions remain after skipping bad rows "
            f"({report.report.summary().replace(chr(10), '; ')}); check the file's format",
            path=str(path),
        )
    histories: dict[str, list[Interaction]] = {}
    for user, urows in by_user.items():
        if has_timestamps:
            urows.sort(key=lambda r: (r[2], r[4]))
        else:
            urows.sort(key=lambda r: r[4])
        histories[user] = [Interaction(user, r[1], r[2], r[3], pos) for pos, r in enumerate(urows)]
    return Dataset(name, items, histories, has_timestamps=has_timestamps)


# ---------------------------------------------------------------- MovieLens


def _read_ml_ratings(
    path: Path, sep: str, encoding: str, report: _Report, *, header: bool = False
) -> tuple[list[_Row], dict[int, int]]:
    rows: list[_Row] = []
    lines_of: dict[int, int] = {}
    n_rows = 0
    for n, line in _lines(path, encoding):
        if header and n == 1:
            continue
        n_rows += 1
        parts = line.split(sep)
        if len(parts) < 4:
            report.skip(path, n, "malformed", f"expected 4 fields separated by {sep!r}")
            continue
        user, item, rating_raw, ts_raw = (p.strip() for p in parts[:4])
        if not user or not item:
            report.skip(path, n, "missing_id")
            continue
        ts = _parse_timestamp(ts_raw)
        if ts is None:
            report.skip(path, n, "bad_timestamp", f"timestamp {ts_raw!r} is not a number")
            continue
        rating = _parse_rating(rating_raw)
        if rating is False:
            report.skip(path, n, "bad_rating", f"rating {rating_raw!r} is not a number")
            continue
        lines_of[len(rows)] = n
        rows.append((user, item, ts, rating, len(rows)))
    report.add_file(path, n_rows)
    return rows, lines_of


def read_movielens_1m(folder: Path, report: _Report) -> Dataset:
    """Read MovieLens 1M: ratings.dat, movies.dat (latin-1) and users.dat if present."""
    movies = folder / "movies.dat"
    items: dict[str, Item] = {}
    n_rows = 0
    for n, line in _lines(movies, "latin-1"):
        n_rows += 1
        parts = line.split("::")
        if len(parts) != 3 or not parts[0].strip():
            report.skip(movies, n, "malformed", "expected MovieID::Title::Genres")
            continue
        item_id = parts[0].strip()
        if item_id in items:
            report.skip(movies, n, "duplicate_item")
            continue
        items[item_id] = _movie_item(item_id, parts[1], parts[2].strip().split("|"))
    report.add_file(movies, n_rows)
    ratings = folder / "ratings.dat"
    rows, lines_of = _read_ml_ratings(ratings, "::", "latin-1", report)
    ds = _assemble("ml-1m", items, rows, report, ratings, lines_of.__getitem__)
    users = folder / "users.dat"
    if users.is_file():
        keys = ("gender", "age", "occupation", "zip")
        count = 0
        for n, line in _lines(users, "latin-1"):
            count += 1
            parts = line.split("::")
            if len(parts) != 5:
                report.skip(users, n, "malformed", "expected UserID::Gender::Age::Occupation::Zip")
                continue
            ds.user_fields[parts[0].strip()] = dict(
                zip(keys, (p.strip() for p in parts[1:]), strict=True)
            )
        report.add_file(users, count)
    return ds


def read_movielens_100k(folder: Path, report: _Report) -> Dataset:
    """Read MovieLens 100K: u.data (tab) and u.item (pipe, latin-1), genre names from u.genre."""
    genres = list(_ML100K_GENRES)
    genre_file = folder / "u.genre"
    if genre_file.is_file():
        named = [ln.split("|") for _, ln in _lines(genre_file, "latin-1")]
        if all(len(p) == 2 and p[1].strip().isdigit() for p in named):
            genres = [p[0] for p in sorted(named, key=lambda p: int(p[1]))]
    item_file = folder / "u.item"
    items: dict[str, Item] = {}
    n_rows = 0
    for n, line in _lines(item_file, "latin-1"):
        n_rows += 1
        parts = line.split("|")
        flags = parts[5:]
        if len(parts) < 5 or len(flags) != len(genres) or not parts[0].strip():
            report.skip(
                item_file, n, "malformed", f"expected 5 fields and {len(genres)} genre flags"
            )
            continue
        item_id = parts[0].strip()
        if item_id in items:
            report.skip(item_file, n, "duplicate_item")
            continue
        names = [
            g for g, f in zip(genres, flags, strict=True) if f.strip() == "1" and g != "unknown"
        ]
        item = _movie_item(item_id, parts[1], names)
        if parts[2].strip():
            item.fields["release_date"] = parts[2].strip()
        items[item_id] = item
    report.add_file(item_file, n_rows)
    data = folder / "u.data"
    rows, lines_of = _read_ml_ratings(data, "\t", "latin-1", report)
    return _assemble("ml-100k", items, rows, report, data, lines_of.__getitem__)


def _csv_header(path: Path) -> list[str]:
    """Return the column names on the first line of a UTF-8 CSV."""
    if not path.is_file():
        return []  # _csv_rows then names the missing file
    with path.open(encoding="utf-8", errors="replace") as file:
        first = file.readline()
    return [h.strip() for h in next(csv.reader([first]), [])]


def _csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) from a UTF-8 CSV whose header must hold `required` columns."""
    text = _read_text(path, "utf-8")
    # newline=None: a lone carriage return ends a line, as in old spreadsheet exports.
    reader = csv.DictReader(io.StringIO(text, newline=None))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(
            f"header lacks column(s) {', '.join(missing)} (found: {', '.join(header) or 'none'}); "
            f"the first line must name {', '.join(required)}",
            path=str(path),
            line=1,
        )
    reader.fieldnames = header
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise DataError(
            f"is not readable as CSV ({exc})", path=str(path), line=reader.line_num
        ) from None


def read_movielens_latest(folder: Path, report: _Report) -> Dataset:
    """Read MovieLens latest(-small): ratings.csv, movies.csv and tags.csv as item text."""
    movies = folder / "movies.csv"
    items: dict[str, Item] = {}
    n_rows = 0
    for n, row in _csv_rows(movies, ("movieId", "title", "genres")):
        n_rows += 1
        item_id = (row.get("movieId") or "").strip()
        if not item_id or row.get("title") is None or None in row:
            report.skip(movies, n, "malformed", "expected movieId,title,genres")
            continue
        if item_id in items:
            report.skip(movies, n, "duplicate_item")
            continue
        items[item_id] = _movie_item(item_id, row["title"], (row["genres"] or "").split("|"))
    report.add_file(movies, n_rows)
    tags_file = folder / "tags.csv"
    if tags_file.is_file():
        tags: dict[str, Counter[str]] = defaultdict(Counter)
        n_rows = 0
        for n, row in _csv_rows(tags_file, ("movieId", "tag")):
            n_rows += 1
            item_id, tag = (row.get("movieId") or "").strip(), clean_text(row.get("tag") or "")
            if item_id not in items or not tag:
                report.skip(tags_file, n, "unknown_item" if tag else "malformed")
                continue
            tags[item_id][tag.lower()] += 1
        for item_id, counts in tags.items():
            top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:_MAX_TAGS]
            items[item_id].fields["tags"] = ", ".join(t for t, _ in top)
        report.add_file(tags_file, n_rows)
    ratings = folder / "ratings.csv"
    rows: list[_Row] = []
    lines_of: dict[int, int] = {}
    n_rows = 0
    for n, row in _csv_rows(ratings, ("userId", "movieId", "rating", "timestamp")):
        n_rows += 1
        if None in row or any(row.get(c) is None for c in ("userId", "movieId", "timestamp")):
            report.skip(ratings, n, "malformed", "expected userId,movieId,rating,timestamp")
            continue
        user, item = row["userId"].strip(), row["movieId"].strip()
        if not user or not item:
            report.skip(ratings, n, "missing_id")
            continue
        ts = _parse_timestamp(row["timestamp"])
        if ts is None:
            report.skip(ratings, n, "bad_timestamp", f"timestamp {row['timestamp']!r}")
            continue
        rating = _parse_rating(row.get("rating") or "")
        if rating is False:
            report.skip(ratings, n, "bad_rating", f"rating {row['rating']!r}")
            continue
        lines_of[len(rows)] = n
        rows.append((user, item, ts, rating, len(rows)))
    report.add_file(ratings, n_rows)
    return _assemble("ml-latest", items, rows, report, ratings, lines_of.__getitem__)


# ---------------------------------------------------------------- JSONL catalogues


def _read_items_jsonl(
    path: Path, report: _Report, *, id_keys: tuple[str, ...], skip_keys: frozenset[str]
) -> dict[str, Item]:
    items: dict[str, Item] = {}
    n_rows = 0
    for n, line in _lines(path, "utf-8"):
        n_rows += 1
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            report.skip(path, n, "malformed_json", e.msg)
            continue
        if not isinstance(obj, dict):
            report.skip(path, n, "malformed_json", "line is not a JSON object")
            continue
        raw_id = next((obj[k] for k in id_keys if obj.get(k) not in (None, "")), None)
        if raw_id is None:
            report.skip(path, n, "missing_item_id", f"no {' or '.join(id_keys)} key")
            continue
        item_id = str(raw_id).strip()
        if item_id in items:
            report.skip(path, n, "duplicate_item")
            continue
        title = _field_text(obj.get("title")) or ""
        fields = {
            k: text
            for k, v in obj.items()
            if k not in id_keys and k != "title" and k not in skip_keys
            if (text := _field_text(v))
        }
        items[item_id] = Item(item_id, title, fields)
    report.add_file(path, n_rows)
    if not items:
        raise DataError(
            "holds no usable items; each line must be a JSON object with an id", path=str(path)
        )
    return items


# Provenance keys in the P5 item files that are not item text.
_P5_SKIP = frozenset({"title_source", "transrec_item_id", "title_dhr", "title_atspeed"})
_P5_RENAME = {"short_text_idgenrec": "weak_text", "subword_keywords_gram": "weak_keywords"}


def read_amazon_p5(folder: Path, report: _Report) -> Dataset:
    """Read the P5 Amazon format: user_sequence.txt (order only) and items.jsonl."""
    items_path = folder / "items.jsonl"
    if not items_path.is_file():
        items_path = folder / "items_weak_text.jsonl"
    items = _read_items_jsonl(items_path, report, id_keys=("asin", "item_id"), skip_keys=_P5_SKIP)
    for item in items.values():
        for old, new in _P5_RENAME.items():
            if old in item.fields:
                item.fields[new] = item.fields.pop(old)
    seq_path = folder / "user_sequence.txt"
    rows: list[_Row] = []
    lines_of: list[int] = []
    users: set[str] = set()
    n_rows = 0
    for n, line in _lines(seq_path, "utf-8"):
        n_rows += 1
        parts = line.split()
        if len(parts) < 2:
            report.skip(seq_path, n, "malformed", "expected 'user_id item_id item_id ...'")
            continue
        if parts[0] in users:
            report.skip(seq_path, n, "duplicate_user", f"user {parts[0]} already had a line")
            continue
        users.add(parts[0])
        for item_id in parts[1:]:
            lines_of.append(n)
            rows.append((parts[0], item_id, None, None, len(rows)))
    report.add_file(seq_path, n_rows)
    return _assemble(
        "amazon", items, rows, report, seq_path, lines_of.__getitem__, has_timestamps=False
    )


def read_generic(folder: Path, report: _Report) -> Dataset:
    """Read the generic format: interactions.csv (user_id,item_id[,timestamp][,rating]) and items.

    Without a timestamp column, each user's rows count in the order the file lists them.
    """
    items = _read_items_jsonl(
        folder / "items.jsonl", report, id_keys=("item_id",), skip_keys=frozenset()
    )
    path = folder / "interactions.csv"
    rows: list[_Row] = []
    lines_of: dict[int, int] = {}
    n_rows = 0
    has_timestamps = "timestamp" in _csv_header(path)
    columns = ("user_id", "item_id", "timestamp") if has_timestamps else ("user_id", "item_id")
    for n, row in _csv_rows(path, columns):
        n_rows += 1
        if None in row or any(row.get(c) is None for c in columns):
            report.skip(path, n, "malformed", "wrong number of columns")
            continue
        user, item = row["user_id"].strip(), row["item_id"].strip()
        if not user or not item:
            report.skip(path, n, "missing_id")
            continue
        ts = _parse_timestamp(row["timestamp"]) if has_timestamps else None
        if has_timestamps and ts is None:
            report.skip(
                path, n, "bad_timestamp", f"{row['timestamp']!r} is not epoch seconds or ISO 8601"
            )
            continue
        rating = _parse_rating(row.get("rating") or "")
        if rating is False:
            report.skip(path, n, "bad_rating", f"rating {row['rating']!r}")
            continue
        lines_of[len(rows)] = n
        rows.append((user, item, ts, rating, len(rows)))
    report.add_file(path, n_rows)
    return _assemble(
        "generic", items, rows, report, path, lines_of.__getitem__, has_timestamps=has_timestamps
    )


_READERS: dict[str, Callable[[Path, _Report], Dataset]] = {
    "movielens-1m": read_movielens_1m,
    "movielens-100k": read_movielens_100k,
    "movielens-latest": read_movielens_latest,
    "amazon-p5": read_amazon_p5,
    "generic": read_generic,
}
