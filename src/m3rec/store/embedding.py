"""The project's own Chroma embedding function: all-MiniLM-L6-v2 from its PyPI package, offline."""

from __future__ import annotations

from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from m3rec.embeddings import load_text_encoder

EMBEDDING_NAME = "m3rec_minilm_l6_v2"


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Embed documents with the bundled all-MiniLM-L6-v2; never reaches a model hub."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def __call__(self, input: Documents) -> Embeddings:
        """Return one normalised 384-d vector per document."""
        model = load_text_encoder(self.device)
        vectors = model.encode(
            list(input), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    @staticmethod
    def name() -> str:
        """Return the name Chroma records with each collection."""
        return EMBEDDING_NAME

    def default_space(self) -> Any:
        """Use cosine distance: the vectors are normalised."""
        return "cosine"

    def supported_spaces(self) -> list[Any]:
        """List the distances that make sense for normalised vectors."""
        return ["cosine", "ip", "l2"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        """Rebuild the function when a persisted collection is reopened."""
        return MiniLMEmbeddingFunction(device=config.get("device", "cpu"))

    def get_config(self) -> dict[str, Any]:
        """Return what build_from_config needs."""
        return {"device": self.device}

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        """Allow a change of device; the model is fixed by the name."""

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        """Accept any device string."""
