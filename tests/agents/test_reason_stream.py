"""Reasons read from a reply while it streams: an item counts once its object is closed."""

from __future__ import annotations

import json

from m3rec.agents.reason_stream import closed_reasons

REPLY = json.dumps(
    {
        "reasons": {
            "296": {"item": "Pulp Fiction", "evidence": ["50"], "reason": 'Crime with a "}" twist'},
            "593": {"item": "Silence", "evidence": [], "reason": 'A chase {"1": {}} in the cold'},
        }
    }
)


def test_each_item_appears_once_its_object_is_closed_and_braces_in_text_are_text() -> None:
    first_end = REPLY.index("twist") + len('twist"}')
    seen = [list(closed_reasons(REPLY[:n])) for n in range(len(REPLY) + 1)]
    assert seen[first_end - 1] == [] and seen[first_end] == ["296"]
    assert seen[-1] == ["296", "593"]
    assert closed_reasons(REPLY)["593"].reason == 'A chase {"1": {}} in the cold'
    assert all(s in (["296"], ["296", "593"], []) for s in seen)


def test_an_object_that_does_not_fit_the_schema_is_left_for_the_final_parse() -> None:
    reply = (
        '{"reasons": {"1": {"evidence": "none", "reason": 3}, '
        '"2": {"evidence": [], "reason": "ok"}}}'
    )
    assert list(closed_reasons(reply)) == ["2"]
