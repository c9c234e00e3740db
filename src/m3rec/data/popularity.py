"""Which items are most interacted with: the popularity cut commands apply to a catalogue."""

from __future__ import annotations

from collections import Counter

from m3rec.data.types import Dataset, Item


def most_popular_items(dataset: Dataset, n: int | None = None) -> list[Item]:
    """Return DATASET's N most interacted-with items, most popular first (ties: first seen
    first); all interacted-with items when N is None."""
    counts = Counter(e.item_id for history in dataset.histories.values() for e in history)
    return [dataset.items[item_id] for item_id, _ in counts.most_common(n)]
