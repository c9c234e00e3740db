"""MOTE checkpoints: config, weights and a fingerprint of the data and the text encoder."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from m3rec.embeddings import MODEL_NAME, texts_key
from m3rec.encoders.config import MoteConfig
from m3rec.encoders.errors import CheckpointError
from m3rec.files import write_atomically
from m3rec.settings import TORCH_THREADS

FORMAT = "m3rec-mote/1"


@dataclass(frozen=True)
class Fingerprint:
    """What a checkpoint was trained on: the dataset and the text encoder over its items."""

    dataset: str
    n_users: int
    n_items: int
    data_hash: str  # item ids and every user's sequence, in order
    text_encoder: str
    text_hash: str  # the encoder name and the exact item texts it embedded


def fingerprint(
    dataset: str,
    item_ids: list[str],
    sequences: list[np.ndarray],
    item_texts: list[str],
    text_encoder: str = MODEL_NAME,
) -> Fingerprint:
    """Return the fingerprint of a dataset's items, sequences and item texts."""
    h = hashlib.sha256()
    for item in item_ids:
        h.update(item.encode("utf-8", "surrogatepass") + b"\x00")
    for seq in sequences:
        h.update(np.asarray(seq, dtype=np.int64).tobytes() + b"\xff" * 8)
    return Fingerprint(
        dataset,
        len(sequences),
        len(item_ids),
        h.hexdigest()[:32],
        text_encoder,
        texts_key(item_texts, text_encoder),
    )


@dataclass
class Checkpoint:
    """A trained MOTE encoder's state, its configuration and what it was trained on."""

    config: MoteConfig
    weights: dict[str, torch.Tensor]
    fingerprint: Fingerprint
    metrics: dict[str, float]


def save_checkpoint(path: Path, ckpt: Checkpoint) -> None:
    """Write `ckpt` to `path` atomically (temp file, then rename)."""
    payload: dict[str, Any] = {
        "format": FORMAT,
        "config": ckpt.config.model_dump(),
        "weights": {k: v.detach().cpu() for k, v in ckpt.weights.items()},
        "fingerprint": asdict(ckpt.fingerprint),
        "metrics": dict(ckpt.metrics),
    }
    try:
        write_atomically(path, lambda tmp: torch.save(payload, tmp))
    except OSError as e:
        raise CheckpointError(
            f"cannot write the checkpoint {path}: {e.strerror or e}; choose a writable --out"
        ) from None


def load_checkpoint(path: Path, expected: Fingerprint | None = None) -> Checkpoint:
    """Read a checkpoint; refuse one whose fingerprint differs from `expected`."""
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train one with `m3rec train --out {path}`")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError("not a MOTE checkpoint")
        ckpt = Checkpoint(
            MoteConfig.model_validate(_upgrade_config(payload["config"])),
            dict(payload["weights"]),
            Fingerprint(**payload["fingerprint"]),
            dict(payload["metrics"]),
        )
    except Exception as e:
        raise CheckpointError(
            f"{path} is not a readable MOTE checkpoint ({type(e).__name__}); "
            "retrain it with `m3rec train`"
        ) from None
    if expected is not None:
        check_fingerprint(path, ckpt.fingerprint, expected)
    return ckpt


def _upgrade_config(config: dict[str, Any]) -> dict[str, Any]:
    # Checkpoints written before the [torch] threads setting recorded threads=None ("all cores"
    # at training time, unknown now); they score on the default thread count.
    if config.get("threads", TORCH_THREADS) is None:
        return {**config, "threads": TORCH_THREADS}
    return config


def check_fingerprint(path: Path, found: Fingerprint, expected: Fingerprint) -> None:
    """Raise CheckpointError naming the first difference between two fingerprints."""
    fix = f"retrain with `m3rec train --data ... --out {path}` or pass the data it was trained on"
    if found.text_encoder != expected.text_encoder:
        raise CheckpointError(
            f"checkpoint {path} used the text encoder {found.text_encoder}, not "
            f"{expected.text_encoder}; {fix}"
        )
    if found.dataset != expected.dataset:
        raise CheckpointError(
            f"checkpoint {path} was trained on dataset {found.dataset!r}, not "
            f"{expected.dataset!r}; {fix}"
        )
    if (found.n_users, found.n_items, found.data_hash) != (
        expected.n_users,
        expected.n_items,
        expected.data_hash,
    ):
        raise CheckpointError(
            f"checkpoint {path} was trained on other {found.dataset} data ({found.n_users} users, "
            f"{found.n_items} items, hash {found.data_hash[:8]}; now {expected.n_users} users, "
            f"{expected.n_items} items, hash {expected.data_hash[:8]}); {fix}"
        )
    if found.text_hash != expected.text_hash:
        raise CheckpointError(
            f"checkpoint {path} embedded other item texts (hash {found.text_hash[:8]}, now "
            f"{expected.text_hash[:8]}); {fix}"
        )
