"""MOPE's motivation notes as MOTE inputs: each profiled user's notes, oldest motivation first."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

Embed = Callable[[list[str]], np.ndarray]


def notes_from_store(
    store: Any, dataset: str, user_ids: list[str], cold_k: int, stage: str = "test"
) -> dict[int, list[str]]:
    """Return the notes of each user's newest profile for `dataset`, `cold_k` and `stage`.

    `store` is MOPE's `MotivationStore` (only its `profiles` and `notes` collections are read).
    A `test` profile is written from the history before the user's test item, so its notes may
    only score that user's test case; a `valid` profile, from the history before the validation
    item, serves validation (tuning). Profiles written before stages existed count as `test`.
    Notes are ordered by `last_seen`, then weakest first, so the freshest and strongest
    motivation comes last. Keys of the result are user indices into `user_ids`.
    """
    where = {"$and": [{"dataset": dataset}, {"cold_k": cold_k}]}
    got = store.profiles.get(where=where, include=["metadatas"])
    newest: dict[str, tuple[str, str]] = {}
    for key, meta in zip(got["ids"], got["metadatas"], strict=True):
        if meta.get("stage", "test") != stage:
            continue
        user, created = str(meta["user_id"]), str(meta.get("created_at", ""))
        if user not in newest or created > newest[user][1]:
            newest[user] = (key, created)
    index = {u: i for i, u in enumerate(user_ids)}
    keys = {key: index[u] for u, (key, _) in newest.items() if u in index}
    notes: dict[int, list[tuple[str, float, str]]] = {}
    if keys:
        found = store.notes.get(
            where={"profile_key": {"$in": sorted(keys)}}, include=["documents", "metadatas"]
        )
        for doc, meta in zip(found["documents"], found["metadatas"], strict=True):
            order = (str(meta.get("last_seen", "")), float(meta.get("strength", 0.0)), doc)
            notes.setdefault(keys[str(meta["profile_key"])], []).append(order)
    return {u: [doc for *_, doc in sorted(rows)] for u, rows in notes.items()}


def embed_notes(notes: Mapping[int, list[str]], embed: Embed) -> dict[int, np.ndarray]:
    """Return each user's note embeddings (n_notes, text_dim), in one call to `embed`."""
    users = [u for u in notes if notes[u]]
    texts = [t for u in users for t in notes[u]]
    if not texts:
        return {}
    vectors = np.asarray(embed(texts), dtype=np.float32)
    out, start = {}, 0
    for u in users:
        out[u] = vectors[start : start + len(notes[u])]
        start += len(notes[u])
    return out
