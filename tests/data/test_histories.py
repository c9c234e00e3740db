"""The history rules: the product rule, the evaluation rule, and the split built on the latter."""

from __future__ import annotations

import numpy as np
import pytest

from m3rec.data import bundled_catalogue_path, index_dataset, leave_one_out, load_dataset
from m3rec.data.errors import DataError
from m3rec.data.histories import (
    HistoryRule,
    describe_rule,
    evaluation_history,
    evaluation_window,
    product_history,
)


@pytest.fixture(scope="module")
def catalogue():  # type: ignore[no-untyped-def]
    return load_dataset(bundled_catalogue_path())


def ids(entries) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.item_id for e in entries]


def test_the_product_rule_keeps_the_latest_item(catalogue) -> None:  # type: ignore[no-untyped-def]
    events = [e.item_id for e in catalogue.histories["12"]]
    assert ids(product_history(catalogue, "12", 5)) == events[-5:]
    assert ids(product_history(catalogue, "12", 10_000)) == events


def test_the_evaluation_rule_hides_the_held_out_item_and_cuts_cold_users(catalogue) -> None:  # type: ignore[no-untyped-def]
    events = [e.item_id for e in catalogue.histories["12"]]
    assert ids(evaluation_history(catalogue, "12")) == events[:-1]
    assert ids(evaluation_history(catalogue, "12", 2)) == events[-3:-1]
    assert ids(evaluation_history(catalogue, "12", 2, stage="valid")) == events[-4:-2]
    assert ids(evaluation_history(catalogue, "12", 2, stage="train")) == events[-5:-3]


def test_the_train_stage_never_sees_its_own_validation_or_test_item(catalogue) -> None:  # type: ignore[no-untyped-def]
    events = [e.item_id for e in catalogue.histories["12"]]
    seen = ids(evaluation_history(catalogue, "12", stage="train"))
    assert seen == events[:-3]
    assert HistoryRule("train", 2).context("d") == {"dataset": "d", "stage": "train", "cold_k": 2}
    assert describe_rule(HistoryRule("train", 2).context("d")) == "train, cold_k 2"


def test_a_history_too_short_to_evaluate_is_seen_whole() -> None:
    assert evaluation_window(2, "test") == slice(0, 2)
    assert evaluation_window(2, "valid", cold_k=1) == slice(1, 2)
    assert evaluation_window(3, "valid") == slice(0, 1)
    assert evaluation_window(3, "train") == slice(0, 0)


def test_the_split_and_the_evaluation_rule_agree_for_every_user(catalogue) -> None:  # type: ignore[no-untyped-def]
    indexed = index_dataset(catalogue)
    cold_users = np.arange(0, indexed.n_users, 3)
    cold_users = cold_users[[len(indexed.sequences[u]) >= 3 for u in cold_users]]
    for cold_k in (0, 2):
        split = leave_one_out(indexed, cold_k, cold_users)
        for u in split.test_users():
            user = indexed.user_ids[u]
            k = cold_k if split.cold[u] else 0
            test = [indexed.item_ids[i] for i in split.test_history[u]]
            assert test == ids(evaluation_history(catalogue, user, k)), user
            if not split.cold[u]:
                valid = [indexed.item_ids[i] for i in split.valid_history[u]]
                assert valid == ids(evaluation_history(catalogue, user, 0, "valid")), user


def test_rules_refuse_what_they_cannot_mean(catalogue) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="needs an evaluation stage"):
        HistoryRule(None, cold_k=2)
    with pytest.raises(DataError, match="check --user"):
        product_history(catalogue, "nobody")
    with pytest.raises(DataError, match="at least 1"):
        product_history(catalogue, "12", 0)
    assert HistoryRule().context("d") == {
        "dataset": "d",
        "stage": "product",
        "cold_k": 0,
        "items": 20,
    }
    assert HistoryRule("valid", 2).context("d") == {"dataset": "d", "stage": "valid", "cold_k": 2}
