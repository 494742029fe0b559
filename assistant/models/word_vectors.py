"""Vectors of single words (WordLlama's static embeddings), cached: the soft word match of
the citation checker (`answer.support`) and of the opt-in re-ranker (`retrieve.rerank`)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from assistant.models.embed import WordLlamaEmbedder

SOFT_LOW, SOFT_HIGH = 0.3, 0.8  # word cosine -> match credit, linear between these


def soft_credit(similarity: np.ndarray) -> np.ndarray:
    """Match credit of word cosine similarities: 0 up to SOFT_LOW, 1 from SOFT_HIGH, linear between."""
    return np.clip((similarity - SOFT_LOW) / (SOFT_HIGH - SOFT_LOW), 0.0, 1.0)


class WordVectors:
    """WordLlama vectors of single words, cached (news vocabulary repeats)."""

    def __init__(self) -> None:
        self.embedder = WordLlamaEmbedder()
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, words: tuple[str, ...]) -> np.ndarray:
        missing = [w for w in dict.fromkeys(words) if w not in self.cache]
        if missing:
            if len(self.cache) > 200_000:
                self.cache.clear()
            self.cache.update(zip(missing, self.embedder.embed(missing)))
        return np.stack([self.cache[w] for w in words]) if words else np.zeros((0, 256), np.float32)


@lru_cache(maxsize=1)
def word_vectors() -> WordVectors:
    """The one cached `WordVectors` of this process (the model loads on first use)."""
    return WordVectors()


def word_similarity(a: str, b: str) -> float:
    """Cosine similarity of two single words' vectors, clipped to [0, 1]."""
    v = word_vectors()((a, b))
    return float(max(0.0, min(1.0, v[0] @ v[1])))
