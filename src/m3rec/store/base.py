"""What the rest of m3rec may ask of a store: profiles, notes, item traits, failures and item
vector indexes.

The protocol names every query as a method, so no Chroma query syntax or collection leaves
`m3rec.store`; a Chroma server (a later client) only has to implement the same methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

Collection = Literal["profiles", "notes", "traits", "failures"]


@dataclass(frozen=True)
class StoredProfile:
    """A profile as stored: its key, the profile JSON and what producing it cost."""

    key: str
    user_id: str
    profile_json: str
    meta: dict[str, Any]


@dataclass(frozen=True)
class NoteRecord:
    """One motivation note to store: its text (worded by the caller) and where it comes from."""

    text: str
    label: str
    strength: float
    evidence: tuple[str, ...]
    first_seen: str
    last_seen: str
    kind: str = ""  # MOPE v2's motivation kind (`mope_drafts.KIND_WORDS`); "" for v1 and chat

    def freshness(self) -> tuple[str, float, str]:
        """Return the order MOTE reads notes in: by last_seen, then weakest first, then text."""
        return (self.last_seen, self.strength, self.text)


@dataclass(frozen=True)
class StoredNote(NoteRecord):
    """A motivation note as stored, with the profile it belongs to."""

    user_id: str = ""
    profile_key: str = ""
    rank: int = 0
    distance: float | None = None  # set by a similarity search
    source: str = "mope"  # "chat": said in a conversation (profile_key is chat_key(thread))


def chat_key(thread: str) -> str:
    """Return the key the notes said in THREAD are stored under, beside the profiles' keys."""
    return f"chat:{thread}"


class MotivationStore(Protocol):
    """The store every client implements (embedded Chroma, in-memory Chroma, later a server)."""

    def existing_profile_keys(self, keys: list[str]) -> set[str]:
        """Return which of KEYS already have a stored profile."""
        ...

    def get_profile(self, key: str) -> StoredProfile | None:
        """Return the profile stored under KEY, if any."""
        ...

    def profiles_of_user(self, user_id: str) -> list[StoredProfile]:
        """Return every stored profile of USER_ID, newest first."""
        ...

    def list_profiles(self, dataset: str | None = None) -> list[StoredProfile]:
        """Return every stored profile (of DATASET when given), in no particular order."""
        ...

    def put_profile(
        self,
        key: str,
        user_id: str,
        profile: dict[str, Any],
        summary: str,
        notes: list[NoteRecord],
        meta: dict[str, Any],
    ) -> None:
        """Store a profile and its notes under KEY; clear any failure recorded for KEY. The
        profile is stamped `created_at` now unless META carries one."""
        ...

    def record_failure(
        self, key: str, user_id: str, error: str, context: dict[str, Any] | None = None
    ) -> None:
        """Remember that KEY failed, so a report can list it; a later success clears it."""
        ...

    def failures_for(self, keys: list[str]) -> dict[str, str]:
        """Return the recorded error of each of KEYS that failed last time."""
        ...

    def list_failures(self) -> list[dict[str, Any]]:
        """Return every recorded failure: key, user_id, error and its context."""
        ...

    def put_chat_notes(self, user_id: str, thread: str, notes: list[NoteRecord]) -> None:
        """Replace the notes USER_ID said in conversation THREAD with NOTES (source chat)."""
        ...

    def chat_notes(self, user_id: str) -> list[StoredNote]:
        """Return every note USER_ID said in any conversation, oldest first."""
        ...

    def search_notes(self, text: str, k: int = 5, user_id: str | None = None) -> list[StoredNote]:
        """Return the K notes nearest in meaning to TEXT, optionally of one user."""
        ...

    def newest_notes(self, user_id: str, k: int = 10) -> list[StoredNote]:
        """Return the notes of USER_ID's newest profile, at most K, freshest and strongest last."""
        ...

    def newest_profile_notes(
        self, dataset: str, cold_k: int, stage: str, model_id: str | None = None
    ) -> dict[str, list[StoredNote]]:
        """Return, per user, the notes of the newest profile written for DATASET, COLD_K and
        STAGE (profiles written before stages were recorded count as 'test'), freshest last;
        with MODEL_ID, only profiles that model wrote."""
        ...

    def get_traits(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Return stored item traits by key."""
        ...

    def put_traits(self, records: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Store (key, item_id, traits) records."""
        ...

    def traits_of_items(self, item_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Return every stored traits record of each of ITEM_IDS (one per source and model)."""
        ...

    def count(self, collection: Collection) -> int:
        """Return how many records COLLECTION holds."""
        ...

    def put_item_vectors(self, index_key: str, item_ids: list[str], vectors: np.ndarray) -> None:
        """Replace the item vector index INDEX_KEY with these items and vectors (n, dim)."""
        ...

    def item_index_size(self, index_key: str) -> int:
        """Return how many items the index INDEX_KEY holds (0 when there is none)."""
        ...

    def nearest_items(
        self, index_key: str, vectors: np.ndarray, k: int
    ) -> list[list[tuple[str, float]]]:
        """Return, per row of VECTORS (q, dim), the K items of INDEX_KEY nearest by cosine,
        best first, each with its cosine similarity."""
        ...
