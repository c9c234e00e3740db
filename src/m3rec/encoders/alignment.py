"""MAR's alignment: each candidate against each of the user's motivations, in MOTE's space.

A motivation's note is embedded like an item text and mapped by MOTE's text projection; an item
is mapped from its text and traits by the same projection, without its learned id embedding, so
the two meet on what the texts say. Their cosine is how well the item serves the motivation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from m3rec.encoders.recommender import MoteRecommender

_REMEMBERED = 256  # profiles whose motivation vectors are kept


@dataclass(frozen=True)
class Alignments:
    """Cosines (motivations x candidates), each candidate's best-served motivation and its
    cosine."""

    cosines: np.ndarray
    best: np.ndarray
    strength: np.ndarray


class MotivationSpace:
    """MOTE's projection of motivation notes and item traits, computed once per model."""

    def __init__(self, model: MoteRecommender) -> None:
        self.model = model
        with torch.no_grad():
            traits = model.encoder.project_text(model.item_text)
        self.traits = model.encoder.unit(traits)
        self._seen: dict[tuple[str, ...], np.ndarray] = {}  # a profile's notes are asked twice

    @torch.no_grad()
    def motivation_vectors(self, notes: list[str]) -> np.ndarray:
        """Return the unit vectors (len(notes), dim) of NOTES in MOTE's space."""
        if not notes:
            return np.zeros((0, self.traits.shape[1]), dtype=np.float32)
        if (known := self._seen.get(tuple(notes))) is not None:
            return known
        embedded = torch.as_tensor(self.model.embed_items(notes), device=self.traits.device)
        vectors = self.model.encoder.unit(self.model.encoder.project_text(embedded))
        found = vectors.cpu().numpy().astype(np.float32)
        if len(self._seen) >= _REMEMBERED:
            self._seen.pop(next(iter(self._seen)))
        self._seen[tuple(notes)] = found
        return found

    def trait_vectors(self, items: np.ndarray) -> np.ndarray:
        """Return the unit trait vectors of ITEMS (indices) in MOTE's space."""
        return self.traits[torch.as_tensor(items, dtype=torch.long)].cpu().numpy()

    def align(self, motivations: np.ndarray, items: np.ndarray) -> Alignments:
        """Return how well each of ITEMS (indices) serves each of MOTIVATIONS (unit vectors)."""
        cosines = motivations @ self.trait_vectors(items).T
        if len(motivations) == 0:
            empty = np.zeros(len(items))
            return Alignments(cosines, empty.astype(np.int64), empty)
        best = cosines.argmax(axis=0)
        return Alignments(cosines, best, cosines[best, np.arange(len(items))])


def aligned_scores(history: np.ndarray, strength: np.ndarray, weight: float) -> np.ndarray:
    """Return MAR's score: MOTE's history score plus WEIGHT times the best motivation's cosine.

    The one place the combination is made, for `recommend` and for the harness alike."""
    return np.asarray(history) + weight * np.asarray(strength)
