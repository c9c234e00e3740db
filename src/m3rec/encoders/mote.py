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

    def similarity(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Return cosine scores (batch, c): the best slot of each user against each item.

        `users` is (batch, slots, dim); `items` is (c, dim) shared by the batch or (batch, c, dim).
        """
        u = nn.functional.normalize(users, dim=-1)
        i = nn.functional.normalize(items, dim=-1)
        sims = torch.matmul(u, i.mT if i.dim() == 3 else i.T)  # (batch, slots, c)
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
    encoder: MoteEncoder,
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


def score_histories(
    encoder: MoteEncoder,
    item_vecs: torch.Tensor,
    histories: list[np.ndarray],
    candidates: np.ndarray | None,
    max_notes: int,
    users: np.ndarray | None = None,
) -> torch.Tensor:
    """Score candidates (batch, c), or all items when None, for users given their histories.

    Users are pooled by `user_vectors`. Candidate entries of -1 score the item 0.
    """
    device = item_vecs.device
    motivations = user_vectors(encoder, item_vecs, histories, max_notes, users)
    if candidates is None:
        return encoder.similarity(motivations, item_vecs)
    safe = torch.as_tensor(np.where(candidates >= 0, candidates, 0), device=device)
    return encoder.similarity(motivations, item_vecs[safe])
