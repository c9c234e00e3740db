"""BPR matrix factorisation (Rendle et al. 2009) in torch."""

from __future__ import annotations

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


class BPRMFConfig(ModelConfig):
    """BPR-MF hyperparameters."""

    dim: int = Field(default=64, ge=1)
    epochs: int = Field(default=60, ge=1)
    batch_size: int = Field(default=4096, ge=1)
    lr: float = Field(default=3e-3, gt=0)
    reg: float = Field(default=1e-4, ge=0, description="L2 on the batch's embeddings")
    patience: int = Field(default=3, ge=1, description="validation checks without gain")
    eval_every: int = Field(default=2, ge=1)
    threads: int = Field(
        default=TORCH_THREADS,
        ge=1,
        description="torch threads (the [torch] threads setting); results depend on it",
    )


class BPRMF(Recommender):
    """Dot product of learned user and item vectors, trained with the BPR pairwise loss."""

    name = "bprmf"
    config_class = BPRMFConfig

    def fit(self, data: TrainData, on_epoch: EpochCallback | None = None) -> Self:
        """Train on (user, item, random negative) triples, early stopping on validation NDCG@10."""
        cfg = self.config
        assert isinstance(cfg, BPRMFConfig)
        gen = setup_torch(cfg.seed, cfg.threads)
        self.users = torch.nn.Embedding(data.n_users, cfg.dim)
        self.items = torch.nn.Embedding(data.n_items, cfg.dim)
        for emb in (self.users, self.items):
            torch.nn.init.normal_(emb.weight, std=0.1, generator=gen)
        module = torch.nn.ModuleList([self.users, self.items])
        m = data.user_item_matrix().tocoo()
        u_all = torch.as_tensor(m.row, dtype=torch.long)
        i_all = torch.as_tensor(m.col, dtype=torch.long)
        opt = torch.optim.Adam(module.parameters(), lr=cfg.lr)
        stopper = EarlyStopping(cfg.patience)
        self.fitted = True
        for epoch in range(1, cfg.epochs + 1):
            order = torch.randperm(len(u_all), generator=gen)
            total = 0.0
            for start in range(0, len(order), cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                u, p = u_all[idx], i_all[idx]
                n = torch.randint(0, data.n_items, (len(idx),), generator=gen)
                eu, ep, en = self.users(u), self.items(p), self.items(n)
                diff = (eu * ep).sum(-1) - (eu * en).sum(-1)
                reg = (eu.pow(2).sum() + ep.pow(2).sum() + en.pow(2).sum()) / len(idx)
                loss = -torch.nn.functional.logsigmoid(diff).mean() + cfg.reg * reg
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            logs = {"loss": total / max(1, len(order))}
            stop = False
            if data.valid is not None and epoch % cfg.eval_every == 0:
                logs["valid_ndcg10"] = ndcg10_on(self, data.valid)
                stop = stopper.check(logs["valid_ndcg10"], epoch, module)
            if on_epoch:
                on_epoch(epoch, cfg.epochs, logs)
            if stop:
                break
        stopper.restore(module)
        self.best_epoch = stopper.best_epoch or cfg.epochs
        return self

    @torch.no_grad()
    def score(
        self, users: np.ndarray, histories: list[np.ndarray], candidates: np.ndarray | None
    ) -> np.ndarray:
        """Return user-item dot products."""
        self._check_fitted()
        eu = self.users.weight[torch.as_tensor(users, dtype=torch.long)]
        if candidates is None:
            return (eu @ self.items.weight.T).numpy()
        safe = torch.as_tensor(np.where(candidates >= 0, candidates, 0), dtype=torch.long)
        return torch.einsum("bd,bcd->bc", eu, self.items.weight[safe]).numpy()
