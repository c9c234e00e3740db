"""MAR's `retrieve` step: candidates from a vector search over MOTE's item vectors in the store,
joined with items co-consumed with the user's history; never an item the user already has."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from m3rec.agents.encode import MoteScorer
from m3rec.ranking.cooccurrence import CoConsumption
from m3rec.store import MotivationStore

RETRIEVAL_VECTOR = 200  # unseen nearest items kept per query vector
RETRIEVAL_CF = 100  # unseen co-consumed items kept


@dataclass(frozen=True)
class Retrieved:
    """A user's candidates, by where they came from."""

    vector: tuple[str, ...]  # nearest to a query vector, best cosine first
    cf: tuple[str, ...]  # co-consumed with the history, best first (may repeat vector ones)

    @property
    def candidates(self) -> list[str]:
        """Return the union: the vector hits, then the co-consumed items they lack."""
        return list(dict.fromkeys(self.vector + self.cf))


def ensure_item_index(scorer: MoteScorer, store: MotivationStore) -> bool:
    """Build the store's index of SCORER's item vectors unless it already holds every item;
    return whether it was built."""
    if store.item_index_size(scorer.index_key) == len(scorer.item_ids):
        return False
    store.put_item_vectors(scorer.index_key, scorer.item_ids, scorer.item_vectors())
    return True


def retrieve_with_sources(
    scorer: MoteScorer,
    store: MotivationStore,
    cooc: CoConsumption,
    user_id: str,
    history: list[str],
    queries: np.ndarray | None = None,
    *,
    n_vector: int = RETRIEVAL_VECTOR,
    n_cf: int = RETRIEVAL_CF,
) -> Retrieved:
    """Return USER_ID's candidates from HISTORY and the extra QUERIES (q, dim) in MOTE's space.

    Each of the user's MOTE slot vectors and each query row asks the index for its N_VECTOR
    nearest unseen items. The index cannot filter, so a row asks for N_VECTOR plus as many
    neighbours as the user has seen catalogue items: however many of the nearest are seen,
    N_VECTOR unseen ones remain. MOTE scores a user by their best slot, so the union of the
    slots' lists holds MOTE's exact top N_VECTOR (up to HNSW's approximation). A heavy user
    asks for more neighbours, which costs milliseconds, never recall.
    """
    ensure_item_index(scorer, store)
    seen = scorer.seen_items(user_id, history)
    vectors = _query_vectors(scorer.user_vectors(user_id, history), queries)
    n_seen = sum(item in scorer.index for item in seen)
    best: dict[str, float] = {}
    for row in store.nearest_items(scorer.index_key, vectors, n_vector + n_seen):
        for item, sim in [(i, s) for i, s in row if i not in seen][:n_vector]:
            best[item] = max(sim, best.get(item, -np.inf))
    vector = sorted(best, key=lambda item: (-best[item], scorer.index[item]))
    read = np.array([scorer.index[i] for i in history if i in scorer.index], dtype=np.int64)
    exclude = np.array(sorted(scorer.index[i] for i in seen if i in scorer.index), dtype=np.int64)
    cf = [scorer.item_ids[i] for i in cooc.candidates(read, n_cf, exclude)]
    return Retrieved(tuple(vector), tuple(cf))


def _query_vectors(users: np.ndarray, queries: np.ndarray | None) -> np.ndarray:
    """Stack the user's slot vectors and the extra queries; drop rows with no direction."""
    rows = [users]
    if queries is not None and np.size(queries):
        extra = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if extra.shape[1] != users.shape[1]:
            raise ValueError(
                f"query vectors have {extra.shape[1]} dimensions, MOTE's space {users.shape[1]}"
            )
        rows.append(extra)
    vectors = np.concatenate(rows).astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1)
    return vectors[np.isfinite(norms) & (norms > 0)]
