"""Hybrid retrieval: dense (Chroma) and BM25 results fused by reciprocal rank."""
from __future__ import annotations

from dataclasses import dataclass

from .embed import Embedder
from .keyword import KeywordIndex
from .store import Store, StoredChunk
from .types import Passage

RRF_K = 60


def rrf(rankings: list[list[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal-rank fusion: score(id) = sum over rankings of 1 / (k + rank)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
    return scores


@dataclass
class HybridRetriever:
    """Dense + BM25 candidates (each `pool` deep), fused by RRF, top `k` returned as Passages."""

    store: Store
    embedder: Embedder
    keyword: KeywordIndex
    pool: int = 30
    mode: str = "hybrid"  # or "dense" / "bm25", for baselines

    def retrieve(self, query: str, k: int) -> list[Passage]:
        """The `k` best passages for `query`, best first, with dense, BM25 and fused scores."""
        pool = max(self.pool, 2 * k)
        dense: list[tuple[StoredChunk, float]] = []
        if self.mode in ("hybrid", "dense"):
            dense = self.store.query(self.embedder.embed([query])[0], pool)
        sparse = self.keyword.search(query, pool) if self.mode in ("hybrid", "bm25") else []
        dense_score = {c.id: s for c, s in dense}
        bm25_score = dict(sparse)
        fused = rrf([[c.id for c, _ in dense], [cid for cid, _ in sparse]])
        best = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        known = {c.id: c for c, _ in dense}
        missing = [cid for cid in best if cid not in known]
        known.update({c.id: c for c in self.store.chunks(missing)} if missing else {})
        return [
            Passage(chunk_id=cid, doc_id=known[cid].doc_id, title=known[cid].title, source=known[cid].source,
                    text=known[cid].text, start=known[cid].start, end=known[cid].end, rank=rank,
                    score=round(fused[cid], 6), dense_score=dense_score.get(cid), bm25_score=bm25_score.get(cid),
                    published=known[cid].published)
            for rank, cid in enumerate((c for c in best if c in known), start=1)
        ]
