"""Finding passages: hybrid dense + BM25 retrieval, filters, recency, optional re-ranking and
follow-up condensation."""

from assistant.retrieve.condense import condense
from assistant.retrieve.filters import Filters
from assistant.retrieve.hybrid import HybridRetriever, fuse, rrf
from assistant.retrieve.recency import Recency, wants_recent
from assistant.retrieve.rerank import soft_coverage
from assistant.retrieve.search import search

__all__ = [
    "Filters",
    "HybridRetriever",
    "Recency",
    "condense",
    "fuse",
    "rrf",
    "search",
    "soft_coverage",
    "wants_recent",
]
