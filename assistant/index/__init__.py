"""The index: the Chroma store, the BM25 side, story grouping and the write lock, kept
consistent by `Index`."""

from assistant.index.bm25 import KeywordIndex
from assistant.index.index import Index
from assistant.index.store import ChromaStore, Store, outlet_key, text_id
from assistant.index.stories import Stories, one_per_story
from assistant.index.story_grouping import (
    MinHashGroups,
    StoryIndexDamaged,
    StoryParams,
    also_in,
    group,
    normalise,
    shingles,
)

__all__ = [
    "ChromaStore",
    "Index",
    "KeywordIndex",
    "MinHashGroups",
    "Store",
    "Stories",
    "StoryIndexDamaged",
    "StoryParams",
    "also_in",
    "group",
    "normalise",
    "one_per_story",
    "outlet_key",
    "shingles",
    "text_id",
]
