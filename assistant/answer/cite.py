"""Citation checking: parse `[n]` markers, verify each sentence against the passage it
cites, resolve each citation to an exact span, and renumber. Shared by every backend,
by `assistant.answer.verify` and by the evaluation."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from assistant.answer import support
from assistant.answer.injection import is_instruction
from assistant.core.text import sentence_spans, terms

# [1]  [1, 3]  [1][2]  【1】  [Source 1]  [source 2, 3]  [1-3]
_MARKER = re.compile(r"\[(?:sources?\s*)?(\d+(?:\s*[,;–-]\s*\d+)*)\]|【\s*(?:sources?\s*)?(\d+(?:\s*[,;]\s*\d+)*)\s*】",
                     re.IGNORECASE)
Judge = Callable[[str, str], float]


@dataclass(frozen=True)
class DraftSentence:
    """A sentence of a draft answer, without markers, and the passage numbers it cites."""

    text: str
    cited: tuple[int, ...]


@dataclass(frozen=True)
class Check:
    """The verdict on one sentence: the passages (1-based) that support it, and its score."""

    text: str
    cited: tuple[int, ...]
    supporting: tuple[int, ...]
    score: float
    supported: bool


def parse(answer: str) -> list[DraftSentence]:
    """Split an answer into sentences and the citation numbers each one carries. A marker
    after the final punctuation ("... July. [1]") belongs to the sentence before it."""
    moved = re.sub(r"([.!?…][\"'”’)]*)((?:\s*(?:" + _MARKER.pattern + r"))+)", r"\2\1", answer)
    out: list[DraftSentence] = []
    for a, b in sentence_spans(moved):
        raw = moved[a:b]
        nums: list[int] = []
        for m in _MARKER.finditer(raw):
            nums.extend(_numbers(m.group(1) or m.group(2)))
        text = " ".join(_MARKER.sub("", raw).split())
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        if not re.search(r"\w", text):
            if out and nums:  # a stray marker line: give it to the previous sentence
                prev = out[-1]
                out[-1] = DraftSentence(prev.text, tuple(dict.fromkeys(prev.cited + tuple(nums))))
            continue
        out.append(DraftSentence(text, tuple(dict.fromkeys(nums))))
    return out


def _numbers(group: str) -> list[int]:
    nums: list[int] = []
    for part in re.split(r"\s*[,;]\s*", group.strip()):
        if re.fullmatch(r"\d+\s*[–-]\s*\d+", part):
            lo, hi = (int(x) for x in re.split(r"\s*[–-]\s*", part))
            nums.extend(range(lo, min(hi, lo + 20) + 1))
        elif part.isdigit():
            nums.append(int(part))
    return nums


_GLUED = re.compile(r"([a-z0-9)\]\"”’][.!?])([A-Z])")


def passage_sentences(passage: str) -> list[frozenset[str]]:
    """The term sets of a passage's sentences (sentences glued without a space, as in
    scraped text, are split too). Sentences that instruct an AI assistant are not
    evidence and are left out (an empty set)."""
    text = _GLUED.sub(r"\1 \2", passage)
    spans = sentence_spans(text) or [(0, len(text))]
    return [frozenset() if is_instruction(text[a:b]) else frozenset(terms(text[a:b])) for a, b in spans]


def lexical_support(sentence: str, passage: str, question: str | None = None) -> float:
    """How well `passage` supports `sentence`, a probability-like score in [0, 1]
    (`assistant.answer.support.score`): the best window of 1-3 adjacent passage sentences must
    hold the sentence's words (same stem or a close word vector), every number with its
    unit, every name and the same negation. A sentence with no content of its own
    ("Yes", "The answer is:", "42", a lone name) scores 0, unless `question` is given:
    then "question + answer" is checked against the whole passage."""
    return support.score(sentence, passage, question)


@dataclass
class Checker:
    """Scores sentences against passages with `lexical_support` (windows of passage
    sentences, soft word matching, strict numbers, names and negation).

    `embed` (texts -> unit vectors) adds sentence-level semantic evidence: it can lift a
    sentence that already scores 0.5 by at most `embed_lift`. `judge(sentence, passage)
    -> [0, 1]` (an LLM or entailment model) replaces both when set."""

    threshold: float = support.THRESHOLD
    embed: Callable[[Sequence[str]], np.ndarray] | None = None
    judge: Judge | None = None
    embed_lift: float = 0.1

    def score(self, sentences: Sequence[str], passages: Sequence[str], question: str | None = None) -> np.ndarray:
        """Support matrix [sentence, passage] in [0, 1] (probability-like) from lexical (and
        embedding) evidence."""
        if not sentences or not passages:
            return np.zeros((len(sentences), len(passages)))
        lex = np.array([[lexical_support(s, p, question) for p in passages] for s in sentences])
        if self.embed is None:
            return lex
        vs, vp = self.embed(list(sentences)), self.embed(list(passages))
        sim = np.clip(vs @ vp.T, 0, 1)
        lifted = np.minimum(1.0, lex + self.embed_lift * sim)
        # Semantic similarity may lift a near-paraphrase, never an invented number or entity.
        return np.where(lex >= 0.5, lifted, lex)

    def supports(self, sentence: str, quote: str, question: str | None = None) -> bool:
        """Whether `quote` alone states `sentence` (lexical support at the threshold): how a
        citation's quote is chosen (`best_span`), with or without a judge."""
        return lexical_support(sentence, quote, question) >= self.threshold

    def check(self, draft: Sequence[DraftSentence], passages: Sequence[str], question: str | None = None) -> list[Check]:
        """Verdict per sentence. Citations to numbers outside 1..len(passages) are dropped;
        an uncited sentence gets its best passage when that passes the threshold. With a
        judge, only those (sentence, passage) pairs are sent to it."""
        matrix = self.score([d.text for d in draft], passages, question)
        checks: list[Check] = []
        for i, d in enumerate(draft):
            cited = tuple(n for n in d.cited if 1 <= n <= len(passages))
            if cited:
                candidates = cited
            elif len(passages):
                candidates = (int(np.argmax(matrix[i])) + 1,)
            else:
                candidates = ()
            if self.judge is not None:
                scores = {n: float(self.judge(d.text, passages[n - 1])) for n in candidates}
            else:
                scores = {n: float(matrix[i, n - 1]) for n in candidates}
            supporting = tuple(n for n, s in scores.items() if s >= self.threshold)
            score = max(scores.values(), default=0.0)
            checks.append(Check(d.text, cited, supporting, round(score, 4), bool(supporting)))
        return checks


def best_span(sentence: str, passage: str, supports: Callable[[str], bool] | None = None) -> tuple[int, int]:
    """The (start, end) inside `passage` of the sentence, or pair of adjacent sentences,
    that best matches `sentence` (an exact occurrence wins). With `supports(quote)`, the
    quote is the shortest run of one to three adjacent sentences that supports the sentence
    on its own (best matching first), so that the quote shown is the evidence checked; the
    best match when none does."""
    exact = passage.find(sentence.strip())
    if sentence.strip() and exact >= 0:
        return exact, exact + len(sentence.strip())
    spans = sentence_spans(passage) or [(0, len(passage))]
    target = set(terms(sentence))
    held = [set(terms(passage[a:b])) for a, b in spans]  # each sentence's terms, read once

    def match(run: tuple[int, int]) -> tuple[float, int]:
        """F-measure of the run's terms against the sentence's (cover it without dragging in
        unrelated text), then the shorter run."""
        i, size = run
        cand = set().union(*held[i:i + size])
        length = spans[i + size - 1][1] - spans[i][0]
        if not target or not cand:
            return 0.0, -length
        return 2 * len(target & cand) / (len(target) + len(cand)), -length

    def span(run: tuple[int, int]) -> tuple[int, int]:
        return spans[run[0]][0], spans[run[0] + run[1] - 1][1]

    if supports is not None:
        for size in (1, 2, 3):
            runs = sorted(((i, size) for i in range(len(spans) - size + 1)), key=match, reverse=True)
            found = next((run for run in runs if supports(passage[slice(*span(run))])), None)
            if found is not None:
                return span(found)
    return span(max([(i, 1) for i in range(len(spans))] + [(i, 2) for i in range(len(spans) - 1)], key=match))


_REFUSAL = re.compile(r"\b(articles?|sources?|passages?|context)\b[^.]{0,40}\b(don'?t|do not|does not|doesn'?t)\s+"
                      r"(say|contain|mention|provide|include|answer)|\bno information\b|\bcannot answer\b|\bcan'?t answer\b",
                      re.IGNORECASE)


def is_refusal(text: str) -> bool:
    """True when a draft answer says the sources do not hold the answer."""
    head = text.strip()[:200]
    return bool(_REFUSAL.search(head)) and not _MARKER.search(head)
