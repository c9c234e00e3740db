"""Properties of the dataset readers (hypothesis): files of good rows mixed with any bad ones,
in every format, give a dataset or one DataError line naming the file, never another exception;
a dataset keeps only users with history and items it knows."""

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m3rec.data import load_dataset
from m3rec.data.errors import DataError

_USER = st.sampled_from(["1", "2", "3", "u 4"])
_ITEM = st.sampled_from(["10", "11", "12", "13"])
_RATING = st.sampled_from(["1", "3", "4.5", "5"])
_STAMP = st.sampled_from(["978300760", "978300761", "978300900"])
_TITLE = st.text(max_size=12) | st.sampled_from(["Heat (1995)", "A &amp; B", '"}]} {"x": 1'])
_JUNK = st.text(max_size=6) | st.sampled_from(["", " ", "nan", "-3", "1e309", "2020-13-45", "x"])
_READING = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _junk_row(sep: str) -> st.SearchStrategy[str]:
    return st.lists(_JUNK, max_size=5).map(sep.join)


def _file(good: st.SearchStrategy[str], sep: str) -> st.SearchStrategy[bytes]:
    rows = st.lists(good | _junk_row(sep), max_size=14)
    return rows.map(lambda lines: "\n".join(lines).encode())


def _item_line(id_key: str) -> st.SearchStrategy[str]:
    good = st.builds(
        lambda i, t, c: json.dumps({id_key: i, "title": t, "categories": c}),
        _ITEM,
        _TITLE,
        st.lists(st.lists(st.text(max_size=5), max_size=3), max_size=2),
    )
    bad = st.text(max_size=12) | st.sampled_from(["[]", "null", "{", '{"title": "no id"}', '"10"'])
    return good | bad


def _load(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, data in files.items():
            (Path(folder) / name).write_bytes(data)
        try:
            dataset = load_dataset(folder)
        except DataError as exc:
            assert str(exc).startswith(folder) and "\n" not in str(exc)
            return
        assert dataset.histories
        for user, history in dataset.histories.items():
            assert user and history
            assert all(i.item_id in dataset.items for i in history)


@given(st.booleans(), st.data())
@_READING
def test_generic_files_read_or_fail_clearly(timed: bool, data: st.DataObject) -> None:
    if timed:
        good = st.builds(lambda *f: ",".join(f), _USER, _ITEM, _STAMP, _RATING)
        head = b"user_id,item_id,timestamp,rating\n"
    else:
        good, head = st.builds(lambda *f: ",".join(f), _USER, _ITEM), b"user_id,item_id\n"
    items = data.draw(st.lists(_item_line("item_id"), max_size=6)).__iter__()
    _load(
        {
            "interactions.csv": head + data.draw(_file(good, ",")),
            "items.jsonl": "\n".join(items).encode(),
        }
    )


@given(st.data(), st.binary(max_size=6))
@_READING
def test_movielens_1m_files_read_or_fail_clearly(data: st.DataObject, junk: bytes) -> None:
    rating = st.builds(lambda *f: "::".join(f), _USER, _ITEM, _RATING, _STAMP)
    movie = st.builds(lambda i, t: f"{i}::{t}::Action|Drama", _ITEM, _TITLE)
    ratings = data.draw(_file(rating, "::")) + junk  # latin-1: any byte is a character
    _load({"ratings.dat": ratings, "movies.dat": data.draw(_file(movie, "::"))})


@given(st.data())
@_READING
def test_movielens_100k_files_read_or_fail_clearly(data: st.DataObject) -> None:
    rating = st.builds(lambda *f: "\t".join(f), _USER, _ITEM, _RATING, _STAMP)
    flags = "|".join("0" * 18 + "1")
    movie = st.builds(lambda i, t: f"{i}|{t}|01-Jan-1995||http://x|{flags}", _ITEM, _TITLE)
    _load({"u.data": data.draw(_file(rating, "\t")), "u.item": data.draw(_file(movie, "|"))})


@given(st.data(), st.binary(max_size=6))
@_READING
def test_amazon_p5_files_read_or_fail_clearly(data: st.DataObject, junk: bytes) -> None:
    sequence = st.builds(
        lambda u, items: " ".join([u.replace(" ", ""), *items]),
        _USER,
        st.lists(_ITEM, min_size=1, max_size=5),
    )
    items = data.draw(st.lists(_item_line("asin"), max_size=6))
    _load(
        {
            "user_sequence.txt": data.draw(_file(sequence, " ")),
            "items.jsonl": "\n".join(items).encode() + junk,  # utf-8: a bad byte is a DataError
        }
    )
