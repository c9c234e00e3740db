"""SASRec (Kang and McAuley 2018) trained with full cross-entropy over all items."""

from __future__ import annotations

import math
from typing import Self

import numpy as np
import torch
from pydantic import Field
from torch import nn

from m3rec.eval.baselines.base import (
    EpochCallback,
    ModelConfig,
    Recommender,
    TrainData,
    ndcg10_on,
)
from m3rec.eval.baselines.torch_common import EarlyStopping, setup_torch


class SASRecConfig(ModelConfig):
    """SASRec hyperparameters; None picks the SASRec paper's value for the data's density."""

    max_len: int | None = Field(default=None, ge=1, description="200 for long histories, else 50")
    dim: int = Field(default=50, ge=1)
    blocks: int = Field(default=2, ge=1)
    heads: int = Field(default=1, ge=1)
    dropout: float | None = Field(default=None, ge=0, lt=1, description="0.2 long, 0.5 short")
    epochs: int = Field(default=200, ge=1)
    batch_size: int = Field(default=128, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    patience: int = Field(default=3, ge=1, description="validation checks without gain")
    eval_every: int = Field(default=2, ge=1)


class SASRecNet(nn.Module):
    """Causal self-attention over the item sequence; item 0 is padding, item i is index i+1."""

    def __init__(self, n_items: int, cfg: SASRecConfig, max_len: int, dropout: float) -> None:
        super().__init__()
        self.max_len = max_len
        self.item_emb = nn.Embedding(n_items + 1, cfg.dim, padding_idx=0)
        self.pos_emb = nn.Embedding(max_len, cfg.dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                cfg.dim,
                cfg.heads,
                dim_feedforward=cfg.dim,
                dropout=dropout,
                activation="relu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(cfg.blocks)
        )
        self.norm = nn.LayerNorm(cfg.dim)
        for name, param in self.named_parameters():  # as the reference implementation
            if param.dim() > 1 and "norm" not in name:
                nn.init.xavier_normal_(param)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()
        causal = torch.triu(torch.ones(max_len, max_len, dtype=torch.bool), diagonal=1)
        self.register_buffer("causal", causal, persistent=False)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """Return hidden states (batch, time, dim) for left-padded sequences of item indices."""
        t = seq.shape[1]
        keep = (seq > 0).unsqueeze(-1)
        x = self.item_emb(seq) * math.sqrt(self.item_emb.embedding_dim)
        # Positions count back from the end, so trimming padding columns changes nothing.
        x = x + self.pos_emb(torch.arange(self.max_len - t, self.max_len, device=seq.device))
        x = self.drop(x) * keep
        mask = self.causal[:t, :t]
        for block in self.blocks:
            x = block(x, src_mask=mask) * keep
        return self.norm(x)


def _left_pad(seqs: list[np.ndarray], length: int) -> np.ndarray:
    """Stack the last `length` items of each sequence (shifted by +1), left-padded with 0."""
    out = np.zeros((len(seqs), length), dtype=np.int64)
    for row, s in enumerate(seqs):
        tail = s[-length:]
        if len(tail):
            out[row, length - len(tail) :] = tail + 1
    return out


class SASRec(Recommender):
    """Next-item transformer; scores candidates from the last position of the visible history."""

    name = "sasrec"
    config_class = SASRecConfig

    def fit(self, data: TrainData, on_epoch: EpochCallback | None = None) -> Self:
        """Train next-item prediction with softmax cross-entropy over all items."""
        cfg = self.config
        assert isinstance(cfg, SASRecConfig)
        gen = setup_torch(cfg.seed)
        long_histories = data.mean_length() > 50
        max_len = cfg.max_len or (200 if long_histories else 50)
        dropout = cfg.dropout if cfg.dropout is not None else (0.2 if long_histories else 0.5)
        # Layer init and dropout draw from torch's default generator: fork it so the global
        # state is left as it was and the run depends only on cfg.seed.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.net = SASRecNet(data.n_items, cfg, max_len, dropout)
            self._train(data, cfg, gen, on_epoch)
        return self

    def _train(
        self, data: TrainData, cfg: SASRecConfig, gen: torch.Generator, on_epoch: EpochCallback | None
    ) -> None:
        max_len = self.net.max_len
        self.n_items = data.n_items
        train = [s for s in data.sequences if len(s) >= 2]
        inputs = torch.as_tensor(_left_pad([s[:-1] for s in train], max_len))
        targets = torch.as_tensor(_left_pad([s[1:] for s in train], max_len))
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, betas=(0.9, 0.98))
        stopper = EarlyStopping(cfg.patience)
        self.fitted = True
        for epoch in range(1, cfg.epochs + 1):
            self.net.train()
            order = torch.randperm(len(inputs), generator=gen)
            total, count = 0.0, 0
            for start in range(0, len(order), cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                seq, tgt = inputs[idx], targets[idx]
                width = int((seq > 0).sum(1).max())  # trim all-padding columns
                seq, tgt = seq[:, -width:], tgt[:, -width:]
                hidden = self.net(seq)
                real = tgt > 0
                logits = hidden[real] @ self.net.item_emb.weight[1:].T
                loss = nn.functional.cross_entropy(logits, tgt[real] - 1)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * int(real.sum())
                count += int(real.sum())
            logs = {"loss": total / max(1, count)}
            stop = False
            if data.valid is not None and epoch % cfg.eval_every == 0:
                logs["valid_ndcg10"] = ndcg10_on(self, data.valid)
                stop = stopper.check(logs["valid_ndcg10"], epoch, self.net)
            if on_epoch:
                on_epoch(epoch, cfg.epochs, logs)
            if stop:
                break
        stopper.restore(self.net)
        self.best_epoch = stopper.best_epoch or cfg.epochs
        self.net.eval()

    @torch.no_grad()
    def score(
        self, users: np.ndarray, histories: list[np.ndarray], candidates: np.ndarray | None
    ) -> np.ndarray:
        """Score candidates against the hidden state after the last visible item."""
        self._check_fitted()
        was_training = self.net.training
        self.net.eval()
        width = max(1, min(self.net.max_len, max((len(h) for h in histories), default=1)))
        seq = torch.as_tensor(_left_pad(histories, width))
        last = self.net(seq)[:, -1, :]
        items = self.net.item_emb.weight[1:]
        if candidates is None:
            out = last @ items.T
        else:
            safe = torch.as_tensor(np.where(candidates >= 0, candidates, 0), dtype=torch.long)
            out = torch.einsum("bd,bcd->bc", last, items[safe])
        self.net.train(was_training)
        return out.numpy()
