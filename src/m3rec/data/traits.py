"""Item traits from metadata alone: the needs an item's genres, categories, era and brand serve."""

from __future__ import annotations

from collections.abc import Iterable

from m3rec.data.types import Item

METADATA_SOURCE = "metadata/v1"

# MovieLens genres read as the needs they serve.
GENRE_NEEDS = {
    "action": "adrenaline and spectacle",
    "adventure": "escape on a journey",
    "animation": "visual imagination",
    "children": "family viewing with kids",
    "children's": "family viewing with kids",
    "comedy": "light-hearted laughter",
    "crime": "moral tension and intrigue",
    "documentary": "learning about the real world",
    "drama": "emotional depth",
    "fantasy": "escape into the impossible",
    "film-noir": "dark stylish mystery",
    "horror": "the thrill of fear",
    "imax": "big-screen spectacle",
    "musical": "songs and performance",
    "mystery": "solving a puzzle",
    "romance": "love and connection",
    "sci-fi": "ideas about the future",
    "thriller": "suspense and tension",
    "war": "history and sacrifice",
    "western": "frontier adventure",
}

# Amazon second-level categories read as needs.
CATEGORY_NEEDS = {
    "skin care": "skin care routine",
    "makeup": "a polished look",
    "hair care": "hair care routine",
    "fragrance": "scent as self-expression",
    "tools & accessories": "grooming tools",
    "bath & body": "pampering and self-care",
    "nail": "nail care and colour",
    "men's grooming": "men's grooming",
    "exercise & fitness": "staying fit",
    "outdoor recreation": "time outdoors",
    "hunting & fishing": "hunting and fishing trips",
    "team sports": "playing on a team",
    "cycling": "riding a bike",
    "camping & hiking": "camping and hiking",
}


def metadata_traits(item: Item) -> list[str]:
    """Return the needs an item's genres, categories, era and brand point to, without an LLM."""
    traits: list[str] = []
    for genre in _split(item.fields.get("genres", ""), ","):
        if need := GENRE_NEEDS.get(genre.lower()):
            traits.append(need)
    path = [part.strip() for part in item.fields.get("categories", "").split(">")]
    if len(path) > 1:
        traits.append(CATEGORY_NEEDS.get(path[1].lower(), path[1].lower()))
    if len(path) > 2:
        traits.append(" ".join(p.lower() for p in path[2:]))
    if (year := item.fields.get("year", "")).isdigit():
        traits.append(f"{year[:3]}0s nostalgia")
    if brand := item.fields.get("brand"):
        traits.append(f"trust in {brand}")
    if weak := item.fields.get("weak_text"):
        traits.append(weak)
    return list(dict.fromkeys(traits))


def metadata_trait_texts(items: list[Item]) -> list[str]:
    """Return each item's metadata traits as one comma-separated text ("" when it has none)."""
    return [", ".join(metadata_traits(item)) for item in items]


def _split(text: str, sep: str) -> Iterable[str]:
    return (part.strip() for part in text.split(sep) if part.strip())
