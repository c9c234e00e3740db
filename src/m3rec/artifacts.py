"""What a command builds from the data on first use and caches: the MOTE checkpoint, keyed by a
fingerprint of the data and of every setting that changes the trained weights."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from m3rec.data import Dataset, index_dataset
from m3rec.encoders.checkpoint import FORMAT, fingerprint, load_checkpoint
from m3rec.encoders.config import MoteConfig
from m3rec.encoders.errors import CheckpointError
from m3rec.encoders.pipeline import EmbedProgress, train_mote
from m3rec.errors import CacheDirError
from m3rec.ranking.contract import EpochCallback
from m3rec.ranking.training_data import VALID_USERS
from m3rec.settings import Settings

logger = logging.getLogger(__name__)

# What `m3rec train` uses when given no flags: seed 0, MoteConfig's defaults (settings.MOTE_*),
# on the CPU, with the [torch] threads setting and VALID_USERS validation users.
SEED = 0

# One build at a time in a process: two threads building one path would share its temporary
# file (named by process); across processes each writes its own and the rename is atomic.
_building = threading.Lock()


@dataclass(frozen=True)
class BuiltCheckpoint:
    """A cached MOTE checkpoint: its path and key, whether this call trained it, its seconds."""

    path: Path
    key: str
    built: bool
    seconds: float


def mote_config(settings: Settings) -> MoteConfig:
    """Return the MOTE configuration `m3rec train` uses with no flags under SETTINGS."""
    return MoteConfig(seed=SEED, threads=settings.torch.threads)


def checkpoint_key(dataset: Dataset, settings: Settings) -> str:
    """Return the short hash that names DATASET's cached checkpoint under SETTINGS."""
    indexed = index_dataset(dataset)
    fp = fingerprint(indexed.name, indexed.item_ids, indexed.sequences, indexed.item_texts)
    return _key(asdict(fp), mote_config(settings))


def checkpoint_path(dataset: Dataset, settings: Settings, key: str) -> Path:
    """Return where DATASET's checkpoint with KEY is cached."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset.name).strip(".-") or "data"
    return settings.paths.cache_dir / "checkpoints" / f"{safe}-{key}.pt"


def ensure_checkpoint(
    settings: Settings,
    dataset: Dataset,
    *,
    on_embed: EmbedProgress | None = None,
    on_epoch: EpochCallback | None = None,
) -> BuiltCheckpoint:
    """Return DATASET's cached MOTE checkpoint, training it first if none usable is cached."""
    started = time.perf_counter()
    indexed = index_dataset(dataset)
    fp = fingerprint(indexed.name, indexed.item_ids, indexed.sequences, indexed.item_texts)
    config = mote_config(settings)
    key = _key(asdict(fp), config)
    path = checkpoint_path(dataset, settings, key)
    with _building:
        if path.exists():
            try:
                load_checkpoint(path, fp)
                return BuiltCheckpoint(path, key, False, time.perf_counter() - started)
            except CheckpointError as e:  # its advice (after the last "; ") is to retrain
                reason = str(e).rsplit("; ", 1)[0]
                logger.warning("rebuilding the cached MOTE checkpoint: %s", reason)
        _check_writable(path.parent)
        train_mote(
            dataset,
            path,
            seed=config.seed,
            overrides=config.model_dump(exclude={"seed"}),
            valid_users=VALID_USERS,
            cache_dir=settings.paths.embeddings_dir,
            on_embed=on_embed,
            on_epoch=on_epoch,
        )
    return BuiltCheckpoint(path, key, True, time.perf_counter() - started)


def _key(data: dict[str, Any], config: MoteConfig) -> str:
    # The trained weights depend on the data, the configuration (seed and threads included),
    # the validation users, the checkpoint format and the code: m3rec's and torch's versions.
    recipe = {
        "format": FORMAT,
        "data": data,
        "config": config.model_dump(mode="json"),
        "valid_users": VALID_USERS,
        "versions": {name: _version(name) for name in ("m3rec", "torch")},
    }
    blob = json.dumps(recipe, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _check_writable(folder: Path) -> None:
    """Fail in one line, before any training, when FOLDER cannot hold the checkpoint."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CacheDirError(
            f"cannot create the checkpoint cache {folder}: {e.strerror or e}; set "
            "paths.cache_dir (M3REC_PATHS__CACHE_DIR) to a writable folder or pass --checkpoint"
        ) from None
    if not os.access(folder, os.W_OK):
        raise CacheDirError(
            f"cannot write the checkpoint cache {folder}; set paths.cache_dir "
            "(M3REC_PATHS__CACHE_DIR) to a writable folder or pass --checkpoint"
        )
