"""Leave-one-out splits and cold-start truncation hide exactly what they must."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from m3rec.data import DataError, index_dataset, leave_one_out, load_dataset
from m3rec.data.splits import IndexedDataset, choose_cold_users, eligible_users

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"


def toy() -> IndexedDataset:
    seqs = [np.array(s) for s in ([0, 1, 2, 3, 4], [5, 6, 7], [8, 9], [1, 3, 5, 7, 9, 2])]
    return IndexedDataset("toy", ["a", "b", "c", "d"], [str(i) for i in range(10)], seqs, [""] * 10)


def test_leave_one_out_by_position():
    split = leave_one_out(toy())
    assert split.train[0].tolist() == [0, 1, 2]
    assert split.valid_history[0].tolist() == [0, 1, 2] and split.valid_target[0] == 3
    assert split.test_history[0].tolist() == [0, 1, 2, 3] and split.test_target[0] == 4
    assert split.train[1].tolist() == [5] and split.test_target[1] == 7
    # Too short for a test case: everything is training data.
    assert split.train[2].tolist() == [8, 9] and split.test_target[2] == -1
    assert split.valid_target[2] == -1
    assert split.test_users().tolist() == [0, 1, 3]


@pytest.mark.parametrize("k", [1, 2])
def test_cold_start_cut_hides_the_rest_of_the_history(k):
    split = leave_one_out(toy(), cold_k=k, cold_users=np.array([0, 3]))
    full = toy().sequences
    for u in (0, 3):
        visible = full[u][-1 - k : -1]
        assert split.train[u].tolist() == visible.tolist()
        assert split.test_history[u].tolist() == visible.tolist()
        assert split.test_target[u] == full[u][-1]
        assert split.valid_target[u] == -1  # no validation case leaks more of the history
        hidden = set(full[u][: -1 - k].tolist())
        assert not hidden & set(split.train[u].tolist())
    # Warm users are untouched.
    assert split.train[1].tolist() == [5]
    assert split.cold.tolist() == [True, False, False, True]


def test_test_and_validation_items_never_in_train():
    data = index_dataset(load_dataset(FIXTURES / "ml-latest-slice"))
    split = leave_one_out(data)
    for u in split.test_users():
        assert split.test_target[u] not in split.train[u]
        assert split.valid_target[u] not in split.train[u]
        assert len(split.train[u]) == len(data.sequences[u]) - 2


def test_cold_users_are_seeded_and_eligible():
    data = index_dataset(load_dataset(FIXTURES / "amazon-beauty-slice"))
    a = choose_cold_users(data, 5, seed=1)
    assert a.tolist() == choose_cold_users(data, 5, seed=1).tolist()
    assert a.tolist() != choose_cold_users(data, 5, seed=2).tolist()
    assert set(a.tolist()) <= set(eligible_users(data).tolist())
    with pytest.raises(DataError, match="only 25 have 3"):
        choose_cold_users(data, 26, seed=0)


def test_index_keeps_order_and_text():
    ds = load_dataset(FIXTURES / "amazon-beauty-slice")
    data = index_dataset(ds)
    u = data.user_ids[0]
    assert [data.item_ids[i] for i in data.sequences[0]] == [x.item_id for x in ds.histories[u]]
    assert data.item_texts[0] == ds.items[data.item_ids[0]].text()


def test_negative_cold_k_is_refused():
    with pytest.raises(DataError, match="cold_k"):
        leave_one_out(toy(), cold_k=-1)
