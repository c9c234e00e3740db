"""MOPE: write a user's motivation profile from their visible history."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from m3rec import prompts
from m3rec.agents.mope_drafts import (
    ProfileDraft,
    ProfileDraftV2,
    draft_motivations,
    draft_request,
)
from m3rec.agents.profile_checks import check_profile
from m3rec.errors import EmptyHistoryError, StructuredOutputError
from m3rec.llm.base import LLMBackend, StructuredResult, Usage, structured
from m3rec.schemas import HistoryEntry, Motivation, MotivationProfile
from m3rec.settings import HistoryWindows

MAX_ITEM_TEXT = 300
DEFAULT_WINDOWS = HistoryWindows()
WINDOW_SIZE = DEFAULT_WINDOWS.size
# The reading before the windows were a setting: three windows of 20. It adds nothing to a
# profile's key, so the profiles stored under it keep their keys.
UNKEYED_WINDOWS = HistoryWindows(size=20, count=3)
WINDOW_DECAY = 0.5
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class ProfileOutcome:
    """A profile and what it cost: LLM calls, tokens, time, whether a repair was needed, and
    which rules the replies that were turned down broke (`schema` for a malformed one)."""

    profile: MotivationProfile
    usage: Usage
    first_try_valid: bool
    rejected: tuple[str, ...] = ()


def format_history(history: list[HistoryEntry]) -> str:
    """Render the history as one quoted line per item, oldest first."""
    lines = []
    for entry in history:
        text = prompts.data_text(entry.text, MAX_ITEM_TEXT)
        parts = [f"[{entry.item_id}] {text or '(no title)'}"]
        if entry.rating is not None:
            parts.append(f"rated {entry.rating:g}")
        if entry.day is not None:
            parts.append(entry.day.isoformat())
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def profile_key(
    user_id: str,
    history: list[HistoryEntry],
    prompt_id: str,
    model_id: str,
    windows: HistoryWindows = DEFAULT_WINDOWS,
) -> str:
    """Return the deterministic id of a profile: same user, history, prompt, model and reading
    of the history, same key.

    The windows count only for a history longer than one window, and UNKEYED_WINDOWS not at all.
    """
    template_hash = prompts.render(*prompt_id.split("/"), history="").template_hash
    digest = hashlib.sha256()
    for part in (user_id, prompt_id, template_hash, model_id):
        digest.update(part.encode() + b"\0")
    if len(history) > windows.size and windows != UNKEYED_WINDOWS:
        digest.update(f"windows {windows.count}x{windows.size}\0".encode())
    for entry in history:
        digest.update(f"{entry.item_id}|{entry.rating}|{entry.timestamp}|{entry.text}\n".encode())
    return digest.hexdigest()[:32]


def split_windows(
    history: list[HistoryEntry], windows: HistoryWindows = DEFAULT_WINDOWS
) -> list[list[HistoryEntry]]:
    """Cut a long history into the most recent WINDOWS.count windows of WINDOWS.size items,
    oldest first."""
    if len(history) <= windows.size:
        return [history]
    cut: list[list[HistoryEntry]] = []
    end = len(history)
    while end > 0 and len(cut) < windows.count:
        cut.append(history[max(0, end - windows.size) : end])
        end -= windows.size
    return cut[::-1]


def extract_profile(
    llm: LLMBackend,
    user_id: str,
    history: list[HistoryEntry],
    *,
    model_name: str,
    prompt_id: str | None = None,
    windows: HistoryWindows = DEFAULT_WINDOWS,
) -> ProfileOutcome:
    """Ask the LLM for USER_ID's profile under PROMPT_ID (default: the newest), window by window
    (WINDOWS); each window's reply must keep the rules of `profile_checks` (one repair, then a
    failure)."""
    if not history:
        raise EmptyHistoryError(f"user {user_id} has no visible history to read motivations from")
    prompt_id = prompt_id or current_prompt_id()
    usage = Usage()
    rejected: list[str] = []
    drafts = []
    for window in split_windows(history, windows):
        try:
            result = ask_window(llm, user_id, window, prompt_id)
        except StructuredOutputError as exc:
            exc.usage.include(usage)  # the windows before cost calls too
            raise
        rejected += [rule for rules in result.rejected for rule in rules]
        usage.include(result.usage)
        drafts.append(build_profile(user_id, window, result.value, prompt_id, model_name))
    profile = drafts[0] if len(drafts) == 1 else merge_windows(drafts)
    return ProfileOutcome(profile, usage, not rejected, tuple(dict.fromkeys(rejected)))


def ask_window(
    llm: LLMBackend, user_id: str, window: list[HistoryEntry], prompt_id: str
) -> StructuredResult[ProfileDraft | ProfileDraftV2]:
    """Ask for one window's profile under PROMPT_ID: its prompt, the schema generation is held
    to, the token bound, and the rules of `profile_checks` (one repair, then a failure)."""
    name, version = prompt_id.split("/")
    prompt = prompts.render(name, version, history=format_history(window))
    request = draft_request(prompt_id, window)
    examples = prompts.examples(name, version)

    def check(draft: ProfileDraft | ProfileDraftV2) -> None:
        check_profile(build_profile(user_id, window, draft, prompt_id, ""), window, examples)

    return structured(
        llm,
        prompt.messages,
        request.schema,
        max_tokens=request.max_tokens,
        json_schema=request.json_schema,
        check=check,
    )


def build_profile(
    user_id: str,
    history: list[HistoryEntry],
    draft: ProfileDraft | ProfileDraftV2,
    prompt_id: str,
    model: str,
) -> MotivationProfile:
    """Check the draft's evidence against the history and date each motivation by it."""
    days = {entry.item_id: entry.day for entry in history}
    items = draft_motivations(draft)
    cited = sum(len(m.evidence) for m in items)
    kept_total = 0
    motivations = []
    for item in items:
        evidence = list(dict.fromkeys(e for e in item.evidence if e in days))
        kept_total += sum(1 for e in item.evidence if e in days)
        seen = sorted(d for d in (days[e] for e in evidence) if d is not None)
        motivations.append(
            Motivation(
                label=item.label.strip(),
                description=item.description.strip(),
                evidence=evidence,
                strength=item.strength,
                first_seen=seen[0] if seen else None,
                last_seen=seen[-1] if seen else None,
                kind=item.kind,
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
        cited_evidence=cited,
        dropped_evidence=cited - kept_total,
    )


def merge_windows(profiles: list[MotivationProfile]) -> MotivationProfile:
    """Merge per-window profiles, oldest first; a window's weight halves with each step back."""
    weights = [WINDOW_DECAY ** (len(profiles) - 1 - i) for i in range(len(profiles))]
    groups: list[list[tuple[float, Motivation]]] = []
    for weight, profile in zip(weights, profiles, strict=True):
        for motivation in profile.motivations:
            group = next((g for g in groups if _same_motivation(g[0][1], motivation)), None)
            if group is None:
                groups.append([(weight, motivation)])
            else:
                group.append((weight, motivation))
    total = sum(weights)
    merged = [_merge_group(group, total) for group in groups]
    merged.sort(key=lambda m: m.strength, reverse=True)
    recent = profiles[-1]
    old_labels = {m.label.lower() for p in profiles[:-1] for m in p.motivations}
    new = [m.label for m in recent.motivations if m.label.lower() not in old_labels]
    shift = recent.shift if not new else f"{recent.shift} Newest window adds: {', '.join(new)}."
    return recent.model_copy(
        update={
            "motivations": merged[:5],
            "shift": shift,
            "windows": len(profiles),
            "cited_evidence": sum(p.cited_evidence for p in profiles),
            "dropped_evidence": sum(p.dropped_evidence for p in profiles),
        }
    )


def _same_motivation(a: Motivation, b: Motivation) -> bool:
    if a.kind != b.kind:
        return False
    words_a, words_b = set(_WORD.findall(a.label.lower())), set(_WORD.findall(b.label.lower()))
    if not words_a or not words_b:
        return False
    return len(words_a & words_b) / len(words_a | words_b) >= 0.5


def _merge_group(group: list[tuple[float, Motivation]], total_weight: float) -> Motivation:
    latest = group[-1][1]
    evidence = list(dict.fromkeys(e for _, m in group for e in m.evidence))
    firsts = [m.first_seen for _, m in group if m.first_seen]
    lasts = [m.last_seen for _, m in group if m.last_seen]
    return Motivation(
        label=latest.label,
        description=latest.description,
        kind=latest.kind,
        evidence=evidence,
        strength=round(sum(w * m.strength for w, m in group) / total_weight, 3),
        first_seen=min(firsts) if firsts else None,
        last_seen=max(lasts) if lasts else None,
    )


def current_prompt_id() -> str:
    """Return the id of the MOPE prompt version in use."""
    return f"mope/{prompts.latest_version('mope')}"
