"""Hybrid retrieval: dense (Chroma) and BM25 results fused by reciprocal rank."""
from __future__ import annotations

from dataclasses import dataclass

from .embed import Embedder
from .keyword import KeywordIndex
from .store import Store
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
        """The `k` best passages for `query`, best first, with dense, BM25 and fused scores.
        Only the `k` fused winners are read from the store."""
        pool = max(self.pool, 2 * k)
        dense: list[tuple[str, float]] = []
        if self.mode in ("hybrid", "dense"):  # dense alone needs no candidates beyond the k it returns
            dense = self.store.query(self.embedder.embed([query])[0], pool if self.mode == "hybrid" else k)
        sparse = self.keyword.search(query, pool) if self.mode in ("hybrid", "bm25") else []
        dense_score = dict(dense)
        bm25_score = dict(sparse)
        fused = rrf([[cid for cid, _ in dense], [cid for cid, _ in sparse]])
        best = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        refs = {r.id: r for r in self.keyword.locate(best)}
        missing = [cid for cid in best if cid not in refs]  # written after the BM25 catalog's stamp
        refs.update({r.id: r for r in self.store.locate(missing)} if missing else {})
        read = {c.id: c for c in self.store.read([refs[cid] for cid in best if cid in refs])}
        return [
            Passage(chunk_id=cid, doc_id=read[cid].doc_id, title=read[cid].title, source=read[cid].source,
                    text=read[cid].text, start=read[cid].start, end=read[cid].end, rank=rank,
                    score=round(fused[cid], 6), dense_score=dense_score.get(cid), bm25_score=bm25_score.get(cid),
                    published=read[cid].published)
            for rank, cid in enumerate((c for c in best if c in read), start=1)
        ]
