"""SASRec (Kang and McAuley 2018) trained with full cross-entropy over all items."""

from __future__ import annotations

import math
from typing import Self

import numpy as np
import torch
from pydantic import Field
from torch import nn

from m3rec.ranking.contract import (
    EpochCallback,
    ModelConfig,
    Recommender,
    TrainData,
    ndcg10_on,
)
from m3rec.ranking.torch_utils import EarlyStopping, setup_torch
from m3rec.settings import TORCH_THREADS


class SASRecConfig(ModelConfig):
    """SASRec hyperparameters; None picks the SASRec paper's value for the data's density."""

    max_len: int | None = Field(default=None, ge=1, description="200 for long histories, else 50")
    dim: int = Field(default=50, ge=1)
    blocks: int = Field(default=2, ge=1)
    heads: int = Field(default=1, ge=1)
    dropout: float | None = Field(default=None, ge=0, lt=1, description="0.2 long, 0.5 short")
    epochs: int = Field(default=200, ge=1)
    # Smaller batches and a higher rate than the paper (128, 1e-3): more updates per epoch,
    # which is what converges in few epochs on a CPU budget.
    batch_size: int = Field(default=32, ge=1)
    lr: float = Field(default=2e-3, gt=0)
    patience: int = Field(default=3, ge=1, description="validation checks without gain")
    eval_every: int = Field(default=2, ge=1)
    threads: int = Field(
        default=TORCH_THREADS,
        ge=1,
        description="torch threads (the [torch] threads setting); results depend on it",
    )
    ce_negatives: int | None = Field(
        default=512,
        ge=1,
        description="softmax cross-entropy over the target and this many uniform negatives "
        "shared by the batch; None: over all items (exact, several times slower on CPU)",
    )


class CausalBlock(nn.Module):
    """Pre-norm causal self-attention and a position-wise feed-forward layer, with residuals."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"SASRec dim {dim} must be a multiple of heads {heads}")
        self.heads, self.p = heads, dropout
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.ff1, self.ff2 = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the block's output for (batch, time, dim) inputs."""
        b, t, d = x.shape
        qkv = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        att = nn.functional.scaled_dot_product_attention(
            q, k, v, is_causal=True, dropout_p=self.p if self.training else 0.0
        )
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.ff2(self.drop(torch.relu(self.ff1(self.norm2(x))))))


class SASRecNet(nn.Module):
    """Causal self-attention over the item sequence; item 0 is padding, item i is index i+1."""

    def __init__(self, n_items: int, cfg: SASRecConfig, max_len: int, dropout: float) -> None:
        super().__init__()
        self.max_len = max_len
        self.item_emb = nn.Embedding(n_items + 1, cfg.dim, padding_idx=0)
        self.pos_emb = nn.Embedding(max_len, cfg.dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            CausalBlock(cfg.dim, cfg.heads, dropout) for _ in range(cfg.blocks)
        )
        self.norm = nn.LayerNorm(cfg.dim)
        for name, param in self.named_parameters():  # as the reference implementation
            if param.dim() > 1 and "norm" not in name:
                nn.init.xavier_normal_(param)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """Return hidden states (batch, time, dim) for left-padded sequences of item indices."""
        t = seq.shape[1]
        keep = (seq > 0).unsqueeze(-1)
        x = self.item_emb(seq) * math.sqrt(self.item_emb.embedding_dim)
        # Positions count back from the end, so trimming padding columns changes nothing.
        x = x + self.pos_emb.weight[self.max_len - t :]
        x = self.drop(x) * keep
        for block in self.blocks:
            x = block(x) * keep
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
        gen = setup_torch(cfg.seed, cfg.threads)
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
        self,
        data: TrainData,
        cfg: SASRecConfig,
        gen: torch.Generator,
        on_epoch: EpochCallback | None,
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
                real = tgt > 0
                loss = self._loss(self.net(seq)[real], tgt[real], cfg.ce_negatives, gen)
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

    def _loss(
        self,
        hidden: torch.Tensor,
        target: torch.Tensor,
        negatives: int | None,
        gen: torch.Generator,
    ) -> torch.Tensor:
        """Return softmax cross-entropy of the targets (1-based) given hidden states."""
        emb = self.net.item_emb.weight
        if negatives is None or negatives >= self.n_items - 1:
            return nn.functional.cross_entropy(hidden @ emb[1:].T, target - 1)
        neg = torch.randint(1, self.n_items + 1, (negatives,), generator=gen)
        pos_logit = (hidden * emb[target]).sum(-1, keepdim=True)
        neg_logit = hidden @ emb[neg].T
        neg_logit = neg_logit.masked_fill(neg.unsqueeze(0) == target.unsqueeze(1), float("-inf"))
        logits = torch.cat([pos_logit, neg_logit], dim=1)
        return nn.functional.cross_entropy(logits, torch.zeros_like(target))

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
