"""MOTE: user motivations and item traits encoded into one space (plain torch modules)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

TEXT_DIM = 384  # all-MiniLM-L6-v2


class MoteEncoder(nn.Module):
    """Two towers over frozen sentence embeddings: items to trait vectors, notes to motivations.

    Item side: a small MLP over the item's text embedding, plus an optional learned item-id
    embedding (warm signal). User side: notes (LLM motivation notes, or history items standing
    in for them) are attention-pooled by `slots` learned queries with a learned recency decay,
    so later notes weigh more (`recency=False` drops the decay); an optional user-id embedding
    is added. A user and an item score
    by cosine, the best of the user's slots.
    """

    def __init__(
        self,
        dim: int = 64,
        *,
        text_dim: int = TEXT_DIM,
        slots: int = 1,
        n_items: int = 0,
        n_users: int = 0,
        dropout: float = 0.1,
        order_layers: int = 0,
        max_notes: int = 10,
        recency: bool = True,
    ) -> None:
        super().__init__()
        self.dim, self.slots = dim, slots
        self.text_proj = nn.Sequential(
            nn.Linear(text_dim, dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim, dim)
        )
        self.text_skip = nn.Linear(text_dim, dim, bias=False)
        self.item_emb = nn.Embedding(n_items, dim) if n_items else None
        self.user_emb = nn.Embedding(n_users, dim) if n_users else None
        for emb in (self.item_emb, self.user_emb):
            if emb is not None:
                nn.init.normal_(emb.weight, std=0.01)
        self.queries = nn.Parameter(torch.randn(slots, dim) / math.sqrt(dim))
        self.key = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim, bias=False)  # no notes: a zero vector
        # softplus(-1.0) ~ 0.31 logit per step back in time; learned, never negative. Without
        # recency every note weighs by its content alone, whatever its age.
        self.decay = nn.Parameter(torch.tensor(-1.0)) if recency else None
        self.order: nn.TransformerEncoder | None = None
        if order_layers:
            self.age_emb = nn.Embedding(max_notes, dim)
            nn.init.normal_(self.age_emb.weight, std=0.01)
            layer = nn.TransformerEncoderLayer(
                dim, 2, dim * 2, dropout, activation="gelu", batch_first=True, norm_first=True
            )
            self.order = nn.TransformerEncoder(layer, order_layers, enable_nested_tensor=False)

    def project_text(self, text: torch.Tensor) -> torch.Tensor:
        """Map sentence embeddings (..., text_dim) into the shared space (..., dim)."""
        return self.text_proj(text) + self.text_skip(text)

    def item_vectors(self, text: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        """Return trait vectors (n, dim) of items from their text embeddings and indices."""
        vec = self.project_text(text)
        if self.item_emb is not None and items is not None:
            vec = vec + self.item_emb(items)
        return vec

    def pool(
        self, notes: torch.Tensor, mask: torch.Tensor, users: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Return motivation vectors (batch, slots, dim) from notes (batch, n, dim), oldest first.

        `mask` (batch, n) is True for real notes; padding gets zero weight wherever it sits, and
        a user with no notes gets a zero vector (plus their id embedding, if any).
        """
        mask = mask.bool()
        values = notes.masked_fill(~mask.unsqueeze(-1), 0.0)
        if self.order is not None:
            values = self.in_order(values, mask)
        weights = self.attention(values, mask)
        pooled = torch.einsum("bkn,bnd->bkd", weights, values)
        vec = pooled + self.out(pooled)
        if self.user_emb is not None and users is not None:
            vec = vec + self.user_emb(users).unsqueeze(1)
        return vec

    def in_order(self, notes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Return the notes (batch, n, dim) read in order by self-attention, each with its age."""
        assert self.order is not None
        age = ages(mask).clamp(max=self.age_emb.num_embeddings - 1)
        empty = ~mask.any(-1, keepdim=True)
        last = torch.arange(mask.shape[1], device=mask.device) == mask.shape[1] - 1
        attend = mask | (empty & last)
        read = self.order(notes + self.age_emb(age), src_key_padding_mask=~attend)
        return notes + read.masked_fill(~mask.unsqueeze(-1), 0.0)

    def attention(self, notes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Return each slot's weights over the notes (batch, slots, n); padding weighs exactly 0."""
        mask = mask.bool()
        keys = self.key(notes)  # padded keys get -inf logits below, whatever they hold
        age = ages(mask).to(notes.dtype)
        logits = torch.einsum("kd,bnd->bkn", self.queries, keys) / math.sqrt(self.dim)
        if self.decay is not None:
            logits = logits - nn.functional.softplus(self.decay) * age.unsqueeze(1)
        logits = logits.masked_fill(~mask.unsqueeze(1), float("-inf"))
        empty = ~mask.any(-1)
        logits = logits.masked_fill(empty[:, None, None], 0.0)
        return torch.softmax(logits, dim=-1) * mask.unsqueeze(1)

    def unit(self, vectors: torch.Tensor) -> torch.Tensor:
        """Return VECTORS (..., dim) as the cosine reads them: scaled to length 1."""
        return nn.functional.normalize(vectors, dim=-1)

    def similarity(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Return cosine scores (batch, c): the best slot of each user against each item.

        `users` is (batch, slots, dim); `items` is (c, dim) shared by the batch or (batch, c, dim).
        """
        return best_slot(self.unit(users), self.unit(items))


class MoteEnsemble(nn.Module):
    """MOTE encoders trained from different seeds, scored as one by the mean of their cosines.

    Its vectors are the members' vectors side by side (`dim` is their sum), so the pooling reads
    each member's part of an item vector and every consumer (the item index, MAR's alignment)
    takes an ensemble's vectors as it takes one encoder's. `unit` scales each part to length
    1/sqrt(members): the dot product of two unit vectors is then the mean of the members'
    cosines.
    """

    def __init__(self, members: list[MoteEncoder]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.parts = [m.dim for m in members]
        self.dim, self.slots = sum(self.parts), members[0].slots

    def encoders(self) -> list[MoteEncoder]:
        """Return the member encoders, in seed order."""
        return [m for m in self.members if isinstance(m, MoteEncoder)]

    def project_text(self, text: torch.Tensor) -> torch.Tensor:
        """Map sentence embeddings (..., text_dim) into every member's space (..., dim)."""
        return torch.cat([m.project_text(text) for m in self.encoders()], dim=-1)

    def item_vectors(self, text: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        """Return the members' trait vectors of items, side by side (n, dim)."""
        return torch.cat([m.item_vectors(text, items) for m in self.encoders()], dim=-1)

    def pool(
        self, notes: torch.Tensor, mask: torch.Tensor, users: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Return the members' motivation vectors side by side (batch, slots, dim); each member
        pools its own part of the notes."""
        parts = torch.split(notes, self.parts, dim=-1)
        pooled = [m.pool(p, mask, users) for m, p in zip(self.encoders(), parts, strict=True)]
        return torch.cat(pooled, dim=-1)

    def unit(self, vectors: torch.Tensor) -> torch.Tensor:
        """Return VECTORS (..., dim) with each member's part at length 1/sqrt(members)."""
        parts = torch.split(vectors, self.parts, dim=-1)
        joined = torch.cat([nn.functional.normalize(p, dim=-1) for p in parts], dim=-1)
        return joined / math.sqrt(len(self.parts))

    def similarity(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Return the mean of the members' cosines (batch, c), the best slot of each user."""
        return best_slot(self.unit(users), self.unit(items))


Encoder = MoteEncoder | MoteEnsemble


def members_of(encoder: Encoder) -> list[MoteEncoder]:
    """Return the encoders that make up ENCODER (itself, unless it is an ensemble)."""
    return encoder.encoders() if isinstance(encoder, MoteEnsemble) else [encoder]


def best_slot(users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """Return the dot products (batch, c) of unit user slots (batch, slots, dim) with unit items
    ((c, dim) or (batch, c, dim)), the best slot of each user."""
    sims = torch.matmul(users, items.mT if items.dim() == 3 else items.T)  # (batch, slots, c)
    return sims[:, 0] if sims.shape[1] == 1 else sims.max(dim=1).values


def ages(mask: torch.Tensor) -> torch.Tensor:
    """Return each note's age (batch, n): how many real notes come after it (0: the latest)."""
    return mask.flip(-1).cumsum(-1).flip(-1) - mask.long()


def history_notes(histories: list[np.ndarray], max_notes: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the last `max_notes` items of each history, oldest first, and their mask.

    The index array is right-aligned (most recent item in the last column); padding is 0 with
    mask False.
    """
    width = max(1, min(max_notes, max((len(h) for h in histories), default=1)))
    idx = np.zeros((len(histories), width), dtype=np.int64)
    mask = np.zeros((len(histories), width), dtype=bool)
    for row, h in enumerate(histories):
        tail = np.asarray(h[-width:], dtype=np.int64)
        if len(tail):
            idx[row, width - len(tail) :] = tail
            mask[row, width - len(tail) :] = True
    return idx, mask


def user_vectors(
    encoder: Encoder,
    item_vecs: torch.Tensor,
    histories: list[np.ndarray],
    max_notes: int,
    users: np.ndarray | None = None,
) -> torch.Tensor:
    """Return the motivation vectors (batch, slots, dim) MOTE scores users with.

    `item_vecs` (n_items, dim) are the encoder's item vectors, computed once; the last
    `max_notes` history items stand in for notes; `users` (indices) add their id embeddings.
    """
    device = item_vecs.device
    idx, mask = history_notes(histories, max_notes)
    notes = item_vecs[torch.as_tensor(idx, device=device)]
    note_mask = torch.as_tensor(mask, device=device)
    user_t = None if users is None else torch.as_tensor(users, dtype=torch.long, device=device)
    return encoder.pool(notes, note_mask, user_t)


def nearest_history_similarity(
    encoder: Encoder,
    item_vecs: torch.Tensor,
    histories: list[np.ndarray],
    candidates: np.ndarray | None,
    max_notes: int,
) -> torch.Tensor:
    """Return each candidate's best cosine (batch, c), in MOTE's space, with any one of the
    user's `max_notes` most recent items (an ensemble: the mean of its members' cosines), all
    items when CANDIDATES is None; 0 for a user with fewer than two items.

    The pooled motivation vector averages a user's interests away; the item nearest the
    candidate keeps the one it serves. One item is one interest, which the pooled vector holds
    already (on validation users cut to one item the term only hurt). Entries of -1 in
    CANDIDATES read item 0, as in `score_histories` (the harness masks them).
    """
    device = item_vecs.device
    units = encoder.unit(item_vecs)
    idx, mask = history_notes(histories, max_notes)
    if candidates is None:
        cand = units.T.unsqueeze(0)  # (1, dim, n_items), shared by the batch
    else:
        cand = units[candidate_items(candidates, device)].mT  # (batch, dim, c)
    notes = units[torch.as_tensor(idx, device=device)]
    return nearest_note_cosine(notes, torch.as_tensor(mask, device=device), cand)


def nearest_note_cosine(
    notes: torch.Tensor, mask: torch.Tensor, cand: torch.Tensor
) -> torch.Tensor:
    """Return each candidate's best cosine (batch, c) with any one of a row's real NOTES (unit
    vectors, (batch, n, dim); MASK (batch, n) marks the real ones), 0 for a row with fewer than
    two. CAND holds unit vectors as (1 or batch, dim, c). Training and scoring both add this
    term, through this function; a column at a time, so memory stays (batch, c).
    """
    best = torch.full((notes.shape[0], cand.shape[-1]), -torch.inf, device=notes.device)
    for col in range(notes.shape[1]):
        sims = torch.matmul(notes[:, col].unsqueeze(1), cand).squeeze(1)
        best = torch.where(mask[:, col].unsqueeze(1), torch.maximum(best, sims), best)
    several = (mask.sum(1) >= 2).unsqueeze(1)
    return torch.where(several & ~torch.isinf(best), best, torch.zeros_like(best))


def score_histories(
    encoder: Encoder,
    item_vecs: torch.Tensor,
    histories: list[np.ndarray],
    candidates: np.ndarray | None,
    max_notes: int,
    users: np.ndarray | None = None,
    maxpool_weight: float = 0.0,
) -> torch.Tensor:
    """Score candidates (batch, c), or all items when None, for users given their histories:
    the cosine with the user's pooled motivation vector (`user_vectors`), plus MAXPOOL_WEIGHT x
    the nearest history item's (`nearest_history_similarity`). Every scoring path (training's
    validation, the harness, the product commands) scores this way. Candidate entries of -1
    score the item 0.
    """
    device = item_vecs.device
    motivations = user_vectors(encoder, item_vecs, histories, max_notes, users)
    if candidates is None:
        scores = encoder.similarity(motivations, item_vecs)
    else:
        scores = encoder.similarity(motivations, item_vecs[candidate_items(candidates, device)])
    if maxpool_weight > 0:
        scores = scores + maxpool_weight * nearest_history_similarity(
            encoder, item_vecs, histories, candidates, max_notes
        )
    return scores


def candidate_items(candidates: np.ndarray, device: torch.device) -> torch.Tensor:
    """Return CANDIDATES (batch, c) as item indices on DEVICE, padding (-1) read as item 0."""
    return torch.as_tensor(np.where(candidates >= 0, candidates, 0), device=device)
