"""The model contract every recommender implements, its training data, and the rank metrics.

A leaf package: the evaluation harness (`m3rec.eval`) and the MOTE encoder (`m3rec.encoders`) both
build on it, and it imports neither.
"""

from m3rec.ranking.contract import (
    EpochCallback,
    EvalCases,
    ModelConfig,
    Recommender,
    TrainData,
)

__all__ = ["EpochCallback", "EvalCases", "ModelConfig", "Recommender", "TrainData"]
