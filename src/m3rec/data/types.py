"""Core data values: items, interactions, the load report and the dataset."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Field order in Item.text(): what an LLM reads first.
_FIELD_ORDER = ("year", "genres", "categories", "brand", "tags", "description")


@dataclass(frozen=True, slots=True)
class Item:
    """A catalogue item with the text an LLM reads."""

    item_id: str
    title: str
    fields: dict[str, str] = field(default_factory=dict, hash=False, compare=True)

    def text(self) -> str:
        """Return the item as one readable line: title, then its text fields."""
        keys = [k for k in _FIELD_ORDER if self.fields.get(k)]
        keys += sorted(k for k in self.fields if k not in _FIELD_ORDER and self.fields[k])
        parts = [
            f"{k}: {self.fields[k]}"
            for k in keys
            if k != "year" or self.fields[k] not in self.title
        ]
        title = self.title or f"item {self.item_id}"
        return title if not parts else f"{title}. " + "; ".join(parts)

    def category_names(self) -> tuple[str, ...]:
        """Return the item's genres and every level of its category paths, once each."""
        names = [g.strip() for g in self.fields.get("genres", "").split(",")]
        for path in self.fields.get("categories", "").split(";"):
            names += [level.strip() for level in path.split(">")]
        return tuple(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True, slots=True)
class Interaction:
    """One user-item event; position is its index in the user's time-ordered history."""

    user_id: str
    item_id: str
    timestamp: int | None
    rating: float | None
    position: int


@dataclass
class LoadReport:
    """Rows skipped while reading, counted by file and reason, with the first line of each."""

    files: list[str] = field(default_factory=list)
    skipped: dict[str, Counter[str]] = field(default_factory=dict)
    first_line: dict[tuple[str, str], int] = field(default_factory=dict)
    rows_read: Counter[str] = field(default_factory=Counter)

    def skip(self, path: str, line: int, reason: str) -> None:
        """Count one skipped row of `path` at `line` for `reason`."""
        self.skipped.setdefault(path, Counter())[reason] += 1
        self.first_line.setdefault((path, reason), line)

    @property
    def total_skipped(self) -> int:
        """Return how many rows were skipped in all files."""
        return sum(sum(c.values()) for c in self.skipped.values())

    def as_dict(self) -> dict[str, object]:
        """Return the report as plain JSON-ready data."""
        return {
            "files": list(self.files),
            "rows_read": dict(self.rows_read),
            "skipped": {
                p: {r: {"count": n, "first_line": self.first_line[(p, r)]} for r, n in c.items()}
                for p, c in self.skipped.items()
            },
            "total_skipped": self.total_skipped,
        }

    def summary(self) -> str:
        """Return one readable line per file and reason, or 'no rows skipped'."""
        if not self.skipped:
            return "no rows skipped"
        lines = []
        for path, counts in self.skipped.items():
            for reason, n in sorted(counts.items()):
                first = self.first_line[(path, reason)]
                lines.append(f"{path}: skipped {n} row(s), {reason} (first at line {first})")
        return "\n".join(lines)


@dataclass
class Dataset:
    """Interactions in time order per user and the item catalogue."""

    name: str
    items: dict[str, Item]
    histories: dict[str, list[Interaction]]
    load_report: LoadReport = field(default_factory=LoadReport)
    has_timestamps: bool = True
    user_fields: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def n_interactions(self) -> int:
        """Return the number of interactions kept."""
        return sum(len(h) for h in self.histories.values())

    def describe(self) -> str:
        """Return a one-line description of the dataset's size."""
        return (
            f"{self.name}: {len(self.histories)} users, {len(self.items)} items, "
            f"{self.n_interactions} interactions"
        )
