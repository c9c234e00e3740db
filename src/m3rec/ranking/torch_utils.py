"""Torch helpers every trained model shares: threads, seeded generators, early stopping."""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import torch

from m3rec.ranking.contract import available_threads

logger = logging.getLogger(__name__)


def torch_threads() -> int:
    """Return $M3REC_TORCH_THREADS, else the cores this process may use.

    On a machine whose cores are busy with other work, one thread is often much faster than
    several: OpenMP threads spin waiting for each other when they cannot all run.
    """
    raw = os.environ.get("M3REC_TORCH_THREADS", "").strip()
    return max(1, int(raw)) if raw.isdigit() else available_threads()


def setup_torch(seed: int, threads: int | None = None) -> torch.Generator:
    """Set torch's thread count and return a generator seeded with `seed` (no global RNG)."""
    threads = threads or torch_threads()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


@dataclass
class EarlyStopping:
    """Keep the best weights by a validation score; stop after `patience` checks without gain."""

    patience: int
    best: float = float("-inf")
    best_epoch: int = 0
    bad_checks: int = 0
    state: dict[str, Any] | None = field(default=None, repr=False)

    def check(self, score: float, epoch: int, module: torch.nn.Module) -> bool:
        """Record `score` at `epoch`; return True when training should stop."""
        if score > self.best:
            self.best, self.best_epoch, self.bad_checks = score, epoch, 0
            self.state = copy.deepcopy(module.state_dict())
            return False
        self.bad_checks += 1
        return self.bad_checks >= self.patience

    def restore(self, module: torch.nn.Module) -> None:
        """Load the best weights seen, if any check was made."""
        if self.state is not None:
            module.load_state_dict(self.state)
