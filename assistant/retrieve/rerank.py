"""Re-ranking of the fused retrieval candidates by how much of the question a passage's best
two-sentence window holds, counting a near-synonym as part of a match.

Readers paraphrase ("how many *cannons*" for "its 32 *guns*", "*frontier troops*" for
"*border guards*"): BM25 misses the word and a whole-chunk vector blurs it. For each of the
`depth` best fused candidates, every question term gets credit 1 when the window holds it,
else its best WordLlama word similarity mapped linearly from [SOFT_LOW, SOFT_HIGH] to [0, 1]
(the checker's soft match, `assistant.answer.support`); the window's coverage is the IDF-weighted
mean credit. The final score is fused + weight * coverage of the best window. Word vectors
are cached, so a warm query costs a few milliseconds."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from assistant.core.text import sentence_spans, terms
from assistant.models.word_vectors import soft_credit, word_vectors


def soft_coverage(question: str, texts: Sequence[str], idf: Callable[[str], float], span: int = 2) -> list[float]:
    """For each text, the IDF-weighted soft coverage of the question's terms by its best
    window of `span` adjacent sentences (0.0 for a question without terms)."""
    q_terms = list(dict.fromkeys(terms(question)))
    if not q_terms:
        return [0.0] * len(texts)
    vectors = word_vectors()
    weights = np.array([idf(t) for t in q_terms], dtype=float)
    weights = weights / (weights.sum() or 1.0)
    q_vecs = vectors(tuple(q_terms))
    out = []
    for text in texts:
        sentences = [text[a:b] for a, b in sentence_spans(text, glued=True)] or [text]
        best = 0.0
        for i in range(len(sentences)):
            window = tuple(dict.fromkeys(terms(" ".join(sentences[i:i + span]))))
            if not window:
                continue
            sim = (q_vecs @ vectors(window).T).max(axis=1)
            held = np.array([t in window for t in q_terms])
            credit = np.where(held, 1.0, soft_credit(sim))
            best = max(best, float(weights @ credit))
        out.append(best)
    return out
