"""Item traits by LLM, in batches, stored beside the metadata traits of `m3rec.data.traits`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, field_validator

from m3rec import prompts
from m3rec.data import Item
from m3rec.data.traits import METADATA_SOURCE, metadata_traits
from m3rec.errors import LLMError
from m3rec.llm.base import LLMBackend, structured

LLM_BATCH = 8
_MAX_TEXT = 240


class ItemTraitsDraft(BaseModel):
    """Traits of one item as the LLM writes them."""

    id: str
    traits: list[Annotated[str, StringConstraints(min_length=2, max_length=48)]] = Field(
        min_length=1, max_length=4
    )

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_string(cls, value: Any) -> Any:
        return str(value).strip().strip("[]") if value is not None else value


class TraitsBatch(BaseModel):
    """The LLM's reply for one batch of items."""

    items: list[ItemTraitsDraft] = Field(min_length=1, max_length=LLM_BATCH)


def trait_key(item: Item, source: str) -> str:
    """Return a deterministic key: same item text and same source (prompt, model), same key."""
    digest = hashlib.sha256(f"{source}\0{item.item_id}\0{item.text()}".encode())
    return digest.hexdigest()[:32]


def format_items(items: list[Item]) -> str:
    """Render items as quoted data lines for the traits prompt."""
    lines = []
    for item in items:
        lines.append(f"[{item.item_id}] {prompts.data_text(item.text(), _MAX_TEXT)}")
    return "\n".join(lines)


def llm_traits(llm: LLMBackend, items: list[Item]) -> dict[str, list[str]]:
    """Ask the LLM for the traits of up to LLM_BATCH items; ids it invents are dropped."""
    prompt = prompts.render("traits", items=format_items(items))
    result = structured(llm, prompt.messages, TraitsBatch)
    wanted = {item.item_id for item in items}
    found: dict[str, list[str]] = {}
    for entry in result.value.items:
        if entry.id in wanted and entry.id not in found:
            found[entry.id] = [t.strip() for t in entry.traits if t.strip()]
    return found


def distil_traits(
    items: list[Item],
    store: Any,
    *,
    llm: LLMBackend | None = None,
    model_id: str = "",
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Store traits for ITEMS: from metadata, or by LLM in batches when given; skip cached ones."""
    source = METADATA_SOURCE
    if llm is not None:
        prompt_hash = prompts.render("traits", items="").template_hash
        source = f"traits/v1:{prompt_hash}:{model_id}"
    keys = {item.item_id: trait_key(item, source) for item in items}
    cached = store.get_traits(list(keys.values()))
    todo = [item for item in items if keys[item.item_id] not in cached]
    stats = {"items": len(items), "cache_hits": len(items) - len(todo), "llm_calls": 0, "failed": 0}
    batch_size = LLM_BATCH if llm is not None else 256
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        from_llm: dict[str, list[str]] = {}
        if llm is not None:
            stats["llm_calls"] += 1
            try:
                from_llm = llm_traits(llm, batch)
            except LLMError:
                stats["failed"] += len(batch)
                continue
        records = []
        for item in batch:
            traits = from_llm.get(item.item_id) or metadata_traits(item)
            record = {
                "traits": traits,
                "source": source if item.item_id in from_llm else METADATA_SOURCE,
            }
            records.append((keys[item.item_id], item.item_id, record))
        store.put_traits(records)
        if on_progress:
            on_progress(len(batch))
    return stats
