"""Stores for motivation profiles, motivation notes and item traits, behind one protocol."""

from m3rec.store.base import MotivationStore, NoteRecord, StoredNote, StoredProfile, chat_key
from m3rec.store.chroma import ChromaStore, memory_store, open_store

__all__ = [
    "ChromaStore",
    "MotivationStore",
    "NoteRecord",
    "StoredNote",
    "StoredProfile",
    "chat_key",
    "memory_store",
    "open_store",
]
