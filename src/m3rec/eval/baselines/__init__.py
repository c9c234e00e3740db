"""Baseline recommenders behind one interface, built by name."""

from __future__ import annotations

import importlib
import re
from typing import Any

from m3rec.ranking.contract import (
    EpochCallback,
    EvalCases,
    ModelConfig,
    Recommender,
    TrainData,
)

# name -> "module:Class"; imported on demand so that listing models never loads torch.
REGISTRY: dict[str, str] = {
    "pop": "m3rec.eval.baselines.simple:Pop",
    "itemknn": "m3rec.eval.baselines.simple:ItemKNN",
    "bprmf": "m3rec.eval.baselines.bprmf:BPRMF",
    "sasrec": "m3rec.eval.baselines.sasrec:SASRec",
    "lightgcn": "m3rec.eval.baselines.lightgcn:LightGCN",
    "textsim": "m3rec.eval.baselines.textsim:TextSim",
    "llmrank": "m3rec.eval.methods:LLMRank",
    "mote": "m3rec.encoders.recommender:MoteRecommender",
    "m3rec": "m3rec.eval.methods:M3Rec",
    "m3rec-llm": "m3rec.eval.methods:M3RecLLM",
    "m3rec-history": "m3rec.eval.methods:M3RecHistory",
    "notesim": "m3rec.eval.methods:NoteSim",
}
# m3rec's own models and its ablations; and the baseline that needs an LLM, which `evaluate`
# runs only when named.
METHODS: tuple[str, ...] = ("mote", "m3rec", "m3rec-llm", "m3rec-history", "notesim")
LLM_BASELINES: tuple[str, ...] = ("llmrank",)
# What `evaluate` runs by default and what the baseline contract tests cover.
BASELINES: tuple[str, ...] = tuple(
    n for n in REGISTRY if n not in METHODS and n not in LLM_BASELINES
)


VARIANT = re.compile(r"^([a-z0-9-]+)@([a-z0-9_-]+)$")


def base_model(name: str) -> str:
    """Return the registered model that NAME runs: NAME itself, or for a variant `MODEL@TAG`
    (the same model under its own settings, reported under its own name), MODEL."""
    variant = VARIANT.match(name)
    return variant.group(1) if variant else name


def is_model(name: str) -> bool:
    """Return whether NAME is a registered model or a variant (`MODEL@TAG`) of one."""
    return base_model(name) in REGISTRY


def compared_with(name: str) -> str | None:
    """Return the model NAME is tested against when both run: a variant's base model, or the
    model its class builds on (`builds_on`: m3rec on mote), if any."""
    if (base := base_model(name)) != name:
        return base
    return getattr(model_class(name), "builds_on", None)


def model_class(name: str) -> type[Recommender]:
    """Return the recommender class registered under `name` (or a variant's base model)."""
    base = base_model(name)
    if base not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    module, cls = REGISTRY[base].split(":")
    return getattr(importlib.import_module(module), cls)


def build_model(name: str, seed: int = 0, **overrides: Any) -> Recommender:
    """Build the model `name` with its default config, `seed` and any config overrides."""
    return model_class(name)(seed=seed, **overrides)


def register_model(name: str, target: str) -> None:
    """Register a recommender ("module:Class") under `name`, e.g. a later MOTE model."""
    REGISTRY[name] = target


__all__ = [
    "BASELINES",
    "LLM_BASELINES",
    "METHODS",
    "REGISTRY",
    "EpochCallback",
    "EvalCases",
    "ModelConfig",
    "Recommender",
    "TrainData",
    "base_model",
    "build_model",
    "compared_with",
    "is_model",
    "model_class",
    "register_model",
]
