"""Torch helpers every trained model shares: threads, seeded generators, early stopping."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

import torch

logger = logging.getLogger(__name__)


def use_threads(threads: int, *, deterministic: bool = True) -> None:
    """Run torch's CPU ops on THREADS intra-op threads, with kernels that add in a fixed order.

    With two threads or more, some CPU kernels add floats in whatever order the threads get
    there: the backward of `x[index]` with repeated indices (MOTE's item gather, the baselines'
    embedding lookups) uses atomic adds, so two runs of one command differed by about 1e-7, and
    more often the busier the cores. Deterministic mode runs those kernels in order; its other
    effect, filling new tensors with NaN to catch reads of uninitialised memory, only costs time
    and stays off. On CUDA (DETERMINISTIC False) it would refuse cuBLAS without an environment
    variable set before CUDA starts, so GPU runs are not bitwise reproducible.
    """
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)
    torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]


def setup_torch(seed: int, threads: int, device: str = "cpu") -> torch.Generator:
    """Use THREADS deterministic threads; return a generator seeded with SEED (no global RNG)."""
    use_threads(threads, deterministic=device == "cpu")
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
