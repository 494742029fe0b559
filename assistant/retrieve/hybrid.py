"""Hybrid retrieval: dense (Chroma) and BM25 candidates fused by their scores.

fused = (1 - w) * BM25 / best BM25 of the query + w * cosine similarity, with w the dense
side's weight (`Settings.fusion_weight`, ASSISTANT_FUSION_WEIGHT), chosen on HaluEval QA
development lines by `evals/tune_fusion.py`. Plain reciprocal-rank fusion gave the weaker
dense side an equal vote and pushed good BM25 hits out of the top 5; score fusion keeps
BM25's confidence and lets the dense score break near-ties and rescue questions that share
no term with their article. With `rerank` > 0 the `depth` best fused candidates are then
re-scored by the soft coverage of the question by their best two-sentence window
(`assistant.retrieve.rerank`, weight `Settings.rerank_weight`; off by default: on dev it helped
paraphrased news questions and cost HaluEval a little, see README). With `encoder_weight` > 0
the `encoder_depth` best candidates after that get encoder_weight * cosine(question, chunk) from a
sentence encoder (all-MiniLM-L6-v2, `assistant.models.encoder`; ASSISTANT_ENCODER_RERANK); a
large weight (100) orders them by the encoder alone.

With a filter (`where` for the Chroma side, `allowed` document ids for the BM25 side and
a last check of every passage, see `assistant.retrieve.filters`) only matching articles are seen;
with `recency`, fused scores are decayed by article age (`assistant.retrieve.recency`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.core.data import Passage
from assistant.core.settings import Settings
from assistant.index.bm25 import KeywordIndex
from assistant.index.store import Store
from assistant.models.embed import Embedder
from assistant.retrieve.recency import Recency
from assistant.retrieve.rerank import soft_coverage

RRF_K = 60
DENSE_WEIGHT: float = Settings.fusion_weight  # the default, one source of truth


def fuse(dense: list[tuple[str, float]], sparse: list[tuple[str, float]], weight: float) -> dict[str, float]:
    """Score fusion of (id, cosine) and (id, BM25) lists: (1 - weight) * bm25 / max bm25 +
    weight * cosine; an id missing from one list gets 0 from that side."""
    scores: dict[str, float] = {}
    top = max((s for _, s in sparse), default=0.0)
    if top > 0:
        for cid, s in sparse:
            scores[cid] = (1.0 - weight) * s / top
    for cid, s in dense:
        scores[cid] = scores.get(cid, 0.0) + weight * s
    return scores


def rrf(rankings: list[list[str]], k: int = RRF_K, weights: list[float] | None = None) -> dict[str, float]:
    """Weighted reciprocal-rank fusion: score(id) = sum over rankings of weight / (k + rank)
    (every weight 1 when `weights` is None: plain RRF)."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings)):
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank)
    return scores


@dataclass
class HybridRetriever:
    """Dense + BM25 candidates (each `pool` deep), fused by score (`weight` on the dense side,
    1 - `weight` on BM25, see `fuse`), the best `depth` re-ranked with `rerank` times their
    soft question coverage (hybrid mode, `rerank` > 0), then the best `encoder_depth` with
    `encoder_weight` times the `encoder`'s cosine to the question (hybrid mode, weight > 0),
    top `k` returned as Passages."""

    store: Store
    embedder: Embedder
    keyword: KeywordIndex
    pool: int = 30
    mode: str = "hybrid"  # or "dense" / "bm25", for baselines
    weight: float = DENSE_WEIGHT
    rerank: float = 0.0
    depth: int = 30
    where: dict[str, Any] | None = None  # Chroma filter on chunk records
    allowed: set[str] | None = None      # document ids a filter lets through (None: all)
    recency: Recency | None = None
    encoder: Embedder | None = None  # a sentence encoder for the second re-rank (None: off)
    encoder_weight: float = 0.0
    encoder_depth: int = 20

    def retrieve(self, query: str, k: int) -> list[Passage]:
        """The `k` best passages for `query`, best first, with dense, BM25 and fused scores.
        Only the `k` fused winners are read from the store."""
        if self.allowed is not None and not self.allowed:
            return []
        pool = max(self.pool, 2 * k)
        dense: list[tuple[str, float]] = []
        if self.mode in ("hybrid", "dense"):  # dense alone needs no candidates beyond the k it returns
            n = pool if self.mode == "hybrid" or self.recency else k
            dense = self.store.query(self.embedder.embed([query])[0], n, self.where)
        sparse = self.keyword.search(query, pool, self.allowed) if self.mode in ("hybrid", "bm25") else []
        dense_score = dict(dense)
        bm25_score = dict(sparse)
        fused = fuse(dense, sparse, {"dense": 1.0, "bm25": 0.0}.get(self.mode, self.weight))
        refs: dict[str, Any] = {}
        if self.recency is not None and fused:
            refs = self._locate(list(fused))
            factors = self.recency.factors({cid: r.doc_id for cid, r in refs.items()}, fused)
            fused = {cid: s * factors.get(cid, 1.0) for cid, s in fused.items()}
        reranking = self.rerank > 0 and self.mode == "hybrid"
        encoding = self.encoder is not None and self.encoder_weight > 0 and self.mode == "hybrid"
        deep = max([k] + [self.depth] * reranking + [self.encoder_depth] * encoding)
        best = sorted(fused, key=lambda cid: (-fused[cid], cid))[:deep]
        refs = refs or self._locate(best)
        read = {c.id: c for c in self.store.read([refs[cid] for cid in best if cid in refs])
                if self.allowed is None or c.doc_id in self.allowed}
        if reranking:
            best = [cid for cid in best if cid in read]
            cover = soft_coverage(query, [read[cid].text for cid in best], self.keyword.idf)
            fused = {cid: fused[cid] + self.rerank * c for cid, c in zip(best, cover)}
            best = sorted(best, key=lambda cid: (-fused[cid], cid))
        if encoding:
            best = [cid for cid in best if cid in read]
            head = best[:self.encoder_depth]
            vectors = self.encoder.embed([query] + [read[cid].text for cid in head])
            for cid, cos in zip(head, vectors[1:] @ vectors[0]):
                fused[cid] += self.encoder_weight * float(cos)
            best = sorted(head, key=lambda cid: (-fused[cid], cid)) + best[self.encoder_depth:]
        best = best[:k]
        return [
            Passage(chunk_id=cid, doc_id=read[cid].doc_id, title=read[cid].title, source=read[cid].source,
                    text=read[cid].text, start=read[cid].start, end=read[cid].end, rank=rank,
                    score=round(fused[cid], 6), dense_score=dense_score.get(cid), bm25_score=bm25_score.get(cid),
                    published=read[cid].published, outlet=read[cid].outlet)
            for rank, cid in enumerate((c for c in best if c in read), start=1)
        ]

    def _locate(self, ids: list[str]) -> dict[str, Any]:
        """chunk id -> ChunkRef, from the BM25 catalog, else the store (chunks written after
        the catalog's stamp)."""
        refs = {r.id: r for r in self.keyword.locate(ids)}
        missing = [cid for cid in ids if cid not in refs]
        refs.update({r.id: r for r in self.store.locate(missing)} if missing else {})
        return refs
