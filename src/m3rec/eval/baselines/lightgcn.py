"""LightGCN (He et al. 2020): linear propagation over the user-item graph, BPR loss, in torch."""

from __future__ import annotations

import warnings
from typing import Self

import numpy as np
import torch
from pydantic import Field

from m3rec.ranking.contract import (
    EpochCallback,
    ModelConfig,
    Recommender,
    TrainData,
    ndcg10_on,
)
from m3rec.ranking.torch_utils import EarlyStopping, setup_torch
from m3rec.settings import TORCH_THREADS


class LightGCNConfig(ModelConfig):
    """LightGCN hyperparameters."""

    dim: int = Field(default=64, ge=1)
    layers: int = Field(default=3, ge=1)
    epochs: int = Field(default=40, ge=1)
    batch_size: int = Field(default=8192, ge=1)
    lr: float = Field(default=5e-3, gt=0)
    reg: float = Field(default=1e-4, ge=0, description="L2 on the batch's layer-0 embeddings")
    patience: int = Field(default=3, ge=1, description="validation checks without gain")
    eval_every: int = Field(default=2, ge=1)
    threads: int = Field(
        default=TORCH_THREADS,
        ge=1,
        description="torch threads (the [torch] threads setting); results depend on it",
    )


class LightGCN(Recommender):
    """Embeddings averaged over K propagation layers of the symmetric-normalised graph."""

    name = "lightgcn"
    config_class = LightGCNConfig
    _cache: torch.Tensor | None = None

    def fit(self, data: TrainData, on_epoch: EpochCallback | None = None) -> Self:
        """Train with BPR on (user, item, random negative), early stopping on validation NDCG@10."""
        cfg = self.config
        assert isinstance(cfg, LightGCNConfig)
        gen = setup_torch(cfg.seed, cfg.threads)
        nu, ni = data.n_users, data.n_items
        m = data.user_item_matrix().tocoo()
        self.graph = _normalised_adjacency(m.row, m.col, nu, ni)
        self.emb = torch.nn.Embedding(nu + ni, cfg.dim)
        torch.nn.init.normal_(self.emb.weight, std=0.1, generator=gen)
        self.nu = nu
        u_all = torch.as_tensor(m.row, dtype=torch.long)
        i_all = torch.as_tensor(m.col, dtype=torch.long)
        opt = torch.optim.Adam(self.emb.parameters(), lr=cfg.lr)
        stopper = EarlyStopping(cfg.patience)
        self.fitted = True
        for epoch in range(1, cfg.epochs + 1):
            order = torch.randperm(len(u_all), generator=gen)
            total = 0.0
            for start in range(0, len(order), cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                u, p = u_all[idx], i_all[idx] + nu
                n = torch.randint(0, ni, (len(idx),), generator=gen) + nu
                final = self._propagate()
                eu, ep, en = final[u], final[p], final[n]
                diff = (eu * ep).sum(-1) - (eu * en).sum(-1)
                e0 = self.emb.weight
                reg = (e0[u].pow(2).sum() + e0[p].pow(2).sum() + e0[n].pow(2).sum()) / len(idx)
                loss = -torch.nn.functional.logsigmoid(diff).mean() + cfg.reg * reg / 2
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            self._cache = None
            logs = {"loss": total / max(1, len(order))}
            stop = False
            if data.valid is not None and epoch % cfg.eval_every == 0:
                logs["valid_ndcg10"] = ndcg10_on(self, data.valid)
                stop = stopper.check(logs["valid_ndcg10"], epoch, self.emb)
            if on_epoch:
                on_epoch(epoch, cfg.epochs, logs)
            if stop:
                break
        stopper.restore(self.emb)
        self._cache = None
        self.best_epoch = stopper.best_epoch or cfg.epochs
        return self

    def _propagate(self) -> torch.Tensor:
        """Return the mean of the layer-0..K embeddings."""
        cfg = self.config
        assert isinstance(cfg, LightGCNConfig)
        x = self.emb.weight
        acc = x
        for _ in range(cfg.layers):
            x = torch.sparse.mm(self.graph, x)
            acc = acc + x
        return acc / (cfg.layers + 1)

    @torch.no_grad()
    def score(
        self, users: np.ndarray, histories: list[np.ndarray], candidates: np.ndarray | None
    ) -> np.ndarray:
        """Return dot products of the propagated user and item embeddings."""
        self._check_fitted()
        final = self._cache
        if final is None:
            final = self._cache = self._propagate()
        eu = final[torch.as_tensor(users, dtype=torch.long)]
        items = final[self.nu :]
        if candidates is None:
            return (eu @ items.T).numpy()
        safe = torch.as_tensor(np.where(candidates >= 0, candidates, 0), dtype=torch.long)
        return torch.einsum("bd,bcd->bc", eu, items[safe]).numpy()


def _normalised_adjacency(rows: np.ndarray, cols: np.ndarray, nu: int, ni: int) -> torch.Tensor:
    """Return D^-1/2 A D^-1/2 of the bipartite graph as a sparse CSR tensor."""
    src = np.concatenate([rows, cols + nu])
    dst = np.concatenate([cols + nu, rows])
    deg = np.bincount(src, minlength=nu + ni).astype(np.float64)
    inv = np.zeros_like(deg)
    np.power(deg, -0.5, out=inv, where=deg > 0)  # nodes without edges keep 0, and no warning
    vals = (inv[src] * inv[dst]).astype(np.float32)
    coo = torch.sparse_coo_tensor(
        torch.as_tensor(np.stack([src, dst]), dtype=torch.long),
        torch.as_tensor(vals),
        (nu + ni, nu + ni),
        check_invariants=False,  # built just above from valid indices
    ).coalesce()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
        return coo.to_sparse_csr()
