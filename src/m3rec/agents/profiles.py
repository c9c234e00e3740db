"""The one path that profiles a user: the store first, then the LLM, then the store again.

The graph's `extract_motivations` node, the batch profiler and the demo all call
`profile_user`, so a profile written by one is found by the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from m3rec.agents.mope import (
    DEFAULT_WINDOWS,
    ProfileOutcome,
    current_prompt_id,
    extract_profile,
    profile_key,
)
from m3rec.agents.notes import motivation_notes
from m3rec.agents.profile_checks import RULES
from m3rec.errors import EmptyHistoryError, LLMAuthError, LLMError, LLMUnavailableError
from m3rec.llm.base import LLMBackend, Usage
from m3rec.schemas import HistoryEntry, MotivationProfile, ProfileSource
from m3rec.settings import HistoryWindows
from m3rec.store import MotivationStore

RULES_IN_FORCE = ",".join(RULES)


@dataclass(frozen=True)
class ProfileResult:
    """A user's profile and where it came from.

    `usage` is what this call cost (nothing when the profile came from the store); `meta` is what
    the store recorded when the profile was written (its cost, `created_at`, how the history
    was cut).
    """

    key: str
    profile: MotivationProfile
    source: ProfileSource
    usage: Usage
    first_try_valid: bool
    meta: dict[str, Any] = field(default_factory=dict)


class ProfileFailure(LLMError):
    """The LLM could not write a valid profile for a user; the failure is recorded in the store."""

    def __init__(self, message: str, *, key: str, usage: Usage) -> None:
        super().__init__(message)
        self.key, self.usage = key, usage


def profile_user(
    store: MotivationStore,
    llm: Callable[[], LLMBackend],
    user_id: str,
    history: list[HistoryEntry],
    *,
    model_id: str,
    context: dict[str, Any],
    prompt_id: str | None = None,
    windows: HistoryWindows = DEFAULT_WINDOWS,
    failed: dict[str, str] | None = None,
) -> ProfileResult:
    """Return USER_ID's profile for HISTORY under PROMPT_ID (default: the newest MOPE prompt),
    read in WINDOWS:
    stored if the store has it, else written by the LLM (built by calling LLM, only then) and
    stored with CONTEXT (how the history was cut).

    A reply that never validates, or an empty history, is recorded as a failure for the key and
    raised as `ProfileFailure` with what the attempts cost; an unreachable server or a refused
    key is raised as it is (nothing about the user is wrong). FAILED, when given, remembers the
    keys that failed (in this process, or in the store for a batch run with --skip-failed), so
    a long-lived caller (a conversation) asks the LLM once, not on every turn.
    """
    prompt_id = prompt_id or current_prompt_id()
    key = profile_key(user_id, history, prompt_id, model_id, windows)
    stored = store.get_profile(key)
    if stored is not None:
        profile = MotivationProfile.model_validate_json(stored.profile_json)
        return ProfileResult(key, profile, "store", Usage(), True, stored.meta)
    if failed is not None and key in failed:
        raise ProfileFailure(
            f"{failed[key]} (failed before; not asked again)", key=key, usage=Usage()
        )
    backend = llm()
    started = time.perf_counter()
    try:
        outcome = extract_profile(
            backend,
            user_id,
            history,
            model_name=_model_name(backend),
            prompt_id=prompt_id,
            windows=windows,
        )
    except (LLMUnavailableError, LLMAuthError):
        raise
    except (LLMError, EmptyHistoryError) as exc:
        usage = getattr(exc, "usage", None) or Usage(seconds=time.perf_counter() - started)
        rejected = [rule for rules in getattr(exc, "rejected", []) for rule in rules]
        failure = {
            **context,
            **_windows_meta(history, windows),
            "prompt_id": prompt_id,
            "rejected": ",".join(dict.fromkeys(rejected)),
            "rules": RULES_IN_FORCE,
        }
        store.record_failure(key, user_id, str(exc), failure)
        if failed is not None:
            failed[key] = str(exc)
        raise ProfileFailure(str(exc), key=key, usage=usage) from exc
    meta = save_profile(
        store, key, outcome, model_id, {**context, **_windows_meta(history, windows)}
    )
    return ProfileResult(key, outcome.profile, "llm", outcome.usage, outcome.first_try_valid, meta)


def save_profile(
    store: MotivationStore,
    key: str,
    outcome: ProfileOutcome,
    model_id: str,
    context: dict[str, Any],
) -> dict[str, Any]:
    """Store a profile with its notes, its cost and CONTEXT under KEY; return the metadata."""
    profile, usage = outcome.profile, outcome.usage
    meta = {
        "model_id": model_id,
        "prompt_id": profile.prompt_id,
        "llm_calls": usage.calls,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "seconds": round(usage.seconds, 3),
        "first_try_valid": outcome.first_try_valid,
        "rejected": ",".join(outcome.rejected),
        "rules": RULES_IN_FORCE,  # which rules `rejected` could name
        **context,
    }
    store.put_profile(
        key,
        profile.user_id,
        profile.model_dump(mode="json"),
        profile.summary,
        motivation_notes(profile),
        meta,
    )
    return meta


def _windows_meta(history: list[HistoryEntry], windows: HistoryWindows) -> dict[str, int]:
    """Record how a history longer than one window was read (nothing for a shorter one)."""
    if len(history) <= windows.size:
        return {}
    return {"window_size": windows.size, "window_count": windows.count}


def _model_name(backend: LLMBackend) -> str:
    return str(backend.describe().get("model", ""))
