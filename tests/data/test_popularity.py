"""The popularity cut: the N items users interacted with most, most popular first."""

from __future__ import annotations

from m3rec.data.popularity import most_popular_items
from m3rec.data.types import Dataset, Interaction, Item


def dataset(histories: dict[str, list[str]]) -> Dataset:
    items = {i: Item(i, f"title {i}") for h in histories.values() for i in h} | {
        "never": Item("never", "never watched")
    }
    return Dataset(
        "toy",
        items,
        {u: [Interaction(u, i, n, None, n) for n, i in enumerate(h)] for u, h in histories.items()},
    )


def test_the_most_interacted_with_items_come_first() -> None:
    data = dataset({"a": ["x", "y", "z"], "b": ["y", "z"], "c": ["y"]})
    assert [item.item_id for item in most_popular_items(data, 2)] == ["y", "z"]


def test_without_a_count_every_interacted_with_item_is_kept() -> None:
    data = dataset({"a": ["x", "y"], "b": ["y"]})
    assert [item.item_id for item in most_popular_items(data)] == ["y", "x"]  # not "never"
