"""Chroma collections: profiles (one per user and history), motivation notes, item traits,
and one item vector index per MOTE checkpoint."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import numpy as np

from m3rec.errors import CacheDirError, StoreUnavailableError
from m3rec.settings import StoreSettings
from m3rec.store.base import Collection, NoteRecord, StoredNote, StoredProfile, chat_key

logger = logging.getLogger(__name__)

PROFILES = "motivation_profiles"
NOTES = "motivation_notes"
TRAITS = "item_traits"
FAILURES = "profile_failures"
ITEM_VECTORS = "item_vectors_"  # + a hash of the index key: Chroma names allow 3-63 characters
# ef_search is raised to k by the index when a query asks for more neighbours than that. One
# build thread: the graph, and so which neighbours an approximate search can miss, is the same on
# every run (the exact-neighbour test missed one of 20 once in CI with a build thread per core).
ITEM_HNSW = {"space": "cosine", "ef_construction": 200, "ef_search": 200, "num_threads": 1}
_BATCH = 500
T = TypeVar("T")


def _server_errors_are_clear(cls: type[T]) -> type[T]:
    """Make every public method of CLS turn a lost connection to a Chroma server into one
    StoreUnavailableError (what was stored before stays stored)."""
    import httpx

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except httpx.TransportError as exc:
                raise StoreUnavailableError(
                    f"the Chroma server stopped answering ({type(exc).__name__}: {exc}); "
                    "everything stored before is kept: rerun once it is back"
                ) from None

        return guarded

    for name, member in list(vars(cls).items()):
        if callable(member) and not name.startswith("_"):
            setattr(cls, name, wrap(member))
    return cls


@_server_errors_are_clear
class ChromaStore:
    """MOPE's output in Chroma collections, keyed deterministically so nothing is computed twice."""

    def __init__(self, client: Any, namespace: str = "") -> None:
        from m3rec.store.embedding import MiniLMEmbeddingFunction

        function = MiniLMEmbeddingFunction()

        def collection(name: str) -> Any:
            return client.get_or_create_collection(
                namespace + name, embedding_function=function, metadata={"hnsw:space": "cosine"}
            )

        self._client, self._namespace = client, namespace
        self._indexes: dict[str, tuple[Any, int]] = {}  # item vector indexes looked up
        self._profiles = collection(PROFILES)
        self._notes = collection(NOTES)
        self._traits = collection(TRAITS)
        self._failures = collection(FAILURES)

    def existing_profile_keys(self, keys: list[str]) -> set[str]:
        """Return which of KEYS already have a stored profile."""
        found: set[str] = set()
        for start in range(0, len(keys), _BATCH):
            found.update(self._profiles.get(ids=keys[start : start + _BATCH], include=[])["ids"])
        return found

    def get_profile(self, key: str) -> StoredProfile | None:
        """Return the profile stored under KEY, if any."""
        got = self._profiles.get(ids=[key], include=["metadatas"])
        if not got["ids"]:
            return None
        return _profile(key, got["metadatas"][0])

    def profiles_of_user(self, user_id: str) -> list[StoredProfile]:
        """Return every stored profile of USER_ID, newest first."""
        got = self._profiles.get(where={"user_id": user_id}, include=["metadatas"])
        return sorted(_profiles(got), key=_created, reverse=True)

    def list_profiles(self, dataset: str | None = None) -> list[StoredProfile]:
        """Return every stored profile (of DATASET when given), in no particular order."""
        where = {"dataset": dataset} if dataset is not None else None
        got = self._profiles.get(where=where, include=["metadatas"])
        return _profiles(got)

    def put_profile(
        self,
        key: str,
        user_id: str,
        profile: dict[str, Any],
        summary: str,
        notes: list[NoteRecord],
        meta: dict[str, Any],
    ) -> None:
        """Store a profile and its notes as separate, searchable records; clear any failure.

        META's `created_at` is kept when given (an imported profile keeps its date), else now.
        The profile record is written last: a write cut short (a killed process) leaves no
        profile, so the next run writes it again, and the notes of an earlier write under KEY
        are replaced, never mixed with these.
        """
        created = meta.get("created_at") or datetime.now(UTC).isoformat(timespec="seconds")
        record = {**_scalars(meta), "user_id": user_id, "created_at": str(created)}
        record["profile_json"] = json.dumps(profile, default=str)
        self._replace_notes(user_id, key, notes, source=None)
        self._profiles.upsert(ids=[key], documents=[summary or "(no summary)"], metadatas=[record])
        self._failures.delete(ids=[key])

    def record_failure(
        self, key: str, user_id: str, error: str, context: dict[str, Any] | None = None
    ) -> None:
        """Remember that KEY failed, so a report can list it; a later success clears it."""
        at = datetime.now(UTC).isoformat(timespec="seconds")
        self._failures.upsert(
            ids=[key],
            documents=[error],
            metadatas=[{**_scalars(context or {}), "user_id": user_id, "at": at}],
        )

    def failures_for(self, keys: list[str]) -> dict[str, str]:
        """Return the recorded error of each of KEYS that failed last time."""
        got = self._failures.get(ids=keys, include=["documents"])
        return dict(zip(got["ids"], got["documents"], strict=True))

    def list_failures(self) -> list[dict[str, Any]]:
        """Return every recorded failure: key, user_id, error and its context."""
        got = self._failures.get(include=["documents", "metadatas"])
        return [
            {**meta, "key": key, "error": error}
            for key, error, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]

    def put_chat_notes(self, user_id: str, thread: str, notes: list[NoteRecord]) -> None:
        """Replace the notes USER_ID said in conversation THREAD with NOTES (source chat)."""
        self._replace_notes(user_id, chat_key(thread), notes, source="chat")

    def _replace_notes(
        self, user_id: str, key: str, notes: list[NoteRecord], *, source: str | None
    ) -> None:
        """Replace the notes stored under KEY with NOTES (a profile's notes carry no source:
        they are MOPE's)."""
        self._notes.delete(where={"profile_key": key})
        if not notes:
            return
        marked = {"source": source} if source else {}
        self._notes.upsert(
            ids=[f"{key}:{i}" for i in range(len(notes))],
            documents=[note.text for note in notes],
            metadatas=[
                {
                    "user_id": user_id,
                    "profile_key": key,
                    **marked,
                    "rank": i,
                    "label": note.label,
                    "strength": float(note.strength),
                    "evidence": ",".join(note.evidence),
                    "first_seen": note.first_seen,
                    "last_seen": note.last_seen,
                    "kind": note.kind,
                }
                for i, note in enumerate(notes)
            ],
        )

    def chat_notes(self, user_id: str) -> list[StoredNote]:
        """Return every note USER_ID said in any conversation, oldest first."""
        found = self._notes.get(
            where={"$and": [{"user_id": user_id}, {"source": "chat"}]},
            include=["documents", "metadatas"],
        )
        notes = [
            _note(doc, meta, None)
            for doc, meta in zip(found["documents"], found["metadatas"], strict=True)
        ]
        return sorted(notes, key=lambda n: (n.first_seen, n.profile_key, n.rank))

    def search_notes(self, text: str, k: int = 5, user_id: str | None = None) -> list[StoredNote]:
        """Return the K motivation notes nearest in meaning to TEXT, optionally of one user.

        Only notes of a stored profile count: a write cut short between a profile's notes and
        its record (see `put_profile`) leaves notes that no search finds until they are
        written again."""
        if self._notes.count() == 0:
            return []
        where = {"user_id": user_id} if user_id else None
        found = self._notes.query(query_texts=[text], n_results=k, where=where)
        metas = found["metadatas"][0]
        stored = self.existing_profile_keys(sorted({str(m["profile_key"]) for m in metas}))
        return [
            _note(doc, meta, distance)
            for doc, distance, meta in zip(
                found["documents"][0], found["distances"][0], metas, strict=True
            )
            if str(meta["profile_key"]) in stored
        ]

    def newest_notes(self, user_id: str, k: int = 10) -> list[StoredNote]:
        """Return the notes of USER_ID's newest profile, at most K, freshest and strongest last."""
        newest = self.profiles_of_user(user_id)
        if not newest:
            return []
        notes = self._notes_of([newest[0].key]).get(newest[0].key, [])
        return notes[-k:]

    def newest_profile_notes(
        self, dataset: str, cold_k: int, stage: str, model_id: str | None = None
    ) -> dict[str, list[StoredNote]]:
        """Return, per user, the notes of the newest profile written for DATASET, COLD_K and
        STAGE (profiles written before stages were recorded count as 'test'), freshest last;
        with MODEL_ID, only profiles that model wrote."""
        terms: list[dict[str, Any]] = [{"dataset": dataset}, {"cold_k": cold_k}]
        if model_id is not None:
            terms.append({"model_id": model_id})
        where = {"$and": terms}
        got = self._profiles.get(where=where, include=["metadatas"])
        newest: dict[str, tuple[str, str]] = {}
        for key, meta in zip(got["ids"], got["metadatas"], strict=True):
            if meta.get("stage", "test") != stage:
                continue
            user, created = str(meta["user_id"]), str(meta.get("created_at", ""))
            if user not in newest or created > newest[user][1]:
                newest[user] = (key, created)
        by_key = self._notes_of(sorted(key for key, _ in newest.values()))
        return {user: by_key[key] for user, (key, _) in newest.items() if key in by_key}

    def _notes_of(self, profile_keys: list[str]) -> dict[str, list[StoredNote]]:
        out: dict[str, list[StoredNote]] = {}
        for start in range(0, len(profile_keys), _BATCH):
            chunk = profile_keys[start : start + _BATCH]
            found = self._notes.get(
                where={"profile_key": {"$in": chunk}}, include=["documents", "metadatas"]
            )
            for doc, meta in zip(found["documents"], found["metadatas"], strict=True):
                note = _note(doc, meta, None)
                out.setdefault(note.profile_key, []).append(note)
        return {key: sorted(notes, key=StoredNote.freshness) for key, notes in out.items()}

    def get_traits(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Return stored item traits by key."""
        got = self._traits.get(ids=keys, include=["metadatas"])
        return {
            key: json.loads(str(meta["traits_json"]))
            for key, meta in zip(got["ids"], got["metadatas"], strict=True)
        }

    def traits_of_items(self, item_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Return every stored traits record of each of ITEM_IDS (one per source and model)."""
        if not item_ids:
            return {}
        got = self._traits.get(where={"item_id": {"$in": list(item_ids)}}, include=["metadatas"])
        found: dict[str, list[dict[str, Any]]] = {}
        for _key, meta in sorted(zip(got["ids"], got["metadatas"], strict=True)):
            found.setdefault(str(meta["item_id"]), []).append(json.loads(str(meta["traits_json"])))
        return found

    def put_traits(self, records: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Store (key, item_id, traits) records; the document is the traits as text."""
        if not records:
            return
        self._traits.upsert(
            ids=[key for key, _, _ in records],
            documents=["; ".join(traits["traits"]) or "(none)" for _, _, traits in records],
            metadatas=[
                {"item_id": item_id, "source": traits["source"], "traits_json": json.dumps(traits)}
                for _, item_id, traits in records
            ],
        )

    def count(self, collection: Collection) -> int:
        """Return how many records COLLECTION holds."""
        collections = {
            "profiles": self._profiles,
            "notes": self._notes,
            "traits": self._traits,
            "failures": self._failures,
        }
        return int(collections[collection].count())

    def put_item_vectors(self, index_key: str, item_ids: list[str], vectors: np.ndarray) -> None:
        """Make the item vector index INDEX_KEY hold exactly these items and vectors (n, dim).

        The vectors are stored as given (no embedding function runs) in an HNSW cosine index.
        The collection is written in place, never dropped: processes that build the same index
        at once (it is keyed by the checkpoint, so they write the same vectors) and readers of
        it never find it gone, and a build cut short is completed by the next.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(item_ids) != len(vectors):
            raise ValueError(
                f"need one vector row per item: {len(item_ids)} ids, vectors {vectors.shape}"
            )
        self._indexes.pop(index_key, None)
        index = self._client.get_or_create_collection(
            self._item_index_name(index_key),
            embedding_function=None,
            configuration={"hnsw": ITEM_HNSW},
            metadata={"index_key": index_key},
        )
        if index.count():
            wanted = set(item_ids)
            stale = [i for i in index.get(include=[])["ids"] if i not in wanted]
            for start in range(0, len(stale), _BATCH):
                index.delete(ids=stale[start : start + _BATCH])
        for start in range(0, len(item_ids), _BATCH):
            stop = start + _BATCH
            index.upsert(ids=list(item_ids[start:stop]), embeddings=vectors[start:stop])
        self._indexes[index_key] = (index, len(item_ids))

    def item_index_size(self, index_key: str) -> int:
        """Return how many items the index INDEX_KEY holds (0 when there is none)."""
        found = self._item_index(index_key)
        return 0 if found is None else found[1]

    def nearest_items(
        self, index_key: str, vectors: np.ndarray, k: int
    ) -> list[list[tuple[str, float]]]:
        """Return, per row of VECTORS (q, dim), the K items of INDEX_KEY nearest by cosine,
        best first, each with its cosine similarity (fewer when the index holds fewer)."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        from chromadb.errors import NotFoundError

        known = self._item_index(index_key)
        k = min(k, known[1]) if known is not None else 0
        if known is None or k <= 0 or not len(vectors):
            return [[] for _ in vectors]
        try:
            found = known[0].query(query_embeddings=vectors, n_results=k, include=["distances"])
        except NotFoundError:  # another process replaced the index since it was looked up
            self._indexes.pop(index_key, None)
            return self.nearest_items(index_key, vectors, k)
        return [
            [(item, 1.0 - float(d)) for item, d in zip(ids, dists, strict=True)]
            for ids, dists in zip(found["ids"], found["distances"], strict=True)
        ]

    def _item_index_name(self, index_key: str) -> str:
        digest = hashlib.sha256(index_key.encode("utf-8")).hexdigest()[:24]
        return f"{self._namespace}{ITEM_VECTORS}{digest}"

    def _item_index(self, index_key: str) -> tuple[Any, int] | None:
        """Return the index collection of INDEX_KEY and its size, looked up once per store."""
        from chromadb.errors import NotFoundError

        if (known := self._indexes.get(index_key)) is not None:
            return known
        try:
            index = self._client.get_collection(
                self._item_index_name(index_key), embedding_function=None
            )
        except NotFoundError:
            return None
        self._indexes[index_key] = (index, int(index.count()))
        return self._indexes[index_key]


def _scalars(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if isinstance(v, str | int | float | bool)}


def _profile(key: str, meta: Any) -> StoredProfile:
    meta = dict(meta)
    return StoredProfile(key, str(meta["user_id"]), str(meta.pop("profile_json")), meta)


def _profiles(got: Any) -> list[StoredProfile]:
    return [_profile(key, meta) for key, meta in zip(got["ids"], got["metadatas"], strict=True)]


def _created(profile: StoredProfile) -> str:
    return str(profile.meta.get("created_at", ""))


def _note(text: str, meta: Any, distance: float | None) -> StoredNote:
    evidence = tuple(e for e in str(meta.get("evidence", "")).split(",") if e)
    return StoredNote(
        user_id=str(meta["user_id"]),
        profile_key=str(meta["profile_key"]),
        rank=int(meta.get("rank", 0)),
        text=text,
        label=str(meta.get("label", "")),
        strength=float(meta.get("strength", 0.0)),
        evidence=evidence,
        first_seen=str(meta.get("first_seen", "")),
        last_seen=str(meta.get("last_seen", "")),
        kind=str(meta.get("kind", "")),
        distance=distance,
        source=str(meta.get("source", "mope")),
    )


def open_store(settings: StoreSettings, *, flag: str | None = None) -> ChromaStore:
    """Open the store SETTINGS describe: a Chroma folder, or a fresh in-memory store.

    FLAG names where the path came from (for example `--store`), so an error names what the
    user typed; without it the error names the setting.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.kind == "server":
        assert settings.url is not None
        return _server_store(settings.url, settings.database, chroma_settings)
    if settings.kind == "memory":
        # Chroma keeps one in-memory system per process: a namespace keeps each store apart.
        namespace = f"mem{uuid.uuid4().hex[:12]}_"
        return ChromaStore(chromadb.EphemeralClient(settings=chroma_settings), namespace)
    path = settings.path
    try:
        path.mkdir(parents=True, exist_ok=True)
        client = _persistent_client(path, chroma_settings)
    except (OSError, PermissionError) as exc:
        where = flag or "store.path in the config file or M3REC_STORE__PATH"
        raise CacheDirError(
            f"the Chroma store {path} cannot be opened ({exc}): choose another folder with {where}"
        ) from None
    return ChromaStore(client)


_NEW_FOLDER_TRIES = 3


def _persistent_client(path: Path, chroma_settings: Any) -> Any:
    """Open the Chroma folder at PATH. Two processes that open one new folder at once race on
    Chroma's schema, and the loser fails with "table ... already exists": it opens the folder
    again once the winner has made it (tests/store/test_two_writers.py)."""
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.errors import InternalError

    for attempt in range(1, _NEW_FOLDER_TRIES + 1):
        try:
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except InternalError as exc:
            if "already exists" not in str(exc) or attempt == _NEW_FOLDER_TRIES:
                raise
            # Chroma caches the failed system by folder: drop it so the next try starts anew.
            systems = SharedSystemClient._identifier_to_system
            for key, system in list(systems.items()):
                if system.settings.persist_directory == str(path):
                    systems.pop(key, None)
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _server_store(url: str, database: str, chroma_settings: Any) -> ChromaStore:
    """Return the store kept in DATABASE (created if new) by the Chroma server at URL; one
    clear error if it cannot be reached."""
    import chromadb

    parsed = urlsplit(url if "://" in url else f"http://{url}")
    where = "--store-url, or store.url in the config file or M3REC_STORE__URL"
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise StoreUnavailableError(
            f"{url!r} is not a Chroma server URL such as http://127.0.0.1:8000: check {where}"
        )
    host, ssl = parsed.hostname, parsed.scheme == "https"
    port = parsed.port or (443 if ssl else 8000)
    try:
        _ensure_database(host, port, ssl, database)
        client = chromadb.HttpClient(
            host=host, port=port, ssl=ssl, settings=chroma_settings, database=database
        )
        return ChromaStore(client)
    except Exception as exc:  # httpx, chromadb and OS errors alike: the server is not there
        raise StoreUnavailableError(
            f"cannot reach the Chroma server at {url} ({type(exc).__name__}: {exc}): start it "
            f"with `chroma run --path DIR --port {parsed.port or 8000}`, or check {where}"
        ) from None


def _ensure_database(host: str, port: int, ssl: bool, database: str) -> None:
    """Create DATABASE on the server unless it is there."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    admin = chromadb.AdminClient(
        ChromaSettings(
            chroma_api_impl="chromadb.api.fastapi.FastAPI",
            chroma_server_host=host,
            chroma_server_http_port=port,
            chroma_server_ssl_enabled=ssl,
            anonymized_telemetry=False,
        )
    )
    try:
        admin.get_database(database)
    except Exception:  # chromadb raises NotFoundError, or a generic error on older servers
        try:
            admin.create_database(database)
        except Exception:
            admin.get_database(database)  # another client created it first: then it is there


def memory_store() -> ChromaStore:
    """Return a fresh in-memory store (for tests and throwaway runs)."""
    return open_store(StoreSettings(kind="memory"))
