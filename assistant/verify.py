"""`verify(answer_text, passages)`: the assistant's own citation checker, for any answer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .cite import Check, Checker, Judge, parse
from .types import Passage


# One sentence: its citations (`cited`), the passages (1-based) that support it, and the score.
SentenceVerdict = Check


@dataclass(frozen=True)
class Verdict:
    """Per-sentence results and the answer-level verdict ('supported', 'partial', 'unsupported')."""

    sentences: tuple[SentenceVerdict, ...]
    groundedness: float
    verdict: str


def verify(answer_text: str, passages: Sequence[str | Passage], threshold: float = 0.85,
           embed: Callable[[Sequence[str]], np.ndarray] | None = None, judge: Judge | None = None,
           question: str | None = None) -> Verdict:
    """Check each sentence of `answer_text` against the passages its `[n]` markers cite
    (1-based into `passages`; an uncited sentence is checked against every passage).
    A sentence is supported when one sentence of a cited passage holds at least
    `threshold` of its content terms (and every number it states). `question` lets a bare
    "yes"/"no" be checked through the claim it answers. Returns per-sentence `supported`
    and score, plus groundedness = supported share."""
    texts = [p.text if isinstance(p, Passage) else str(p) for p in passages]
    checks = Checker(threshold=threshold, embed=embed, judge=judge).check(parse(answer_text), texts, question)
    sentences = tuple(checks)
    share = sum(s.supported for s in sentences) / len(sentences) if sentences else 0.0
    verdict = "supported" if sentences and share == 1 else "unsupported" if share == 0 else "partial"
    return Verdict(sentences, round(share, 4), verdict)
