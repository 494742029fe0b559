"""The passages for one query: hybrid retrieval with the question's filters and recency
preference, then one passage per story first (copies of a story after)."""
from __future__ import annotations

from assistant.core.data import Passage
from assistant.core.settings import Settings
from assistant.index.bm25 import KeywordIndex
from assistant.index.store import ChromaStore
from assistant.index.stories import Stories, one_per_story
from assistant.models.embed import Embedder
from assistant.retrieve.filters import Filters
from assistant.retrieve.hybrid import HybridRetriever
from assistant.retrieve.recency import Recency, wants_recent


def search(query: str, k: int, *, settings: Settings, store: ChromaStore, embedder: Embedder,
           keyword: KeywordIndex, stories: Stories, filters: Filters | None = None,
           question: str = "", encoder: Embedder | None = None) -> list[Passage]:
    """The best `k` passages for `query` from the articles `filters` allow. A `question`
    about the latest news ("latest", "now", "this week"...) prefers newer articles. With an
    `encoder` and `settings.encoder_rerank` > 0 its cosine re-ranks the best candidates."""
    s = settings
    recent = s.recency_half_life > 0 and wants_recent(question or query)
    facets = store.facets() if filters or recent else {}
    as_of = filters.as_of.toordinal() if filters and filters.as_of else None
    retriever = HybridRetriever(store, embedder, keyword, mode=s.retrieval, weight=s.fusion_weight,
                                rerank=s.rerank_weight, encoder=encoder, encoder_weight=s.encoder_rerank,
                                encoder_depth=s.encoder_depth, where=filters.where() if filters else None,
                                allowed=filters.allowed(facets) if filters else None,
                                recency=Recency({d: f[0] for d, f in facets.items()}, s.recency_half_life, as_of)
                                if recent else None)
    if not stories.has_copies:
        return retriever.retrieve(query, k)
    # Copies of one story (syndicated or updated versions) would fill the top k with one
    # sentence: keep the best passage of each story first, copies after.
    return one_per_story(retriever.retrieve(query, 2 * k), stories.story_of, k)
