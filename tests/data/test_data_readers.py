"""Readers on small slices of the real files, and on the whole real files where present."""

from __future__ import annotations

from pathlib import Path

import pytest

from m3rec.data import Interaction, Item, bundled_catalogue_path, detect_format, load_dataset

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"


def test_latest_slice_reads_titles_genres_tags_in_time_order():
    ds = load_dataset(FIXTURES / "ml-latest-slice")
    assert ds.name == "ml-latest-slice"
    assert set(ds.histories) == {"1", "2", "3", "4"}
    assert ds.n_interactions == 351
    for user, hist in ds.histories.items():
        assert [x.position for x in hist] == list(range(len(hist)))
        stamps = [x.timestamp for x in hist]
        assert stamps == sorted(stamps)
        assert all(isinstance(x, Interaction) and x.user_id == user for x in hist)
    first = ds.histories["1"][0]
    assert first.rating is not None and 0.5 <= first.rating <= 5
    toy = ds.items["1"] if "1" in ds.items else next(iter(ds.items.values()))
    assert isinstance(toy, Item) and toy.title
    assert "genres" in toy.fields and "|" not in toy.fields["genres"]
    assert any("tags" in it.fields for it in ds.items.values())
    assert ds.load_report.total_skipped == 0


def test_item_text_is_readable():
    item = Item("7", "Heat (1995)", {"year": "1995", "genres": "Action, Crime", "tags": "pacino"})
    assert item.text() == "Heat (1995). genres: Action, Crime; tags: pacino"
    assert Item("8", "", {}).text() == "item 8"
    with pytest.raises(AttributeError):
        item.title = "x"  # type: ignore[misc]


def test_amazon_slice_keeps_order_and_unescapes_html():
    ds = load_dataset(FIXTURES / "amazon-beauty-slice")
    assert detect_format(FIXTURES / "amazon-beauty-slice") == "amazon-p5"
    assert not ds.has_timestamps
    assert len(ds.histories) == 25
    first_line = (FIXTURES / "amazon-beauty-slice" / "user_sequence.txt").read_text().split("\n")[0]
    user, *items = first_line.split()
    assert [x.item_id for x in ds.histories[user]] == items
    assert all(x.timestamp is None and x.rating is None for x in ds.histories[user])
    texts = " ".join(it.text() for it in ds.items.values())
    assert "&amp;" not in texts and "&#39;" not in texts and "&quot;" not in texts
    assert " & " in texts
    cats = [it.fields["categories"] for it in ds.items.values()]
    assert all(c.startswith("Beauty > ") for c in cats)
    assert not any(k in it.fields for it in ds.items.values() for k in ("title_source", "asin"))


def test_bundled_catalogue_loads():
    path = bundled_catalogue_path()
    assert (path / "movies.csv").is_file()
    ds = load_dataset(path)
    assert len(ds.histories) == 671 and ds.n_interactions == 100004
    assert len(ds.items) == 9125


@pytest.mark.realdata
def test_ml1m_whole_file(real_dataset_dir):
    folder = real_dataset_dir("ml-1m", "ratings.dat", "movies.dat")
    ds = load_dataset(folder)
    assert detect_format(folder) == "movielens-1m"
    assert len(ds.histories) == 6040
    assert ds.n_interactions == 1000209
    assert len(ds.items) == 3883
    assert ds.load_report.total_skipped == 0
    # latin-1 titles decode: "Zoo" never breaks, accented titles keep their letters.
    assert any("é" in it.title for it in ds.items.values())
    assert ds.items["1"].text() == "Toy Story (1995). genres: Animation, Children's, Comedy"
    assert ds.user_fields["1"]["gender"] == "F"
    for hist in list(ds.histories.values())[:50]:
        stamps = [x.timestamp for x in hist]
        assert stamps == sorted(stamps)


@pytest.mark.realdata
def test_ml100k_whole_file(real_dataset_dir):
    folder = real_dataset_dir("ml-100k", "u.data", "u.item")
    ds = load_dataset(folder)
    assert detect_format(folder) == "movielens-100k"
    assert len(ds.histories) == 943 and ds.n_interactions == 100000
    assert len(ds.items) == 1682
    toy = ds.items["1"]
    assert toy.title == "Toy Story (1995)"
    assert toy.fields["genres"] == "Animation, Children's, Comedy"
    assert toy.fields["year"] == "1995"


@pytest.mark.realdata
def test_beauty_whole_file(real_dataset_dir):
    ds = load_dataset(real_dataset_dir("amazon-beauty", "user_sequence.txt", "items.jsonl"))
    assert len(ds.histories) == 22363 and len(ds.items) == 12101
    assert ds.n_interactions == 198502
    assert sum(1 for it in ds.items.values() if it.title) == 12094
    assert sum(1 for it in ds.items.values() if "brand" in it.fields) > 0.8 * 12101


@pytest.mark.realdata
def test_sports_weak_text(real_dataset_dir):
    folder = real_dataset_dir("amazon-sports", "user_sequence.txt", "items_weak_text.jsonl")
    ds = load_dataset(folder)
    assert len(ds.histories) == 35598 and ds.n_interactions == 296337
    item = next(iter(ds.items.values()))
    assert item.title == "" and "weak_text" in item.fields
    assert "weak_text:" in item.text()
