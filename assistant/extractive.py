"""The extractive answerer: the built-in generator used when no LLM is configured.

It picks the retrieved sentences that best answer the question and cites each one to
the passage it came from; when no sentence covers the question well enough it refuses."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from .answer import refusal_text
from .guard import is_instruction
from .text import sentence_spans, terms
from .types import Passage, Usage

_QUESTION_NUMBER = re.compile(r"\b(how (much|many|far|long|large|big|old)|what (percentage|share|number|amount|proportion)|number of)\b", re.I)
_QUESTION_WHEN = re.compile(r"\b(when|what (day|date|month|year|time))\b", re.I)
_QUESTION_WHO = re.compile(r"\bwho(m|se)?\b", re.I)
_HAS_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|half|third|fifth|quarter)\b", re.I)
_HAS_WHEN = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|august|september|october|november|december|today|yesterday|week|month|year|\d{4})\b", re.I)
_MEASURE = re.compile(r"\bhow (long|far|big|large|old|often|soon|much|many|tall|wide|deep|high)\b", re.I)
_HAS_NAME = re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]+ [A-Z][a-z]+")


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage and how well it answers the question."""

    passage: int  # 1-based index into the passages
    text: str
    coverage: float
    similarity: float
    score: float


@dataclass
class ExtractiveGenerator:
    """Answer = the best 1-3 retrieved sentences, verbatim, each followed by `[n]`.

    `idf(term)` weighs question terms (rare terms matter more; a term absent from the
    corpus weighs most), `embed` adds semantic similarity. `min_coverage` is the share of
    the question's weighted terms the best sentence must cover, else the answer is a refusal."""

    idf: Callable[[str], float]
    embed: Callable[[Sequence[str]], np.ndarray] | None = None
    min_coverage: float = 0.5
    max_sentences: int = 3
    name: str = "extractive"
    model: str | None = None

    def fit(self, question: str, passages: Sequence[Passage],
            history: Sequence[tuple[str, str]] = ()) -> list[Passage]:
        """Every passage: the extractive answerer has no context limit."""
        return list(passages)

    def stream(self, question: str, passages: Sequence[Passage], history: Sequence[tuple[str, str]] = ()) -> Iterator[str | Usage]:
        """Yield the draft answer (with `[n]` markers), a sentence at a time."""
        chosen = self.select(question, passages)
        if not chosen:
            yield refusal_text(question)
            return
        for i, c in enumerate(chosen):
            yield ("" if i == 0 else " ") + f"{c.text} [{c.passage}]"

    def candidates(self, question: str, passages: Sequence[Passage]) -> list[Candidate]:
        """Every distinct sentence of the passages, scored against the question, best first."""
        # "How long/much/far ..." asks for a quantity; the adjective itself is rarely in the answer.
        q_terms = list(dict.fromkeys(terms(_MEASURE.sub("how", question))))
        weights = {t: self.idf(t) for t in q_terms}
        total = sum(weights.values())
        seen: set[tuple[str, int]] = set()
        raw: list[tuple[int, str]] = []
        for i, p in enumerate(passages, start=1):
            for a, b in sentence_spans(p.text):
                key = (p.doc_id, p.start + a)
                if is_instruction(p.text[a:b]):
                    continue  # text addressed to an assistant is never quoted as an answer
                if key not in seen:
                    seen.add(key)
                    raw.append((i, p.text[a:b]))
        if not raw or total <= 0:
            return []
        sims = np.zeros(len(raw))
        if self.embed is not None:
            vecs = self.embed([question] + [t for _, t in raw])
            sims = np.clip(vecs[1:] @ vecs[0], 0, 1)
        out = []
        for (i, text), sim in zip(raw, sims):
            s_terms = set(terms(text))
            coverage = sum(w for t, w in weights.items() if t in s_terms) / total
            score = 0.6 * coverage + 0.4 * float(sim) + self._bonus(question, text) - 0.02 * (i - 1)
            out.append(Candidate(i, text, round(coverage, 4), round(float(sim), 4), round(score, 4)))
        return sorted(out, key=lambda c: -c.score)

    def select(self, question: str, passages: Sequence[Passage]) -> list[Candidate]:
        """The sentences that make the answer, or [] when the articles don't answer it."""
        ranked = self.candidates(question, passages)
        if not ranked:
            return []
        best = max(ranked, key=lambda c: (c.coverage, c.score))
        if best.coverage < self.min_coverage:
            return []
        top = ranked[0] if ranked[0].coverage >= self.min_coverage else best
        chosen = [top]
        q_terms = set(terms(_MEASURE.sub("how", question)))
        covered = q_terms & set(terms(top.text))
        for c in ranked:
            if len(chosen) >= self.max_sentences:
                break
            if c is top or c.score < 0.85 * top.score or c.coverage < self.min_coverage * 0.8:
                continue
            new = (q_terms & set(terms(c.text))) - covered
            if new or c.score >= 0.97 * top.score and _distinct(c.text, chosen):
                chosen.append(c)
                covered |= new
        return chosen

    def _bonus(self, question: str, sentence: str) -> float:
        bonus = 0.0
        if _QUESTION_NUMBER.search(question) and _HAS_NUMBER.search(sentence):
            bonus += 0.1
        if _QUESTION_WHEN.search(question) and _HAS_WHEN.search(sentence):
            bonus += 0.08
        if _QUESTION_WHO.search(question) and _HAS_NAME.search(sentence):
            bonus += 0.05
        if not sentence.rstrip("\"'”’)").endswith((".", "!", "?", "…")):
            bonus -= 0.15  # headings and captions are poor answers
        return bonus


def _distinct(text: str, chosen: Sequence[Candidate]) -> bool:
    mine = set(terms(text))
    return all(len(mine & set(terms(c.text))) < 0.6 * max(len(mine), 1) for c in chosen)
