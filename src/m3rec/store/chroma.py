"""Chroma collections: profiles (one per user and history), motivation notes, item traits."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from m3rec.errors import CacheDirError

logger = logging.getLogger(__name__)

PROFILES = "motivation_profiles"
NOTES = "motivation_notes"
TRAITS = "item_traits"
FAILURES = "profile_failures"


@dataclass(frozen=True)
class StoredProfile:
    """A profile as stored: its key, the profile JSON and what producing it cost."""

    key: str
    user_id: str
    profile_json: str
    meta: dict[str, Any]


class MotivationStore:
    """MOPE's output in Chroma, keyed deterministically so nothing is computed twice."""

    def __init__(self, client: Any, namespace: str = "") -> None:
        from m3rec.store.embedding import MiniLMEmbeddingFunction

        function = MiniLMEmbeddingFunction()

        def collection(name: str) -> Any:
            return client.get_or_create_collection(
                namespace + name, embedding_function=function, metadata={"hnsw:space": "cosine"}
            )

        self._client = client
        self.profiles = collection(PROFILES)
        self.notes = collection(NOTES)
        self.traits = collection(TRAITS)
        self.failures = collection(FAILURES)

    def existing_profile_keys(self, keys: list[str]) -> set[str]:
        """Return which of KEYS already have a stored profile."""
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            found.update(self.profiles.get(ids=keys[start : start + 500], include=[])["ids"])
        return found

    def get_profile(self, key: str) -> StoredProfile | None:
        """Return the profile stored under KEY, if any."""
        got = self.profiles.get(ids=[key], include=["metadatas"])
        if not got["ids"]:
            return None
        meta = dict(got["metadatas"][0])
        return StoredProfile(key, str(meta["user_id"]), str(meta.pop("profile_json")), meta)

    def profiles_of_user(self, user_id: str) -> list[StoredProfile]:
        """Return every stored profile of USER_ID, newest first."""
        got = self.profiles.get(where={"user_id": user_id}, include=["metadatas"])
        stored = []
        for key, meta in zip(got["ids"], got["metadatas"], strict=True):
            meta = dict(meta)
            stored.append(StoredProfile(key, user_id, str(meta.pop("profile_json")), meta))
        return sorted(stored, key=lambda p: str(p.meta.get("created_at", "")), reverse=True)

    def put_profile(
        self, key: str, user_id: str, profile: dict[str, Any], summary: str, meta: dict[str, Any]
    ) -> None:
        """Store a profile and its motivations as separate notes; clear any recorded failure."""
        created = datetime.now(UTC).isoformat(timespec="seconds")
        record = {**_scalars(meta), "user_id": user_id, "created_at": created}
        record["profile_json"] = json.dumps(profile, default=str)
        self.profiles.upsert(ids=[key], documents=[summary or "(no summary)"], metadatas=[record])
        motivations = profile.get("motivations", [])
        if motivations:
            self.notes.upsert(
                ids=[f"{key}:{i}" for i in range(len(motivations))],
                documents=[note_document(m["label"], m["description"]) for m in motivations],
                metadatas=[
                    {
                        "user_id": user_id,
                        "profile_key": key,
                        "rank": i,
                        "label": m["label"],
                        "strength": float(m["strength"]),
                        "evidence": ",".join(m["evidence"]),
                        "first_seen": str(m.get("first_seen") or ""),
                        "last_seen": str(m.get("last_seen") or ""),
                    }
                    for i, m in enumerate(motivations)
                ],
            )
        self.failures.delete(ids=[key])

    def record_failure(
        self, key: str, user_id: str, error: str, context: dict[str, Any] | None = None
    ) -> None:
        """Remember that KEY failed, so a report can list it; a later success clears it."""
        at = datetime.now(UTC).isoformat(timespec="seconds")
        self.failures.upsert(
            ids=[key],
            documents=[error],
            metadatas=[{**_scalars(context or {}), "user_id": user_id, "at": at}],
        )

    def failures_for(self, keys: list[str]) -> dict[str, str]:
        """Return the recorded error of each of KEYS that failed last time."""
        got = self.failures.get(ids=keys, include=["documents"])
        return dict(zip(got["ids"], got["documents"], strict=True))

    def search_notes(
        self, text: str, k: int = 5, user_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Return the K motivation notes nearest to TEXT, optionally of one user."""
        where = {"user_id": user_id} if user_id else None
        found = self.notes.query(query_texts=[text], n_results=k, where=where)
        return [
            {"id": i, "note": d, "distance": dist, **meta}
            for i, d, dist, meta in zip(
                found["ids"][0],
                found["documents"][0],
                found["distances"][0],
                found["metadatas"][0],
                strict=True,
            )
        ]

    def get_traits(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Return stored item traits by key."""
        got = self.traits.get(ids=keys, include=["metadatas"])
        return {
            key: json.loads(str(meta["traits_json"]))
            for key, meta in zip(got["ids"], got["metadatas"], strict=True)
        }

    def put_traits(self, records: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Store (key, item_id, traits) records; the document is the traits as text."""
        if not records:
            return
        self.traits.upsert(
            ids=[key for key, _, _ in records],
            documents=["; ".join(traits["traits"]) or "(none)" for _, _, traits in records],
            metadatas=[
                {"item_id": item_id, "source": traits["source"], "traits_json": json.dumps(traits)}
                for _, item_id, traits in records
            ],
        )


def note_document(label: str, description: str) -> str:
    """Return the text a motivation is stored, searched and encoded as."""
    return f"{label}: {description}"


def _scalars(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if isinstance(v, str | int | float | bool)}


def open_store(path: Path | None) -> MotivationStore:
    """Open the persistent store at PATH, or a fresh in-memory one when PATH is None."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if path is None:
        # Chroma keeps one in-memory system per process: a namespace keeps each store apart.
        namespace = f"mem{uuid.uuid4().hex[:12]}_"
        return MotivationStore(chromadb.EphemeralClient(settings=chroma_settings), namespace)
    try:
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except (OSError, PermissionError) as exc:
        raise CacheDirError(
            f"the Chroma store {path} cannot be opened ({exc}): "
            "choose another with M3REC_PATHS__CHROMA_DIR"
        ) from None
    return MotivationStore(client)
