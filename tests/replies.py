"""Raw replies recorded from the real local models by scripts/record_replies.py."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from tests.conftest import FIXTURES


@cache
def recorded() -> dict[str, dict[str, Any]]:
    """Return every recorded case of mope_v1.json by key."""
    return json.loads((FIXTURES / "replies" / "mope_v1.json").read_text())


def raw(key: str) -> str:
    """Return the raw text the model wrote for KEY."""
    return str(recorded()[key]["raw"])
