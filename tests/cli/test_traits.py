"""`m3rec traits`: metadata traits for the most popular items, stored in Chroma."""

import json
from pathlib import Path

from typer.testing import CliRunner

from m3rec.cli import app
from m3rec.settings import StoreSettings
from m3rec.store import open_store


def test_traits_command_stores_metadata_traits(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["traits", "--items", "20", "--store", str(tmp_path / "s"), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["items"] == 20
    assert open_store(StoreSettings(path=tmp_path / "s")).count("traits") == 20
