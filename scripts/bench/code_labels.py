"""How many stored labels MOPE's `code_label` rule would turn down, post hoc.

Run: .venv/bin/python scripts/bench/code_labels.py runs/mope-quality/v2/store \
        runs/mope-quality/v1/store runs/mar/valid-store
"""

from __future__ import annotations

import sys

from m3rec.agents.profile_checks import _CODE, content_words
from m3rec.schemas import MotivationProfile
from m3rec.settings import StoreSettings
from m3rec.store import open_store


def main() -> None:
    for path in sys.argv[1:]:
        store = open_store(StoreSettings(kind="embedded", path=path), flag="read")
        labels = hits = 0
        for stored in store.list_profiles():
            profile = MotivationProfile.model_validate_json(stored.profile_json)
            for m in profile.motivations:
                labels += 1
                words = content_words(m.label)
                if words and all(_CODE.match(w) for w in words):
                    hits += 1
                    print(f"  {profile.model}: {m.label!r}")
        print(f"{path}: {hits} of {labels} labels are codes")


if __name__ == "__main__":
    main()
