"""The LLM's order of a short candidate list (prompt `order/v1`), shared by MAR's optional
re-ordering and the harness's LLM re-rankers (`llmrank` from the history alone, `m3rec-llm`
with the motivations too).

Candidates are shown by number, not by catalogue id: the grammar lets the reply hold only those
numbers, and an id the model has seen elsewhere cannot pull it. A number the reply repeats
counts once; one it leaves out keeps its place after the ordered ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from m3rec import prompts
from m3rec.agents.reasons import clean
from m3rec.errors import Usage
from m3rec.llm.base import LLMBackend, structured
from m3rec.schemas import ChatMessage
from m3rec.settings import MAX_REORDER as MAX_CANDIDATES

PROMPT = ("order", "v1")
_TOKENS_FRAME = 16
_TOKENS_PER_LABEL = 4  # a number, its quotes and the separator


class OrderReply(BaseModel):
    """The LLM's reply: candidate numbers, best first."""

    order: list[str]


@dataclass(frozen=True)
class Ordered:
    """Positions into the candidates, best first (every position once), and what it cost."""

    positions: list[int]
    usage: Usage = field(default_factory=Usage)
    complete: bool = True  # False when the reply left some candidates out


def order_messages(
    history: Sequence[str], motivations: Sequence[str], candidates: Sequence[str]
) -> list[ChatMessage]:
    """Return the chat asking for an order of CANDIDATES (texts), given the texts of the
    person's HISTORY (oldest first) and, where known, their MOTIVATIONS (note texts)."""
    shown = "\n".join(f"- {clean(h, 120)}" for h in history) or "- (nothing yet)"
    why = (
        "Their motivations:\n" + "\n".join(f"- {clean(m, 160)}" for m in motivations) + "\n"
        if motivations
        else ""
    )
    listed = "\n".join(f"{i + 1}. {clean(c, 160)}" for i, c in enumerate(candidates))
    return prompts.render(*PROMPT, history=shown, motivations=why, candidates=listed).messages


def order_schema(n: int) -> dict[str, Any]:
    """Return the generation schema: a list of the numbers 1..N, N long."""
    labels = [str(i + 1) for i in range(n)]
    return {
        "type": "object",
        "properties": {
            "order": {
                "type": "array",
                "items": {"type": "string", "enum": labels},
                "minItems": n,
                "maxItems": n,
            }
        },
        "required": ["order"],
        "additionalProperties": False,
    }


def order_candidates(
    llm: LLMBackend,
    history: Sequence[str],
    motivations: Sequence[str],
    candidates: Sequence[str],
) -> Ordered:
    """Ask LLM to order CANDIDATES for this person (one structured call, one repair).

    Raises StructuredOutputError when neither reply fits the schema."""
    n = len(candidates)
    if not 1 <= n <= MAX_CANDIDATES:
        raise ValueError(f"an LLM order takes 1 to {MAX_CANDIDATES} candidates, got {n}")
    result = structured(
        llm,
        order_messages(history, motivations, candidates),
        OrderReply,
        json_schema=order_schema(n),
        max_tokens=_TOKENS_FRAME + _TOKENS_PER_LABEL * n,
    )
    valid = {str(i + 1): i for i in range(n)}
    head = list(dict.fromkeys(valid[x] for x in result.value.order if x in valid))
    rest = [i for i in range(n) if i not in set(head)]
    return Ordered(head + rest, result.usage, complete=not rest)
