"""MAR's explain step: ask the LLM to word a reason for each top item (prompt `mar/v2`, or
`mar/v1` by `mar.reasons_prompt`).

What each reason may say is fixed before the LLM is asked: the motivation the scorer matched
the item to, that motivation's evidence items and the item's own details; the reply can cite
only those evidence ids, and the checker reads the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from m3rec import prompts
from m3rec.agents.mope_drafts import KIND_WORDS
from m3rec.agents.reason_drafts import (
    PROMPT,
    ItemReason,
    ReasonDraft,
    ReasonsReply,
    item_details,
    reasons_request,
)
from m3rec.data.traits import metadata_traits
from m3rec.data.types import Item
from m3rec.errors import Usage
from m3rec.llm.base import REPAIR_TEMPERATURE, LLMBackend, OnText, structured
from m3rec.schemas import AlignedItem, ChatMessage, HistoryEntry, MotivationProfile

MAX_DETAILS = 220
REPAIR_RULE = "\nEarlier reasons for these items were rejected; write new ones.\n"


@dataclass(frozen=True)
class DraftedReasons:
    """The LLM's reasons for some items, and what they cost."""

    drafts: list[ReasonDraft]
    usage: Usage = field(default_factory=Usage)


def clean(text: str, limit: int = MAX_DETAILS) -> str:
    """Return catalogue TEXT as the reasons prompt shows it (`prompts.data_text`)."""
    return prompts.data_text(text, limit)


def motivation_words(profile: MotivationProfile, index: int) -> str:
    """Return a motivation as the prompt names it: label (kind words): description."""
    m = profile.motivations[index]
    kind = f" ({KIND_WORDS[m.kind]})" if m.kind in KIND_WORDS else ""
    return f"{m.label}{kind}: {m.description}"


def describe_item(
    item: Item,
    aligned: AlignedItem,
    profile: MotivationProfile,
    titles: Mapping[str, str],
) -> str:
    """Return the lines the prompt shows for one item: its details, the motivation it serves
    and the history items that show that motivation."""
    parts = [f"item [{item.item_id}] {clean(item.text())}"]
    if traits := metadata_traits(item):
        parts.append(f"traits: {clean(', '.join(traits), 120)}")
    lines = [" | ".join(parts)]
    if aligned.motivation is not None:
        lines.append(f"  motivation: {clean(motivation_words(profile, aligned.motivation))}")
    cited = "; ".join(f"[{i}] {clean(titles.get(i, i), 80)}" for i in aligned.evidence)
    lines.append(f"  history: {cited or '(none)'}")
    return "\n".join(lines)


def reasons_messages(
    items: Mapping[str, Item],
    aligned: Sequence[AlignedItem],
    profile: MotivationProfile,
    history: Sequence[HistoryEntry],
    *,
    repair: Mapping[str, str] | None = None,
    version: str = PROMPT[1],
) -> list[ChatMessage]:
    """Return the chat asking for reasons on ALIGNED under prompt mar/VERSION; REPAIR maps an
    item id to what was wrong with its last reason."""
    titles = {h.item_id: h.title or h.text for h in history}
    block = "\n".join(describe_item(items[a.item_id], a, profile, titles) for a in aligned)
    repair_rule = ""
    if repair:
        notes = "".join(f"[{item}]: {note}\n" for item, note in repair.items())
        repair_rule = REPAIR_RULE + notes
    return prompts.render(PROMPT[0], version, items=block, repair_rule=repair_rule).messages


def draft_reasons(
    llm: LLMBackend,
    items: Mapping[str, Item],
    aligned: Sequence[AlignedItem],
    profile: MotivationProfile,
    history: Sequence[HistoryEntry],
    *,
    repair: Mapping[str, str] | None = None,
    on_text: OnText | None = None,
    version: str = PROMPT[1],
) -> DraftedReasons:
    """Ask LLM for a reason for each of ALIGNED (one structured call, one schema repair); with
    REPAIR, a regeneration at the repair temperature; ON_TEXT is told each reply as it grows
    (`reason_stream.closed_reasons` reads the reasons out of it). Raises StructuredOutputError
    on garbage. VERSION is the prompt's (v2 adds each item's `detail`)."""
    evidence = {a.item_id: list(a.evidence) for a in aligned}
    titles = {a.item_id: items[a.item_id].title for a in aligned}
    details = (
        {a.item_id: item_details(items[a.item_id]) for a in aligned} if version != "v1" else None
    )
    request = reasons_request(evidence, titles, details)
    messages = reasons_messages(items, aligned, profile, history, repair=repair, version=version)
    result = structured(
        llm,
        messages,
        ReasonsReply,
        json_schema=request.json_schema,
        max_tokens=request.max_tokens,
        temperature=REPAIR_TEMPERATURE if repair else None,
        on_text=on_text,
    )
    labels = motivation_labels(aligned, profile)
    drafts = [to_draft(item, r, labels.get(item, "")) for item, r in result.value.reasons.items()]
    return DraftedReasons(drafts, result.usage)


def motivation_labels(aligned: Sequence[AlignedItem], profile: MotivationProfile) -> dict[str, str]:
    """Return, by item id, the label of the motivation the scorer matched each item to."""
    return {
        a.item_id: profile.motivations[a.motivation].label if a.motivation is not None else ""
        for a in aligned
    }


def to_draft(item_id: str, reply: ItemReason, motivation: str) -> ReasonDraft:
    """Return one item's reason from the reply as the checker reads it."""
    return ReasonDraft(
        item_id=item_id,
        motivation=motivation,
        evidence=list(dict.fromkeys(reply.evidence)),  # the grammar cannot forbid repeats
        reason=reply.reason.strip(),
    )
