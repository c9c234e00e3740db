"""Train MOTE once on the MovieLens slice, as `m3rec train` does, in a process of its own.

Run by test_determinism as `python -m tests.encoders.train_once OUT`: settings come from the
environment (M3REC_TORCH__THREADS, M3REC_PATHS__CACHE_DIR); the checkpoint goes to OUT, and the
thread count torch trained on is printed as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch

from m3rec.data import index_dataset, leave_one_out, load_dataset
from m3rec.encoders.checkpoint import fingerprint, save_checkpoint
from m3rec.encoders.recommender import MoteRecommender
from m3rec.ranking.training_data import train_data
from m3rec.settings import load_settings

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "ml-latest-slice"
# Ten epochs of dim 64: enough atomic adds that, with nondeterministic kernels, two runs at two
# threads on loaded cores differed every time (10 of 10); still well under a second of training.
SIZE: dict[str, Any] = {"epochs": 10, "patience": 10, "dim": 64}


def main(out: Path) -> None:
    settings = load_settings()
    data = index_dataset(load_dataset(SLICE))
    model = MoteRecommender(
        cache_dir=settings.paths.embeddings_dir, threads=settings.torch.threads, **SIZE
    )
    model.fit(train_data(data, leave_one_out(data), 0))
    fp = fingerprint(data.name, data.item_ids, data.sequences, data.item_texts)
    save_checkpoint(out, model.to_checkpoint(fp))
    print(json.dumps({"torch_threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
