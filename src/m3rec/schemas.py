"""The shapes every layer shares: chat turns, history entries, motivation profiles, ranked items.

They sit below everything else (no m3rec imports), so the graph state, the agents, the stores and
the data readers can all speak of them without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal, get_args

from pydantic import BaseModel, Field

Role = Literal["system", "user", "assistant"]
ProfileSource = Literal["store", "llm"]


@dataclass(frozen=True)
class ChatMessage:
    """One chat turn."""

    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        """Return the OpenAI-style dict form."""
        return {"role": self.role, "content": self.content}


class Motivation(BaseModel):
    """A validated motivation, its evidence checked against the history and dated by it.

    `kind` is one of MOPE's closed set of reasons (prompt `mope/v2` on); v1 profiles have none.
    """

    label: str
    description: str
    evidence: list[str]
    strength: float
    first_seen: date | None
    last_seen: date | None
    kind: str | None = None


class MotivationProfile(BaseModel):
    """Why a user acts: 2 to 5 motivations, a summary and the recent shift."""

    user_id: str
    motivations: list[Motivation]
    summary: str
    shift: str
    prompt_id: str
    model: str
    windows: int = 1
    cited_evidence: int = 0
    dropped_evidence: int = 0


@dataclass(frozen=True)
class HistoryEntry:
    """One item of the visible history, as MOPE reads it; `title` and `categories` (genres and
    category path levels) let a profile's labels be checked against what the item already says."""

    item_id: str
    text: str
    rating: float | None
    timestamp: int | None
    title: str = ""
    categories: tuple[str, ...] = ()

    @property
    def day(self) -> date | None:
        """Return the interaction date, if known."""
        if self.timestamp is None:
            return None
        return datetime.fromtimestamp(self.timestamp, tz=UTC).date()


ReasonSource = Literal["llm", "regenerated", "template"]
REASON_MIN_CHARS = 20
REASON_MAX_CHARS = 200
REASON_MAX_EVIDENCE = 3


class ReasonDraft(BaseModel):
    """One item's reason as drafted: the item, the motivation it names, the history items it
    cites and the text (what MAR's reason checker reads)."""

    item_id: str = Field(min_length=1)
    motivation: str
    evidence: list[str] = Field(max_length=REASON_MAX_EVIDENCE)
    reason: str = Field(max_length=REASON_MAX_CHARS)


@dataclass(frozen=True)
class AlignedItem:
    """One candidate as MAR scores it: the combined score, MOTE's history score, the motivation
    it serves best (an index into the profile's motivations; None without a profile), how
    strongly, and that motivation's evidence items from the user's history."""

    item_id: str
    score: float
    history_score: float
    alignment: float = 0.0
    motivation: int | None = None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    """Why one recommended item fits: the text, the motivation it names (a profile label), the
    history items it cites, who wrote it, and the rules earlier attempts broke."""

    item_id: str
    text: str
    motivation: str
    evidence: tuple[str, ...]
    source: ReasonSource
    rejected: tuple[str, ...] = ()


@dataclass(frozen=True)
class FocusReport:
    """Where one item stands for a user (`m3rec explain`): its rank among every item they could
    get, the best score there, its cosine with each motivation (profile order), and the history
    items nearest to it."""

    item_id: str
    rank: int
    of: int
    top_score: float
    cosines: tuple[float, ...]
    nearest: tuple[str, ...]


ChatIntent = Literal[
    "more_like",
    "different",
    "exclude",
    "purpose",
    "why",
    "why_not",
    "profile",
    "forget",
    "restart",
    "unclear",
]
CHAT_INTENTS: tuple[str, ...] = get_args(ChatIntent)
CHAT_TEXT_MAX = 120  # the longest "text" a turn carries: a direction, a kind, a purpose


class ChatNote(BaseModel):
    """A motivation a person said in `m3rec chat` ("a present for my niece who paints"), dated,
    with the thread it was said in and the item it was said of, if any."""

    label: str
    description: str
    kind: str | None = None
    item_id: str | None = None
    created: datetime
    thread: str = ""

    def as_motivation(self) -> Motivation:
        """Return the note as a motivation of the profile MAR ranks with: its evidence is the
        item it was said of ("more like" it), if any, since no history item shows it."""
        day = self.created.date()
        return Motivation(
            label=self.label,
            description=self.description,
            evidence=[self.item_id] if self.item_id else [],
            strength=1.0,
            first_seen=day,
            last_seen=day,
            kind=self.kind,
        )


@dataclass(frozen=True)
class Steering:
    """What a conversation adds to a ranking: the motivations said in it (oldest first), the
    categories excluded from it, and the profile motivations it asked to forget (labels)."""

    notes: tuple[ChatNote, ...] = ()
    excluded: tuple[str, ...] = ()
    forgotten: tuple[str, ...] = ()
