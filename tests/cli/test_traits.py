"""`m3rec traits`: metadata traits for the most popular items, stored in Chroma."""

import json
from pathlib import Path

from typer.testing import CliRunner

from m3rec.cli import app
from m3rec.data import bundled_catalogue_path, load_dataset
from m3rec.data.popularity import most_popular_items
from m3rec.settings import StoreSettings
from m3rec.store import open_store


def test_traits_command_stores_metadata_traits(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["traits", "--items", "20", "--store", str(tmp_path / "s"), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["items"] == 20
    assert open_store(StoreSettings(path=tmp_path / "s")).count("traits") == 20


def test_stored_traits_are_shown_by_item_without_distilling(tmp_path: Path) -> None:
    runner, store = CliRunner(), str(tmp_path / "s")
    assert runner.invoke(app, ["traits", "--items", "5", "--store", store]).exit_code == 0
    stored = open_store(StoreSettings(path=tmp_path / "s"))
    popular = [i.item_id for i in most_popular_items(load_dataset(bundled_catalogue_path()), 5)]
    assert set(stored.traits_of_items(popular)) == set(popular)
    shown = runner.invoke(
        app, ["traits", "--show", f"{popular[0]},nope", "--store", store, "--json"]
    )
    assert shown.exit_code == 0, shown.output
    items = json.loads(shown.stdout)["items"]
    assert [i["item_id"] for i in items] == [popular[0], "nope"]
    assert items[0]["traits"] and items[0]["traits"][0]["source"].startswith("metadata")
    assert items[1]["traits"] == []
    table = runner.invoke(app, ["traits", "--show", popular[0], "--store", store])
    assert table.exit_code == 0 and "Stored traits" in table.stdout
    none = runner.invoke(app, ["traits", "--show", "nope", "--store", store])
    assert none.exit_code == 1 and "no stored traits for nope" in none.stderr
    assert stored.count("traits") == 5  # nothing was distilled by --show
