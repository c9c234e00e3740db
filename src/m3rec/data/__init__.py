"""Datasets: readers for MovieLens, Amazon P5 and a generic format; splits and cold-start."""

from __future__ import annotations

from pathlib import Path

from m3rec.data.errors import DataError
from m3rec.data.readers import FORMATS, clean_text, detect_format, load_dataset
from m3rec.data.splits import IndexedDataset, Split, index_dataset, leave_one_out
from m3rec.data.types import Dataset, Interaction, Item, LoadReport


def bundled_catalogue_path() -> Path:
    """Return the folder of the MovieLens latest-small catalogue shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "catalog" / "ml-latest-small"


__all__ = [
    "FORMATS",
    "DataError",
    "Dataset",
    "IndexedDataset",
    "Interaction",
    "Item",
    "LoadReport",
    "Split",
    "bundled_catalogue_path",
    "clean_text",
    "detect_format",
    "index_dataset",
    "leave_one_out",
    "load_dataset",
]
