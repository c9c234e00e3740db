"""The MOTE checkpoint built from the data on first use: real training, a real cache on disk."""

from __future__ import annotations

import csv
import json
import logging
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import typer

from m3rec.artifacts import checkpoint_key, ensure_checkpoint, mote_config
from m3rec.cli import app
from m3rec.data import Dataset, index_dataset, load_dataset
from m3rec.encoders.checkpoint import fingerprint, load_checkpoint
from m3rec.encoders.config import MAXPOOL_GRID
from m3rec.ranking.training_data import VALID_USERS
from m3rec.settings import Settings, load_settings

SHELVES = {
    "Cooking": [
        ("Salt, Fat, Acid, Heat", "the four elements of good cooking, with illustrations"),
        ("The Food Lab", "better home cooking through science"),
        ("Jerusalem", "recipes from a city of many cuisines"),
        ("Plenty", "vibrant vegetarian recipes"),
        ("The Flavor Bible", "a guide to pairing ingredients"),
        ("Mastering the Art of French Cooking", "classic French technique for home cooks"),
    ],
    "Hiking": [
        ("Wild", "a woman walks the Pacific Crest Trail alone"),
        ("A Walk in the Woods", "a comic attempt at the Appalachian Trail"),
        ("The Hiking Book", "gear, routes and safety for day hikes"),
        ("Into Thin Air", "a deadly season on Everest"),
        ("Trail Runner's Guide", "training plans for mountain running"),
        ("The Backpacker's Field Manual", "skills for long trips in the backcountry"),
    ],
    "Science fiction": [
        ("Dune", "a desert planet, a prophecy and a war over spice"),
        ("The Left Hand of Darkness", "an envoy on a planet without fixed genders"),
        ("Neuromancer", "a hacker hired for one last job in cyberspace"),
        ("Hyperion", "pilgrims tell their stories on the way to the Time Tombs"),
        ("The Dispossessed", "a physicist between an anarchist moon and its rich planet"),
        ("Foundation", "mathematicians try to shorten a galactic dark age"),
    ],
    "Gardening": [
        ("The Well-Tempered Garden", "a plantsman's advice on borders and bulbs"),
        ("Square Foot Gardening", "growing vegetables in small raised beds"),
        ("Teaming with Microbes", "the soil food web for organic gardeners"),
        ("The Vegetable Gardener's Bible", "high yields from wide rows"),
        ("Planting in a Post-Wild World", "designing resilient plant communities"),
        ("Seed to Seed", "saving seeds of heirloom vegetables"),
    ],
}


def write_generic(folder: Path, *, users: int = 40, seed: int = 0) -> Path:
    """Write a generic-format dataset: each user mostly reads one or two shelves, in time order."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    shelves: dict[str, list[str]] = {}
    with (folder / "items.jsonl").open("w") as fh:
        for s, (shelf, books) in enumerate(SHELVES.items()):
            for i, (title, description) in enumerate(books):
                item_id = f"b{s}{i}"
                shelves.setdefault(shelf, []).append(item_id)
                item = {"item_id": item_id, "title": title, "categories": ["Books", shelf]}
                fh.write(json.dumps({**item, "description": description}) + "\n")
    with (folder / "interactions.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["user_id", "item_id", "timestamp", "rating"])
        for u in range(users):
            liked = rng.sample(sorted(shelves), 2)
            pool = shelves[liked[0]] * 3 + shelves[liked[1]]
            read = list(dict.fromkeys(rng.sample(pool, 10)))
            for day, item_id in enumerate(read):
                out.writerow([f"u{u}", item_id, 1_600_000_000 + 86_400 * (day + 10 * u), 4])
    return folder


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return write_generic(tmp_path / "shelf")


def settings_in(cache: Path, **torch: int) -> Settings:
    return load_settings(overrides={"paths": {"cache_dir": cache}, "torch": torch})


def expected_fingerprint(dataset: Dataset):  # type: ignore[no-untyped-def]
    data = index_dataset(dataset)
    return fingerprint(data.name, data.item_ids, data.sequences, data.item_texts)


def test_builds_once_then_reuses_the_cached_file(data_dir: Path, tmp_path: Path) -> None:
    dataset = load_dataset(data_dir)
    settings = settings_in(tmp_path / "cache")
    key = checkpoint_key(dataset, settings)
    path = tmp_path / "cache" / "checkpoints" / f"shelf-{key}.pt"
    seen: list[bool] = []
    first = ensure_checkpoint(settings, dataset, on_epoch=lambda *_: seen.append(path.exists()))
    assert first.built and first.key == key and first.path == path
    assert seen and not any(seen)  # nothing at the cached path until it is whole
    stamp, content = path.stat().st_mtime_ns, path.read_bytes()
    ckpt = load_checkpoint(path, expected_fingerprint(dataset))
    assert ckpt.config.maxpool_weight in MAXPOOL_GRID  # 'auto', settled on validation users
    assert ckpt.config.model_copy(update={"maxpool_weight": None}) == mote_config(settings)

    epochs_again: list[int] = []
    again = ensure_checkpoint(settings, dataset, on_epoch=lambda e, *_: epochs_again.append(e))
    assert not again.built and again.path == path and again.key == key and not epochs_again
    assert path.stat().st_mtime_ns == stamp and path.read_bytes() == content
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_other_data_gets_its_own_key_and_file(data_dir: Path, tmp_path: Path) -> None:
    settings = settings_in(tmp_path / "cache")
    before = ensure_checkpoint(settings, load_dataset(data_dir))
    with (data_dir / "interactions.csv").open("a") as fh:
        fh.write("u0,b30,1700000000,5\n")
    changed = load_dataset(data_dir)
    after = ensure_checkpoint(settings, changed)
    assert after.built and after.key != before.key and after.path != before.path
    assert before.path.is_file() and after.path.is_file()
    load_checkpoint(after.path, expected_fingerprint(changed))


def test_a_truncated_cached_file_is_rebuilt_with_one_warning(
    data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dataset = load_dataset(data_dir)
    settings = settings_in(tmp_path / "cache")
    path = ensure_checkpoint(settings, dataset).path
    path.write_bytes(path.read_bytes()[:200])
    with caplog.at_level(logging.WARNING, logger="m3rec.artifacts"):
        rebuilt = ensure_checkpoint(settings, dataset)
    assert rebuilt.built and rebuilt.path == path
    warnings = [r.getMessage() for r in caplog.records if r.name == "m3rec.artifacts"]
    assert len(warnings) == 1 and str(path) in warnings[0] and "\n" not in warnings[0]
    assert "m3rec train" not in warnings[0]  # it is rebuilt: no advice to retrain by hand
    load_checkpoint(path, expected_fingerprint(dataset))
    assert not ensure_checkpoint(settings, dataset).built


def test_a_checkpoint_for_other_data_at_the_cached_path_is_rebuilt(
    data_dir: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(data_dir)
    settings = settings_in(tmp_path / "cache")
    other = write_generic(tmp_path / "other" / "shelf", users=30, seed=1)
    foreign = ensure_checkpoint(settings, load_dataset(other)).path
    path = (
        settings.paths.cache_dir / "checkpoints" / f"shelf-{checkpoint_key(dataset, settings)}.pt"
    )
    foreign.rename(path)
    rebuilt = ensure_checkpoint(settings, dataset)
    assert rebuilt.built and rebuilt.path == path
    load_checkpoint(path, expected_fingerprint(dataset))


def test_two_builds_at_once_train_once_and_leave_one_whole_file(
    data_dir: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(data_dir)
    settings = settings_in(tmp_path / "cache")
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: ensure_checkpoint(settings, dataset), range(2)))
    assert sorted(run.built for run in runs) == [False, True]
    assert runs[0].path == runs[1].path
    assert [p.name for p in runs[0].path.parent.iterdir()] == [runs[0].path.name]
    load_checkpoint(runs[0].path, expected_fingerprint(dataset))


def test_settings_that_change_the_weights_change_the_key(data_dir: Path, tmp_path: Path) -> None:
    dataset = load_dataset(data_dir)
    one = checkpoint_key(dataset, settings_in(tmp_path / "a", threads=1))
    assert one == checkpoint_key(dataset, settings_in(tmp_path / "b", threads=1))
    assert one != checkpoint_key(dataset, settings_in(tmp_path / "a", threads=2))
    assert mote_config(settings_in(tmp_path, threads=2)).threads == 2


def test_the_built_checkpoint_uses_the_defaults_of_train() -> None:
    command = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    defaults = {p.name: p.default for p in command.params}
    config = mote_config(settings_in(Path("unused")))
    assert (defaults["epochs"], defaults["dim"], defaults["batch_size"]) == (
        config.epochs,
        config.dim,
        config.batch_size,
    )
    assert (defaults["seed"], defaults["device"], defaults["valid_users"]) == (
        config.seed,
        config.device,
        VALID_USERS,
    )
