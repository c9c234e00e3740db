"""Shared torch training helpers: threads, seeded generators, early stopping on validation."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

import torch

from m3rec.eval.baselines.base import available_threads

logger = logging.getLogger(__name__)


def setup_torch(seed: int) -> torch.Generator:
    """Use all available cores and return a generator seeded with `seed` (no global state)."""
    threads = available_threads()
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
