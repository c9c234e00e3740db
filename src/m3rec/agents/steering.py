"""What a conversation does to a ranking: the motivations said in it join the profile (after
the ones read from the history, which it may ask to forget), and excluded categories leave the
candidates. One place, for `m3rec chat` and anything else that steers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from m3rec.data.histories import item_entry
from m3rec.data.types import Item
from m3rec.schemas import HistoryEntry, MotivationProfile, Steering

CHAT_PROMPT_ID = "chat"  # the prompt id of a profile made only of what a conversation said


def steer_profile(
    profile: MotivationProfile | None, steering: Steering, user_id: str
) -> tuple[MotivationProfile | None, int]:
    """Return PROFILE without the forgotten motivations and with the conversation's notes after
    the rest, and the index where the notes begin; with no profile and no notes, None."""
    forgotten = {label.casefold() for label in steering.forgotten}
    kept = [
        m for m in (profile.motivations if profile else []) if m.label.casefold() not in forgotten
    ]
    said = [note.as_motivation() for note in steering.notes]
    if profile is None and not said:
        return None, 0
    if profile is None:
        profile = MotivationProfile(
            user_id=user_id,
            motivations=[],
            summary="",
            shift="",
            prompt_id=CHAT_PROMPT_ID,
            model="",
        )
    return profile.model_copy(update={"motivations": kept + said}), len(kept)


def citable(
    items: Mapping[str, Item], history: Sequence[HistoryEntry], steering: Steering | None
) -> list[HistoryEntry]:
    """Return the items a reason may name and cite: the history, then the items the
    conversation pointed at ("more like the second one"), which are the evidence of the notes
    said of them. The history alone is what MOPE and MOTE read."""
    seen = {entry.item_id for entry in history}
    named = [n.item_id for n in steering.notes if n.item_id] if steering is not None else []
    pointed = [i for i in dict.fromkeys(named) if i not in seen and i in items]
    return [*history, *(item_entry(items[i]) for i in pointed)]


def allowed(items: Mapping[str, Item], candidates: Sequence[str], steering: Steering) -> list[str]:
    """Return CANDIDATES without the items of an excluded category and without the items the
    conversation named to get more like them (shown already)."""
    banned = set(steering.excluded)
    named = {note.item_id for note in steering.notes if note.item_id}
    return [c for c in candidates if c not in named and not banned & set(items[c].category_names())]
