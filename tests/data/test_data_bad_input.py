"""Every bad input ends in a DataError naming file and line, or a counted, reported skip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from m3rec.data import DataError, load_dataset

ITEMS = [
    {"item_id": "a", "title": "Alpha &amp; Omega", "categories": [["Beauty", "Skin"]]},
    {"item_id": "b", "title": "Beta", "brand": "Acme", "price": 3.5},
    {"item_id": "c", "title": "Gamma", "description": None},
]


def write_generic(folder: Path, csv_text: str, items: list[dict] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "interactions.csv").write_text(csv_text, encoding="utf-8")
    lines = [json.dumps(x) for x in (ITEMS if items is None else items)]
    (folder / "items.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_generic_reads_ratings_iso_dates_and_text(tmp_path):
    folder = write_generic(
        tmp_path / "shop",
        "user_id,item_id,timestamp,rating\n"
        "u1,b,2020-01-02T00:00:00Z,4\n"
        "u1,a,2020-01-01,5\n"
        "u2,c,1700000000,\n",
    )
    ds = load_dataset(folder, format="generic")
    assert [x.item_id for x in ds.histories["u1"]] == ["a", "b"]
    assert ds.histories["u1"][0].rating == 5.0 and ds.histories["u2"][0].rating is None
    assert ds.items["a"].title == "Alpha & Omega"
    assert ds.items["a"].fields["categories"] == "Beauty > Skin"
    assert ds.items["b"].fields == {"brand": "Acme", "price": "3.5"}
    assert "description" not in ds.items["c"].fields


def test_generic_without_a_timestamp_column_keeps_file_order(tmp_path):
    folder = write_generic(tmp_path / "seq", "user_id,item_id\nu1,c\nu1,a\nu1,b\nu2,a\n")
    ds = load_dataset(folder, format="generic")
    assert [x.item_id for x in ds.histories["u1"]] == ["c", "a", "b"]
    assert ds.histories["u1"][0].timestamp is None and not ds.has_timestamps


def test_recoverable_rows_are_counted_with_first_line(tmp_path):
    folder = write_generic(
        tmp_path / "g",
        "user_id,item_id,timestamp,rating\n"
        "u1,a,100,5\n"
        "u1,a,100,5\n"  # duplicate, line 3
        "u1,zzz,101,3\n"  # unknown item, line 4
        "u1,b,yesterday,3\n"  # bad timestamp, line 5
        "u1,b,102,great\n"  # bad rating, line 6
        "u1,b\n"  # missing column, line 7
        "u2,c,50,1\n",
    )
    ds = load_dataset(folder)
    report = ds.load_report
    path = str(folder / "interactions.csv")
    assert dict(report.skipped[path]) == {
        "duplicate": 1,
        "unknown_item": 1,
        "bad_timestamp": 1,
        "bad_rating": 1,
        "malformed": 1,
    }
    assert report.first_line[(path, "duplicate")] == 3
    assert report.first_line[(path, "unknown_item")] == 4
    assert report.first_line[(path, "bad_timestamp")] == 5
    assert report.first_line[(path, "malformed")] == 7
    assert report.total_skipped == 5
    assert "skipped 1 row(s), unknown_item (first at line 4)" in report.summary()
    assert ds.n_interactions == 2


def test_strict_turns_a_skip_into_an_error(tmp_path):
    folder = write_generic(tmp_path / "g", "user_id,item_id,timestamp\nu1,a,100\nu1,q,101\n")
    with pytest.raises(DataError, match=r"interactions\.csv:3: unknown_item"):
        load_dataset(folder, strict=True)


def test_missing_column_names_file_line_and_fix(tmp_path):
    folder = write_generic(tmp_path / "g", "user,item_id,timestamp\nu1,a,1\n")
    with pytest.raises(DataError, match=r"interactions\.csv:1: header lacks column\(s\) user_id"):
        load_dataset(folder)


def test_empty_files(tmp_path):
    folder = write_generic(tmp_path / "g", "")
    with pytest.raises(DataError, match=r"interactions\.csv: is empty"):
        load_dataset(folder)
    folder = write_generic(tmp_path / "h", "user_id,item_id,timestamp\nu1,a,1\n", items=[])
    with pytest.raises(DataError, match=r"items\.jsonl: is empty"):
        load_dataset(folder)


def test_header_only_file_has_no_usable_rows(tmp_path):
    folder = write_generic(tmp_path / "g", "user_id,item_id,timestamp\n")
    with pytest.raises(DataError, match="no usable interactions"):
        load_dataset(folder)


def test_all_rows_bad_is_an_error_not_an_empty_dataset(tmp_path):
    folder = write_generic(tmp_path / "g", "user_id,item_id,timestamp\nu1,a,x\nu2,b,y\n")
    with pytest.raises(DataError, match="bad_timestamp"):
        load_dataset(folder)


def test_wrong_encoding_names_the_line(tmp_path):
    folder = write_generic(tmp_path / "g", "user_id,item_id,timestamp\nu1,a,1\n")
    raw = "user_id,item_id,timestamp\nu1,a,1\nu\xe9,b,2\n".encode("latin-1")
    (folder / "interactions.csv").write_bytes(raw)
    with pytest.raises(DataError, match=r"interactions\.csv:3: is not valid utf-8.*re-save"):
        load_dataset(folder)


def test_bad_json_lines_are_counted(tmp_path):
    folder = write_generic(tmp_path / "g", "user_id,item_id,timestamp\nu1,a,1\nu1,b,2\n")
    with (folder / "items.jsonl").open("a") as f:
        f.write("{not json\n")
        f.write('["a list"]\n')
        f.write('{"title": "no id"}\n')
        f.write('{"item_id": "a", "title": "again"}\n')
    ds = load_dataset(folder)
    skipped = ds.load_report.skipped[str(folder / "items.jsonl")]
    assert dict(skipped) == {"malformed_json": 2, "missing_item_id": 1, "duplicate_item": 1}
    assert ds.items["a"].title == "Alpha & Omega"


def test_folder_matching_no_format(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"matches no known dataset format \(found: notes\.txt\)"):
        load_dataset(tmp_path)


def test_missing_folder_and_file_path(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_dataset(tmp_path / "nope")
    f = tmp_path / "ratings.csv"
    f.write_text("x")
    with pytest.raises(DataError, match="is a file"):
        load_dataset(f)


def test_unknown_format_name(tmp_path):
    with pytest.raises(DataError, match="unknown format 'csv'"):
        load_dataset(tmp_path, format="csv")


def test_movielens_1m_malformed_lines(tmp_path):
    (tmp_path / "movies.dat").write_bytes(
        "1::Caf\xe9 (1995)::Comedy|Drama\n2::Broken\n3::Heat (1995)::Action\n".encode("latin-1")
    )
    (tmp_path / "ratings.dat").write_text(
        "1::1::5::100\n1::3::4::99\n1::2::4::101\n2::1::x::5\n2::1\n2::3::3::abc\n"
    )
    ds = load_dataset(tmp_path)
    assert ds.items["1"].title == "Café (1995)"
    assert [x.item_id for x in ds.histories["1"]] == ["3", "1"]
    report = ds.load_report
    assert dict(report.skipped[str(tmp_path / "movies.dat")]) == {"malformed": 1}
    ratings = dict(report.skipped[str(tmp_path / "ratings.dat")])
    assert ratings == {"unknown_item": 1, "bad_rating": 1, "malformed": 1, "bad_timestamp": 1}
    assert report.first_line[(str(tmp_path / "ratings.dat"), "unknown_item")] == 3


def test_amazon_duplicate_user_line_is_counted(tmp_path):
    (tmp_path / "items.jsonl").write_text(
        '{"asin": "X1", "title": "Soap"}\n{"asin": "X2", "title": "Brush"}\n'
    )
    (tmp_path / "user_sequence.txt").write_text("U1 X1 X2\nU1 X2\nU2\nU3 X2 X9\n")
    ds = load_dataset(tmp_path)
    path = str(tmp_path / "user_sequence.txt")
    assert dict(ds.load_report.skipped[path]) == {
        "duplicate_user": 1,
        "malformed": 1,
        "unknown_item": 1,
    }
    assert [x.item_id for x in ds.histories["U3"]] == ["X2"]
