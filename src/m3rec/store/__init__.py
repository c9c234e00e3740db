"""Chroma stores for motivation profiles, motivation notes and item traits."""

from m3rec.store.chroma import MotivationStore, StoredProfile, open_store

__all__ = ["MotivationStore", "StoredProfile", "open_store"]
