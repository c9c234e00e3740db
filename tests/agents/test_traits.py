"""Item traits from metadata and from a recorded LLM batch, cached in a real Chroma store."""

from m3rec.agents.traits import distil_traits, llm_traits
from m3rec.data import Item, bundled_catalogue_path, load_dataset
from m3rec.data.traits import metadata_traits
from m3rec.llm.replay import ReplayBackend
from m3rec.store import memory_store
from tests.replies import raw, recorded


def test_metadata_traits_read_genres_categories_era_and_brand() -> None:
    movie = Item("1", "Toy Story (1995)", {"year": "1995", "genres": "Animation, Children, Comedy"})
    assert metadata_traits(movie) == [
        "visual imagination",
        "family viewing with kids",
        "light-hearted laughter",
        "1990s nostalgia",
    ]
    cream = Item(
        "B1", "Night cream", {"categories": "Beauty > Skin Care > Face > Creams", "brand": "CeraVe"}
    )
    assert metadata_traits(cream) == ["skin care routine", "face creams", "trust in CeraVe"]
    assert metadata_traits(Item("x", "", {})) == []


def test_llm_traits_keep_only_the_batch_items() -> None:
    case = recorded()["qwen15_traits"]
    catalogue = load_dataset(bundled_catalogue_path())
    items = [catalogue.items[i] for i in case["item_ids"]]
    found = llm_traits(ReplayBackend([case["raw"]]), items[:4])
    assert set(found) == set(case["item_ids"][:4])
    assert all(1 <= len(t) <= 4 for t in found.values())


def test_distil_traits_caches_by_item_text_and_source() -> None:
    store = memory_store()
    catalogue = load_dataset(bundled_catalogue_path())
    items = [catalogue.items[i] for i in ("1", "2", "3")]
    first = distil_traits(items, store)
    assert first == {"items": 3, "cache_hits": 0, "llm_calls": 0, "failed": 0}
    again = distil_traits(items, store)
    assert again["cache_hits"] == 3
    with_llm = distil_traits(
        items, store, llm=ReplayBackend([raw("qwen15_traits")]), model_id="qwen"
    )
    assert with_llm["llm_calls"] == 1 and with_llm["cache_hits"] == 0
