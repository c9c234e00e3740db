"""Record real reasons replies from each registry model for MAR's tests.

Run: .venv/bin/python scripts/record_reason_replies.py --out tests/fixtures/replies/mar_reasons.json
     [--models qwen2.5-1.5b,...] [--users 12,100]

Each case runs one user of the MovieLens slice in tests/fixtures (their 20 most recent items)
through the whole graph, as `m3rec recommend` does,
with a small MOTE checkpoint trained here (its settings are recorded, so the tests train the same
one and rank the same items). The user's profile comes from the recorded MOPE library (the
default model's replies); every reasons request goes to the real model, and its raw reply, the
items it was asked about, and the rules the checker found are kept, so a test can replay them
through the real parser and checker.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from m3rec.data import load_dataset
from m3rec.data.histories import HistoryRule
from m3rec.encoders.pipeline import train_mote
from m3rec.llm.base import ChatMessage, Completion, LLMBackend
from m3rec.llm.factory import LazyBackend, build_backend
from m3rec.llm.registry import MODELS
from m3rec.recommending import RecommendPipeline
from m3rec.settings import MarSettings, Settings, StoreSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import SMALL_MOTE
from tests.replies import LibraryReplies, item_ids_of

# Small enough to train in seconds in a test; the seed and threads fix the ranking.
# The nearest-item weight fixed as recorded (0): an `auto` choice would move the ranked items.
MOTE = {**SMALL_MOTE, "seed": 0, "maxpool_weight": 0.0}
# MAR's settings for the recording, kept in the fixture: a later default cannot change what
# the tests rank.
MAR = {"align_weight": 0.0, "reasons": 5, "reorder": False, "reasons_prompt": "v2"}
SLICE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "data" / "ml-latest-slice"
# user -> the history rule the recorded MOPE library holds a valid profile for
CASES = {"4": HistoryRule(n_items=20), "1": HistoryRule("test", 0)}


class Recording:
    """MOPE requests from the recorded library; reasons requests to MODEL, kept."""

    name = "recording"

    def __init__(self, model: LLMBackend) -> None:
        self.model, self.library = model, LibraryReplies()
        self.asked: list[dict[str, Any]] = []

    def complete(self, messages: list[ChatMessage], **kwargs: Any) -> Completion:
        if "<<<HISTORY" in messages[-1].content:
            return Completion(self.library(messages), 0, 0, 0.0)
        completion = self.model.complete(messages, **kwargs)
        self.asked.append({"items": item_ids_of(messages), "raw": completion.text})
        return completion

    def describe(self) -> dict[str, Any]:
        return self.model.describe()

    def close(self) -> None:
        self.model.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--users", default=",".join(CASES))
    args = parser.parse_args()
    settings = Settings(store=StoreSettings(kind="memory"), mar=MarSettings(**MAR))
    dataset = load_dataset(SLICE)
    recorded: dict[str, Any] = {"mote": MOTE, "mar": MAR, "cases": {}}
    if args.out.exists():
        recorded["cases"] = json.loads(args.out.read_text())["cases"]
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "mote.pt"
        overrides = {k: v for k, v in MOTE.items() if k != "seed"}
        train_mote(dataset, checkpoint, seed=MOTE["seed"], overrides=overrides)
        for name in args.models.split(","):
            chosen = settings.model_copy(deep=True)
            chosen.llm.model = name
            backend = Recording(build_backend(chosen))
            pipeline = RecommendPipeline(settings, dataset, checkpoint)
            pipeline.deps.llm = LazyBackend(lambda b=backend: b)  # type: ignore[misc]
            for user in args.users.split(","):
                backend.asked = []
                answer = pipeline.recommend(user, rule=CASES[user])
                recorded["cases"][f"{name}/{user}"] = {
                    "user_id": user,
                    "rule": CASES[user].context(dataset.name),
                    "asked": backend.asked,
                    "sources": {i: r.source for i, r in answer.reasons.items()},
                    "rejected": {i: list(r.rejected) for i, r in answer.reasons.items()},
                    "errors": answer.errors,
                }
                print(name, user, recorded["cases"][f"{name}/{user}"]["sources"], flush=True)
                args.out.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")
            pipeline.close()


if __name__ == "__main__":
    main()
