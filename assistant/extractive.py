"""The extractive answerer: the built-in generator used when no LLM is configured.

It scores candidate evidence windows (one or two adjacent sentences of the retrieved
passages, see `evidence`) with a small logistic model, and answers with the best window
verbatim, led by the short answer cut from it; when the calibrated answerability is below
the threshold it refuses. The same answerability gates the LLM backends (see facade)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from . import evidence
from .answer import refusal_text
from .evidence import FEATURES, QuestionProfile, Window
from .text import terms
from .types import Passage, Usage

# Logistic weights over evidence.FEATURES: P(window contains the gold answer). Fitted with
# numpy (Newton steps, L2 0.1) on HaluEval QA dev lines 1-1,500 (their knowledge passages
# indexed, top-5 hybrid retrieval) plus lines 1,501-2,000 asked against that index as
# unanswerable; reproduce with `python evals/tune_answerer.py fit`.
WEIGHTS = np.array([-4.0, 3.0, 1.0, 1.5, 1.0, 2.0, 0.8, 1.0, 1.0, 0.3, 1.5, -1.0, 0.5])
# Platt scaling of the best window's logit into the answerability `confidence`, fitted on
# the same lines (label: the chosen window holds the gold answer, 0 for unanswerable ones).
CALIBRATION = (1.0, 0.0)
# The refusal threshold on `confidence`, chosen on HaluEval QA dev lines 2,001-4,000 for a
# false-refusal rate of at most 10 %.
THRESHOLD = 0.2


@dataclass(frozen=True)
class Scored:
    """A candidate window and its probability of holding the answer."""

    window: Window
    p: float


@dataclass(frozen=True)
class Selection:
    """What the extractive answerer would say: the chosen windows (best first), the short
    answer cut from the first one, the answerability `confidence`, and `refusal` (None,
    "invalid" or "no_evidence")."""

    question: str
    chosen: tuple[Scored, ...]
    short: str | None
    confidence: float
    refusal: str | None

    @property
    def answerable(self) -> bool:
        return self.refusal is None


@dataclass
class ExtractiveGenerator:
    """Answer = the short answer (a verbatim span) then the best evidence window, each
    followed by `[n]`; a second window from elsewhere joins when it is nearly as likely and
    adds question terms. `idf(term)` weighs question terms, `embed` (texts -> unit vectors)
    gives semantic similarity, `threshold` is the least answerability that is answered."""

    idf: Callable[[str], float]
    embed: Callable[[Sequence[str]], np.ndarray] | None = None
    threshold: float = THRESHOLD
    max_sentences: int = 3
    name: str = "extractive"
    model: str | None = None

    def fit(self, question: str, passages: Sequence[Passage],
            history: Sequence[tuple[str, str]] = ()) -> list[Passage]:
        """Every passage: the extractive answerer has no context limit."""
        return list(passages)

    def stream(self, question: str, passages: Sequence[Passage],
               history: Sequence[tuple[str, str]] = ()) -> Iterator[str | Usage]:
        """Yield the draft answer (with `[n]` markers), a sentence at a time."""
        sel = self.select(question, passages)
        yield from self.draft(sel) if sel.answerable else [refusal_text(question)]

    def draft(self, sel: Selection) -> Iterator[str]:
        """The draft text of an answerable selection, one piece per sentence."""
        lead = sel.chosen[0].window.passage
        pieces = [f"{sel.short} [{lead}]."] if sel.short else []
        for c in sel.chosen:
            pieces.append(f"{c.window.text} [{c.window.passage}]")
        for i, piece in enumerate(pieces):
            yield ("" if i == 0 else " ") + piece

    def score(self, question: str, passages: Sequence[Passage]) -> tuple[QuestionProfile, list[Scored]]:
        """Every candidate window with its probability of holding the answer, best first."""
        q = evidence.profile(question)
        cands = evidence.windows(passages)
        if not cands or not q.terms:
            return q, []
        sims = np.zeros(len(cands))
        if self.embed is not None:
            vecs = self.embed([question] + [w.text for w in cands])
            sims = np.clip(vecs[1:] @ vecs[0], 0, 1)
        x = evidence.features(q, cands, passages, self.idf, sims)
        p = 1 / (1 + np.exp(-(x @ WEIGHTS)))
        if q.focus:  # "how many tanks": a window without tanks cannot answer it
            p = np.where(x[:, FEATURES.index("focus")] >= 1.0, p, 0.0)
        order = np.argsort(-p, kind="stable")
        return q, [Scored(cands[i], float(p[i])) for i in order]

    def select(self, question: str, passages: Sequence[Passage]) -> Selection:
        """The windows that make the answer, or a typed refusal when the evidence is too weak."""
        if not evidence.has_content(question):
            return Selection(question, (), None, 0.0, "invalid")
        q, ranked = self.score(question, passages)
        confidence = calibrate(ranked[0].p) if ranked else 0.0
        if not ranked or confidence < self.threshold:
            return Selection(question, (), None, round(confidence, 4), "no_evidence")
        best = ranked[0]
        chosen = [best]
        covered = set(q.terms) & set(terms(best.window.text))
        used = best.window.sentences
        for c in ranked[1:]:
            if c.p < max(0.8 * best.p, _inverse(self.threshold)) or used + c.window.sentences > self.max_sentences:
                continue
            if any(_overlaps(c.window, o.window) for o in chosen):
                continue
            new = (set(q.terms) & set(terms(c.window.text))) - covered
            if new:
                chosen.append(c)
                covered |= new
                used += c.window.sentences
        return Selection(question, tuple(chosen), short_answer(q, best.window.text), round(confidence, 4), None)


def calibrate(p: float) -> float:
    """The answerability of a question whose best window has probability `p`."""
    logit = np.log(max(p, 1e-9) / max(1 - p, 1e-9))
    a, b = CALIBRATION
    return float(1 / (1 + np.exp(-(a * logit + b))))


def _inverse(confidence: float) -> float:
    """The window probability whose calibrated answerability is `confidence`."""
    a, b = CALIBRATION
    logit = (np.log(confidence / (1 - confidence)) - b) / a
    return float(1 / (1 + np.exp(-logit)))


def _overlaps(a: Window, b: Window) -> bool:
    return a.passage == b.passage and a.start < b.end and b.start < a.end or a.text == b.text


def short_answer(q: QuestionProfile, text: str) -> str | None:
    """The span of `text` of the question's answer type nearest to the question's own
    words, verbatim; None when the type is open or no such span exists."""
    spans = evidence.typed_spans(q.answer_type, text, set(q.terms))
    if not spans:
        return None
    lower = text.lower()
    anchors = [i for t in q.terms for i in _find_all(lower, t)]
    if q.focus:
        anchors = [i for t in q.focus for i in _find_all(lower, t)] or anchors

    def distance(span: tuple[int, int]) -> tuple[int, int]:
        far = min((abs(a - span[0]) for a in anchors), default=0)
        return far, span[0]

    a, b = min(spans, key=distance)
    short = text[a:b].strip(" ,;:")
    return short if short and short != text.strip() and len(short) < 0.8 * len(text) else None


def _find_all(text: str, term: str) -> list[int]:
    out, i = [], text.find(term)
    while i >= 0 and len(out) < 20:
        out.append(i)
        i = text.find(term, i + 1)
    return out
