"""Properties of `prompts.data_text`, the one rule for item and user text in a prompt: whatever
the text, what reaches the prompt cannot close its data block, hold an object or hide text."""

import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from m3rec.prompts import data_text

# Text rich in what an attack would use: markers, braces, control and invisible characters.
_hostile = st.text(
    alphabet=st.sampled_from(list('<>{}"\n\r\t\x00\x1b\u200b\u200e\u202e\u2066\ue000 aZ:')),
    max_size=60,
)
_markers = st.text(alphabet="<> a", max_size=12)


@given(st.text(max_size=300) | _hostile | _markers, st.integers(4, 200))
@example(">><<<>", 10)  # removing the inner marker must not join the outer ones into another
def test_data_text_cannot_close_a_block_hold_an_object_or_hide_text(text: str, limit: int) -> None:
    shown = data_text(text, limit)
    assert len(shown) <= limit
    assert "<<<" not in shown and ">>>" not in shown
    assert "{" not in shown and "}" not in shown
    assert "\n" not in shown and "\r" not in shown
    assert not any(unicodedata.category(c) in {"Cc", "Cf", "Co", "Cs"} for c in shown)
    assert shown == shown.strip()


@given(st.text(max_size=300) | _hostile | _markers)
def test_data_text_leaves_its_own_output_as_it_is(text: str) -> None:
    shown = data_text(text, 10_000)
    assert data_text(shown, 10_000) == shown
