"""Record raw replies of the real local models, for the replay backend in the unit tests.

Run: .venv/bin/python scripts/record_replies.py --prompt v1 \
         --out tests/fixtures/replies/mope_v1.json
Each entry keeps the raw text exactly as the model wrote it, the model, the prompt id and the
generation settings, so a test that replays it runs the real parser on a real shape.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from m3rec import prompts
from m3rec.agents.mope import format_history
from m3rec.agents.mope_drafts import draft_request
from m3rec.agents.traits import TraitsBatch, format_items
from m3rec.data import bundled_catalogue_path, load_dataset
from m3rec.data.histories import product_history
from m3rec.llm.base import ChatMessage
from m3rec.llm.llamacpp import LlamaCppBackend
from m3rec.llm.registry import MODELS, require_verified
from m3rec.settings import Settings

PREAMBLE = "Before the JSON, say in one sentence what you noticed."

# (key, model, user, constrained, max_tokens, extra instruction appended to the prompt, note)
CASES = [
    ("qwen15_constrained", "qwen2.5-1.5b", "398", True, 512, "", "grammar-constrained, valid"),
    ("qwen15_free", "qwen2.5-1.5b", "398", False, 512, "", "no grammar: fenced JSON or prose"),
    ("qwen15_preamble", "qwen2.5-1.5b", "12", False, 400, PREAMBLE, "chatty preamble"),
    ("qwen15_truncated", "qwen2.5-1.5b", "12", False, 60, "", "cut by max_tokens: truncated JSON"),
    ("qwen15_repair_source", "qwen2.5-1.5b", "12", True, 512, "", "grammar-constrained, valid"),
    ("qwen05_free", "qwen2.5-0.5b", "12", False, 400, "", "no grammar, smaller model"),
    ("smollm2_free", "smollm2-135m", "398", False, 200, "", "no grammar, tiny model: prose"),
    ("smollm2_constrained", "smollm2-135m", "12", True, 200, "", "grammar-constrained tiny model"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--only", default="", help="comma-separated keys to re-record; keep the rest"
    )
    parser.add_argument("--prompt", default="v1", help="MOPE prompt version (v1, v2)")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    settings = Settings()
    dataset = load_dataset(bundled_catalogue_path())
    recorded: dict[str, dict[str, object]] = (
        json.loads(args.out.read_text()) if only and args.out.exists() else {}
    )
    backends: dict[str, LlamaCppBackend] = {}
    for key, model, user, constrained, max_tokens, extra, note in CASES:
        if only and key not in only:
            continue
        if model not in backends:
            path = require_verified(MODELS[model], settings.paths.model_dir)
            backends[model] = LlamaCppBackend(path, model_name=model, n_ctx=4096, n_threads=1)
        history = product_history(dataset, user, 8)
        prompt = prompts.render("mope", args.prompt, history=format_history(history))
        messages = list(prompt.messages)
        if extra:
            last = messages[-1]
            messages[-1] = ChatMessage(last.role, f"{last.content}\n{extra}")
        request = draft_request(prompt.id, history)
        schema = request.json_schema if constrained else None
        if constrained and request.max_tokens:
            max_tokens = request.max_tokens  # v2: the bound that lets every reply finish
        completion = backends[model].complete(messages, json_schema=schema, max_tokens=max_tokens)
        recorded[key] = {
            "raw": completion.text,
            "model": model,
            "prompt_id": prompt.id,
            "user_id": user,
            "history_ids": [h.item_id for h in history],
            "constrained": constrained,
            "extra_instruction": extra,
            "max_tokens": max_tokens,
            "finish_reason": completion.finish_reason,
            "note": note,
        }
        print(key, repr(completion.text[:120]), flush=True)
        args.out.write_text(json.dumps(recorded, indent=2, ensure_ascii=False) + "\n")
    if args.prompt == "v1" and (not only or "qwen15_traits" in only):
        if "qwen2.5-1.5b" not in backends:
            path = require_verified(MODELS["qwen2.5-1.5b"], settings.paths.model_dir)
            backends["qwen2.5-1.5b"] = LlamaCppBackend(path, model_name="qwen2.5-1.5b", n_threads=1)
        record_traits(backends["qwen2.5-1.5b"], dataset, recorded)
    args.out.write_text(json.dumps(recorded, indent=2, ensure_ascii=False) + "\n")


def record_traits(
    backend: LlamaCppBackend, dataset, recorded: dict[str, dict[str, object]]
) -> None:
    """Record the traits prompt on 8 items: valid JSON whose keys are wrong for a profile."""
    items = [dataset.items[i] for i in ("1", "260", "296", "318", "356", "480", "527", "593")]
    prompt = prompts.render("traits", items=format_items(items))
    completion = backend.complete(prompt.messages, json_schema=TraitsBatch.model_json_schema())
    recorded["qwen15_traits"] = {
        "raw": completion.text,
        "model": "qwen2.5-1.5b",
        "prompt_id": prompt.id,
        "item_ids": [item.item_id for item in items],
        "constrained": True,
        "finish_reason": completion.finish_reason,
        "note": "traits batch; also valid JSON with the wrong keys for a profile",
    }
    print("qwen15_traits", repr(completion.text[:120]), flush=True)


if __name__ == "__main__":
    main()
