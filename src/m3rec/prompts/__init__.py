"""Versioned prompt files and a render() that fails on a missing or unused field."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from m3rec.schemas import ChatMessage

_FIELD = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
_MARKER = re.compile(r"<{3,}|>{3,}")  # what opens or closes a prompt's data block
# control characters become spaces; format (zero-width, bidirectional), private-use and
# surrogate characters are dropped
_AS_SPACE, _DROPPED = {"Cc"}, {"Cf", "Co", "Cs"}
_SECTION = re.compile(r"^## (system|user)\s*$", re.MULTILINE)


class PromptError(ValueError):
    """A prompt file is missing, malformed, or rendered with the wrong fields."""


@dataclass(frozen=True)
class RenderedPrompt:
    """Chat messages built from one prompt version, with the ids that caches key on."""

    id: str
    template_hash: str
    messages: list[ChatMessage]

    @property
    def hash(self) -> str:
        """Return a digest of the rendered text."""
        digest = hashlib.sha256()
        for message in self.messages:
            digest.update(f"{message.role}\0{message.content}\0".encode())
        return digest.hexdigest()[:16]


@cache
def _load(name: str, version: str) -> tuple[str, dict[str, str]]:
    resource = resources.files(__package__).joinpath(name, f"{version}.md")
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"no prompt {name}/{version}") from None
    parts = _SECTION.split(text)
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if "user" not in sections:
        raise PromptError(f"prompt {name}/{version} has no '## user' section")
    return hashlib.sha256(text.encode()).hexdigest()[:16], sections


def latest_version(name: str) -> str:
    """Return the highest vN of prompt NAME."""
    folder = resources.files(__package__).joinpath(name)
    if not folder.is_dir():
        raise PromptError(f"no prompt named {name}")
    versions = [p.name[:-3] for p in folder.iterdir() if re.fullmatch(r"v\d+\.md", p.name)]
    if not versions:
        raise PromptError(f"no prompt named {name}")
    return max(versions, key=lambda v: int(v[1:]))


def render(name: str, version: str | None = None, **fields: str) -> RenderedPrompt:
    """Fill prompt NAME/VERSION with FIELDS; every template field given, every field used."""
    version = version or latest_version(name)
    template_hash, sections = _load(name, version)
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in fields:
            raise PromptError(f"prompt {name}/{version} needs field '{key}'")
        used.add(key)
        return str(fields[key])

    messages = [
        ChatMessage(role, _FIELD.sub(substitute, sections[role]))  # type: ignore[arg-type]
        for role in ("system", "user")
        if role in sections
    ]
    if unused := set(fields) - used:
        raise PromptError(f"prompt {name}/{version} has no field {sorted(unused)}")
    return RenderedPrompt(id=f"{name}/{version}", template_hash=template_hash, messages=messages)


def data_text(text: str, limit: int) -> str:
    """Return catalogue or user text as every prompt's data block shows it: one line, without
    control, zero-width, bidirectional or private-use characters, without a run of `<<<` or
    `>>>` that could open or close a data block, with braces as parentheses (so it cannot hold
    a JSON object that imitates a reply), at most LIMIT characters."""
    kept = []
    for c in text:
        kind = unicodedata.category(c)
        if kind not in _DROPPED:
            kept.append(" " if kind in _AS_SPACE else c)
    # A space, not nothing: removing "<<<" from ">><<<>" must not leave a ">>>".
    line = _MARKER.sub(" ", "".join(kept)).replace("{", "(").replace("}", ")")
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def examples(name: str, version: str) -> list[dict[str, Any]]:
    """Return the example replies written into prompt NAME/VERSION (its lines that are JSON
    objects), so a reply that copies them can be recognised."""
    _hash, sections = _load(name, version)
    found = []
    for line in sections.get("system", "").splitlines():
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise PromptError(f"prompt {name}/{version} has a broken example: {exc}") from None
            found.append(value)
    return found
