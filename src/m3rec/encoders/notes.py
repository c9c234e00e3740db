"""MOPE's motivation notes as MOTE inputs: each user's notes embedded in one call.

Which notes a user has is read from the store by `m3rec.agents.notes.notes_by_user_index`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

Embed = Callable[[list[str]], np.ndarray]


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
