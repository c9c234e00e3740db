"""Motivation notes: how a motivation is worded as a note, and notes as MOTE reads them."""

from __future__ import annotations

from m3rec.agents.mope_drafts import KIND_WORDS
from m3rec.schemas import ChatNote, Motivation, MotivationProfile
from m3rec.store import MotivationStore, NoteRecord


def note_text(label: str, description: str, kind: str | None = None) -> str:
    """Return the text a motivation is stored, searched and encoded as; a v2 motivation's kind
    leads, in words ("a mood or escape, late-night scares: ...")."""
    if kind in KIND_WORDS:
        return f"{KIND_WORDS[kind]}, {label}: {description}"
    return f"{label}: {description}"


def motivation_notes(profile: MotivationProfile) -> list[NoteRecord]:
    """Return a profile's motivations as the notes a store keeps, strongest first."""
    return [_note_record(m) for m in profile.motivations]


def chat_note_records(notes: list[ChatNote]) -> list[NoteRecord]:
    """Return notes said in a conversation as the notes a store keeps, worded like MOPE's."""
    return [_note_record(note.as_motivation()) for note in notes]


def _note_record(m: Motivation) -> NoteRecord:
    return NoteRecord(
        text=note_text(m.label, m.description, m.kind),
        label=m.label,
        strength=float(m.strength),
        evidence=tuple(m.evidence),
        first_seen=str(m.first_seen or ""),
        last_seen=str(m.last_seen or ""),
        kind=str(m.kind or ""),
    )


def profile_notes(profile: MotivationProfile) -> list[str]:
    """Return a profile's notes in the order MOTE reads them: oldest and weakest first, so the
    freshest, strongest motivation comes last (the order the store returns them in)."""
    return [n.text for n in sorted(motivation_notes(profile), key=NoteRecord.freshness)]


def notes_by_user_index(
    store: MotivationStore,
    dataset: str,
    user_ids: list[str],
    cold_k: int,
    stage: str = "test",
    model_id: str | None = None,
) -> dict[int, list[str]]:
    """Return each user's newest-profile notes for DATASET, COLD_K and STAGE, keyed by the user's
    index in USER_IDS (MOTE's input).

    A `test` profile is written from the history before the user's test item, so its notes may
    only score that user's test case; a `valid` profile, from the history before the validation
    item, serves validation (tuning). Product-rule profiles (stage `product`) never count. With
    MODEL_ID, only profiles that LLM wrote (`llm.factory.model_identity`).
    """
    index = {u: i for i, u in enumerate(user_ids)}
    found = store.newest_profile_notes(dataset, cold_k, stage, model_id)
    return {index[u]: [n.text for n in notes] for u, notes in found.items() if u in index}
