"""`verify(answer_text, passages)`: the assistant's own citation checker, for any answer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from assistant.answer.cite import Check, Checker, Judge, parse
from assistant.answer.support import THRESHOLD
from assistant.core.data import Passage

# One sentence: its citations (`cited`), the passages (1-based) that support it, and the score.
SentenceVerdict = Check


@dataclass(frozen=True)
class Verdict:
    """Per-sentence results and the answer-level verdict ('supported', 'partial', 'unsupported')."""

    sentences: tuple[SentenceVerdict, ...]
    groundedness: float
    verdict: str


def verify(answer_text: str, passages: Sequence[str | Passage], threshold: float = THRESHOLD,
           embed: Callable[[Sequence[str]], np.ndarray] | None = None, judge: Judge | None = None,
           question: str | None = None) -> Verdict:
    """Check each sentence of `answer_text` against the passages its `[n]` markers cite
    (1-based into `passages`; an uncited sentence is checked against every passage).
    A sentence is supported when its score against a cited passage (probability-like, see
    `assistant.answer.cite.lexical_support`: a window of 1-3 passage sentences must state its
    words, numbers, names and negation) reaches `threshold`. `question` lets a bare answer
    ("Yes", "Delhi", "1998") be checked as the claim "question + answer"; without it such
    an answer is never supported. Returns per-sentence `supported` and score, plus
    groundedness = supported share."""
    texts = [p.text if isinstance(p, Passage) else str(p) for p in passages]
    checks = Checker(threshold=threshold, embed=embed, judge=judge).check(parse(answer_text), texts, question)
    sentences = tuple(checks)
    share = sum(s.supported for s in sentences) / len(sentences) if sentences else 0.0
    verdict = "supported" if sentences and share == 1 else "unsupported" if share == 0 else "partial"
    return Verdict(sentences, round(share, 4), verdict)
