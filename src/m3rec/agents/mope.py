"""MOPE: write a user's motivation profile from their visible history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from m3rec import prompts
from m3rec.llm.base import LLMBackend, StructuredResult, structured

MAX_ITEM_TEXT = 300
_MARKERS = ("<<<HISTORY", "HISTORY>>>")


class MotivationDraft(BaseModel):
    """One motivation as the LLM writes it."""

    label: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1)
    evidence: list[str]
    strength: float = Field(ge=0.0, le=1.0)

    @field_validator("evidence", mode="before")
    @classmethod
    def _ids_as_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [str(v).strip().strip("[]") for v in value]
        return value


class ProfileDraft(BaseModel):
    """The LLM's whole reply: what the schema constrains generation to."""

    motivations: list[MotivationDraft] = Field(min_length=2, max_length=5)
    summary: str = Field(min_length=1)
    shift: str = Field(min_length=1)


class Motivation(BaseModel):
    """A validated motivation, its evidence checked against the history and dated by it."""

    label: str
    description: str
    evidence: list[str]
    strength: float
    first_seen: date | None
    last_seen: date | None


class MotivationProfile(BaseModel):
    """Why a user acts: 2 to 5 motivations, a summary and the recent shift."""

    user_id: str
    motivations: list[Motivation]
    summary: str
    shift: str
    prompt_id: str
    model: str
    dropped_evidence: int = 0


@dataclass(frozen=True)
class HistoryEntry:
    """One item of the visible history, as MOPE reads it."""

    item_id: str
    text: str
    rating: float | None
    timestamp: int | None

    @property
    def day(self) -> date | None:
        """Return the interaction date, if known."""
        if self.timestamp is None:
            return None
        return datetime.fromtimestamp(self.timestamp, tz=UTC).date()


def format_history(history: list[HistoryEntry]) -> str:
    """Render the history as one quoted line per item, oldest first."""
    lines = []
    for entry in history:
        text = " ".join(entry.text.split())
        for marker in _MARKERS:
            text = text.replace(marker, "")
        if len(text) > MAX_ITEM_TEXT:
            text = text[: MAX_ITEM_TEXT - 3] + "..."
        parts = [f"[{entry.item_id}] {text or '(no title)'}"]
        if entry.rating is not None:
            parts.append(f"rated {entry.rating:g}")
        if entry.day is not None:
            parts.append(entry.day.isoformat())
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def extract_profile(
    llm: LLMBackend, user_id: str, history: list[HistoryEntry], *, model_name: str
) -> tuple[MotivationProfile, StructuredResult[ProfileDraft]]:
    """Ask the LLM for USER_ID's profile; keep only evidence that is in the history."""
    prompt = prompts.render("mope", history=format_history(history))
    result = structured(llm, prompt.messages, ProfileDraft)
    return build_profile(user_id, history, result.value, prompt.id, model_name), result


def build_profile(
    user_id: str, history: list[HistoryEntry], draft: ProfileDraft, prompt_id: str, model: str
) -> MotivationProfile:
    """Check the draft's evidence against the history and date each motivation by it."""
    days = {entry.item_id: entry.day for entry in history}
    dropped = 0
    motivations = []
    for item in draft.motivations:
        evidence = list(dict.fromkeys(e for e in item.evidence if e in days))
        dropped += len(item.evidence) - len([e for e in item.evidence if e in days])
        seen = sorted(d for d in (days[e] for e in evidence) if d is not None)
        motivations.append(
            Motivation(
                label=item.label.strip(),
                description=item.description.strip(),
                evidence=evidence,
                strength=item.strength,
                first_seen=seen[0] if seen else None,
                last_seen=seen[-1] if seen else None,
            )
        )
    motivations.sort(key=lambda m: m.strength, reverse=True)
    return MotivationProfile(
        user_id=user_id,
        motivations=motivations,
        summary=draft.summary.strip(),
        shift=draft.shift.strip(),
        prompt_id=prompt_id,
        model=model,
        dropped_evidence=dropped,
    )
