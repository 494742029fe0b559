"""The extractive answerer: the built-in generator used when no LLM is configured.

It scores candidate evidence windows (one or two adjacent sentences of the retrieved
passages, see `reading`) with a small logistic model, and answers with the best window
verbatim, led by the short answer cut from it; when the calibrated answerability is below
the threshold it refuses. The same answerability gates the LLM backends (see facade)."""
from __future__ import annotations

import dataclasses

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from assistant.answer import asked, choice, reading, yesno
from assistant.answer.finalize import refusal_text
from assistant.answer.reading import FEATURES, QuestionProfile, Window
from assistant.core.data import Passage, Usage
from assistant.core.text import sentence_spans, terms

# Logistic weights over reading.FEATURES: P(window contains the gold answer). Fitted with
# numpy (Newton steps, L2 0.1) on HaluEval QA dev lines 1-1,500 (their knowledge passages
# indexed, top-5 hybrid retrieval) plus lines 1,501-2,000 asked against that index as
# unanswerable; reproduce with `python evals/tune_answerer.py fit`.
WEIGHTS = np.array([-4.211, 1.765, -0.648, -4.211, 1.845, 1.304, 3.923, 1.976, -0.887, 0.347, 0.379, 0.631, 0.493])
# Logistic weights over reading.QUESTION_FEATURES: P(the passages answer the question),
# the `confidence` on Answer. Fitted on the same lines (label: the question's own knowledge
# passage is indexed) after WEIGHTS, by `python evals/tune_answerer.py fit`.
ANSWERABILITY = np.array([-4.506, 2.171, 1.552, 6.751, 0.750, 0.382, 0.897, 2.654])
# The refusal threshold on `confidence`, chosen on HaluEval QA dev lines 2,001-4,000 (knowledge
# of 2,001-3,500 indexed, 3,501-4,000 asked as unanswerable; not used for fitting) for a
# false-refusal rate under 10 %: there 8.7 % of answerable and 90.6 % of unanswerable
# questions are refused (`python evals/tune_answerer.py threshold /tmp/tune/d2.npz 0.10`).
THRESHOLD = 0.65


@dataclass(frozen=True)
class Scored:
    """A candidate window, its probability of holding the answer and, when the parse set a
    condition, the first span of the window attached to what was asked (offsets into its text)."""

    window: Window
    p: float
    answer: tuple[int, int] | None = None


# A question's profile, every candidate window scored (best first) and its answerability.
Scoring = tuple[QuestionProfile, list[Scored], float]


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
    short_cites: tuple[int, ...] = ()  # the passages the short answer rests on, when not just the first window's

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
    # The question's parse (`answer.asked`): a count, money or share question is answered
    # only from a window with a span of that type attached to what was asked. None: rules only.
    parse: Callable[[str], Any] | None = None
    similar: Callable[[str, str], float] | None = None
    threshold: float = THRESHOLD
    max_sentences: int = 3
    # A further window joins when its probability is at least `keep` x the best one's and it adds
    # question terms (the second hop of "the club that X played for plays where?"). 0.5 -> 0.3
    # on dev: news QA right fact 0.516 -> 0.537, HaluEval QA lines 1-600 contained 0.823 -> 0.832,
    # answers 4 % longer (a 4-sentence cap: 0.573 / 0.835, but 21 % longer: not taken).
    keep: float = 0.3
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
        cites = sel.short_cites or (sel.chosen[0].window.passage,)
        # A line of its own: the checker cites it to its exact span, apart from its sentence.
        pieces = [f"{sel.short} {' '.join(f'[{n}]' for n in cites)}\n"] if sel.short else []
        for c in sel.chosen:  # a sentence at a time, so each is checked and cited on its own
            w = c.window
            pieces += [f"{w.text[a:b]} [{w.passage}]" for a, b in sentence_spans(w.text, glued=True)]
        for i, piece in enumerate(pieces):
            yield ("" if i == 0 else " ") + piece

    def score(self, question: str, passages: Sequence[Passage]) -> Scoring:
        """Every candidate window with its probability of holding the answer, best first,
        and the answerability of the question."""
        q = reading.profile(question)
        cands = reading.windows(passages)
        if not cands or not q.terms:
            return q, [], 0.0
        sims = np.zeros(len(cands))
        if self.embed is not None:
            vecs = self.embed([question] + [w.text for w in cands])
            sims = np.clip(vecs[1:] @ vecs[0], 0, 1)
        x = reading.features(q, cands, passages, self.idf, sims)
        what = asked.read_question(self.parse(question)) if self.parse is not None else asked.NOTHING
        spans: list[tuple[int, int] | None] = [None] * len(cands)
        if what.kind:  # "how many patients" needs a number attached to patients, in one window
            spans = [next(iter(self._answers(what, c.text)), None) for c in cands]
            keep = np.array([s is not None for s in spans], dtype=bool)
            x, cands, spans = x[keep], [c for c, k in zip(cands, keep) if k], [s for s in spans if s is not None]
        elif q.focus or q.unit:  # "how many tanks" needs tanks and a number; "what did it cost" needs money
            keep = (x[:, FEATURES.index("focus")] >= 1.0) & (x[:, FEATURES.index("type")] >= 1.0)
            x, cands, spans = x[keep], [c for c, k in zip(cands, keep) if k], [None] * int(keep.sum())
        if not cands:
            return q, [], 0.0
        logits = x @ WEIGHTS
        qx = reading.question_features(q, passages, self.idf, x, logits)
        confidence = float(_sigmoid(qx @ ANSWERABILITY))
        p = _sigmoid(logits)
        order = np.argsort(-p, kind="stable")
        return q, [Scored(cands[i], float(p[i]), spans[i]) for i in order], confidence

    def order(self, passages: Sequence[Passage], scoring: Scoring) -> tuple[list[Passage], Scoring]:
        """The passages by their best window's probability of holding the answer (passages
        with no candidate window after, in rank order), and `scoring` (of `score`) renumbered
        to that order: a model that reads only the first few reads the ones this reader would
        quote, and `select` reuses the scoring instead of reading the passages again."""
        q, ranked, confidence = scoring
        best: dict[int, float] = {}
        for s in ranked:
            best.setdefault(s.window.passage, s.p)
        ranks = sorted(range(len(passages)), key=lambda i: -best.get(i + 1, -1.0))  # stable: ties keep rank order
        number = {old + 1: new for new, old in enumerate(ranks, start=1)}
        moved = [dataclasses.replace(s, window=dataclasses.replace(s.window, passage=number[s.window.passage]))
                 for s in ranked]
        return [passages[i] for i in ranks], (q, moved, confidence)

    def _answers(self, what: asked.Asked, text: str) -> list[tuple[int, int]]:
        """Spans of `text` that answer `what` (parsed only when a span of its type could be there)."""
        if what.kind in ("count", "money", "amount") and not reading.typed_spans("quantity", text, set()):
            return []  # no number at all: nothing to parse
        return asked.answer_spans(what, self.parse(text), self.similar) if self.parse is not None else []

    def select(self, question: str, passages: Sequence[Passage], scoring: Scoring | None = None) -> Selection:
        """The windows that make the answer, or a typed refusal when the evidence is too weak.
        `scoring` is `score(question, passages)` when the caller has it already."""
        if not reading.has_content(question):
            return Selection(question, (), None, 0.0, "invalid")
        q, ranked, confidence = scoring if scoring is not None else self.score(question, passages)
        # "Who was born first, A or B?", "Are A and B both P?": the sentence read for each decides it
        texts = [p.text for p in passages]
        decided = choice.decide(question, texts) if " or " in question else None
        if decided is None and q.answer_type == "yesno":
            decided = yesno.decide(question, texts, self.parse)
        if decided is not None:
            return _decided(question, decided.answer, decided.evidence, passages, confidence)
        if not ranked or confidence < self.threshold:
            return Selection(question, (), None, round(confidence, 4), "no_evidence")
        best = ranked[0]
        chosen = [best]
        covered = set(q.terms) & set(terms(best.window.text))
        used = best.window.sentences
        for c in ranked[1:]:
            if c.p < self.keep * best.p or used + c.window.sentences > self.max_sentences:
                continue
            if any(_overlaps(c.window, o.window) for o in chosen):
                continue
            new = (set(q.terms) & set(terms(c.window.text))) - covered
            if new:
                chosen.append(c)
                covered |= new
                used += c.window.sentences
        short = short_answer(q, best.window.text)
        if best.answer is not None:  # the span attached to what was asked, verbatim
            a, b = best.answer
            short = best.window.text[a:b].strip(" ,;:.") or short
        return Selection(question, tuple(chosen), short, round(confidence, 4), None)


def _decided(question: str, answer: str, evidence: Sequence[tuple[int, int, int]], passages: Sequence[Passage],
             confidence: float) -> Selection:
    """A comparison's answer (an option, Yes or No), resting on the sentence read for each of
    the two things: (passage index, start, end) in `evidence`."""
    chosen: list[Scored] = []
    for i, a, b in evidence:
        w = Window(i + 1, a, b, passages[i].text[a:b], 1)
        if not any(_overlaps(w, o.window) for o in chosen):
            chosen.append(Scored(w, 1.0))
    cites = tuple(dict.fromkeys(s.window.passage for s in chosen))
    return Selection(question, tuple(chosen), answer, round(confidence, 4), None, cites)


def _sigmoid(z: np.ndarray | float) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(z, -30, 30)))


def _overlaps(a: Window, b: Window) -> bool:
    return a.passage == b.passage and a.start < b.end and b.start < a.end or a.text == b.text


def short_answer(q: QuestionProfile, text: str) -> str | None:
    """The span of `text` of the question's answer type nearest to the question's own
    words, verbatim; None when the type is open or no such span exists."""
    spans = reading.typed_spans(q.answer_type, text, set(q.terms), q.unit)
    if q.answer_type == "entity" and len(spans) != 1:
        return None  # an open "which X" names many things; only a lone candidate is safe
    lower = text.lower()
    anchors = [i for t in (q.focus or q.terms) for i in _find_all(lower, t)]
    sentences = sentence_spans(text, glued=True)
    qset = set(q.terms)

    def rank(span: tuple[int, int]) -> tuple[bool, int, int, int]:
        # Prefer a span naming the focus ("40 tanks"), then the sentence that holds most of
        # the question, then the span nearest its words.
        named = bool(q.focus) and set(q.focus) <= set(terms(text[span[0]:span[1]]))
        sa, sb = next(((x, y) for x, y in sentences if x <= span[0] < y), (0, len(text)))
        held = len(qset & set(terms(text[sa:sb])))
        outside = [i for i in anchors if sa <= i < sb and not span[0] <= i < span[1]]
        far = min((abs(i - span[0]) for i in outside), default=len(text))
        return not named, -held, far, span[0]

    if not spans:
        return None
    a, b = min(spans, key=rank)
    short = text[a:b].strip(" ,;:.")
    return short if short and short != text.strip() and len(short) < 0.8 * len(text) else None


def _find_all(text: str, term: str) -> list[int]:
    out, i = [], text.find(term)
    while i >= 0 and len(out) < 20:
        out.append(i)
        i = text.find(term, i + 1)
    return out
