"""Citation checking: parse `[n]` markers, verify each sentence against the passage it
cites, resolve each citation to an exact span, and renumber. Shared by every backend,
by `assistant.verify` and by the evaluation."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .text import sentence_spans, terms

# [1]  [1, 3]  [1][2]  【1】  [Source 1]  [source 2, 3]  [1-3]
_MARKER = re.compile(r"\[(?:sources?\s*)?(\d+(?:\s*[,;–-]\s*\d+)*)\]|【\s*(?:sources?\s*)?(\d+(?:\s*[,;]\s*\d+)*)\s*】",
                     re.IGNORECASE)
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
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


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's content terms found in the passage, in [0, 1]; a number
    in the sentence that the passage does not contain caps the score at 0.3."""
    s_terms = set(terms(sentence))
    if not s_terms:
        return 0.0
    p_terms = set(terms(passage))
    score = len(s_terms & p_terms) / len(s_terms)
    p_numbers = {n.replace(",", "") for n in _NUMBER.findall(passage)}
    if any(n.replace(",", "") not in p_numbers for n in _NUMBER.findall(sentence)):
        score = min(score, 0.3)
    return score


@dataclass
class Checker:
    """Scores sentences against passages. `embed` (texts -> unit vectors) adds semantic
    evidence; `judge(sentence, passage) -> [0, 1]` (an LLM or entailment model) overrides both."""

    threshold: float = 0.5
    embed: Callable[[Sequence[str]], np.ndarray] | None = None
    judge: Judge | None = None
    lexical_weight: float = 0.75

    def score(self, sentences: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        """Support matrix [sentence, passage] in [0, 1]."""
        if not sentences or not passages:
            return np.zeros((len(sentences), len(passages)))
        lex = np.array([[lexical_support(s, p) for p in passages] for s in sentences])
        if self.judge is not None:
            return np.array([[self.judge(s, p) for p in passages] for s in sentences])
        if self.embed is None:
            return lex
        vs, vp = self.embed(list(sentences)), self.embed(list(passages))
        sim = np.clip(vs @ vp.T, 0, 1)
        mixed = self.lexical_weight * lex + (1 - self.lexical_weight) * sim
        # Semantic similarity may lift a sentence, never an invented number.
        return np.where(lex <= 0.3, np.minimum(mixed, lex + 0.1), mixed)

    def check(self, draft: Sequence[DraftSentence], passages: Sequence[str]) -> list[Check]:
        """Verdict per sentence. Citations to numbers outside 1..len(passages) are dropped;
        an uncited sentence gets its best passage when that passes the threshold."""
        matrix = self.score([d.text for d in draft], passages)
        checks: list[Check] = []
        for i, d in enumerate(draft):
            cited = tuple(n for n in d.cited if 1 <= n <= len(passages))
            if cited:
                scores = {n: float(matrix[i, n - 1]) for n in cited}
            elif len(passages):
                best = int(np.argmax(matrix[i]))
                scores = {best + 1: float(matrix[i, best])}
            else:
                scores = {}
            supporting = tuple(n for n, s in scores.items() if s >= self.threshold)
            score = max(scores.values(), default=0.0)
            checks.append(Check(d.text, cited, supporting, round(score, 4), bool(supporting)))
        return checks


def best_span(sentence: str, passage: str) -> tuple[int, int]:
    """The (start, end) inside `passage` of the sentence, or pair of adjacent sentences,
    that best matches `sentence` (an exact occurrence wins)."""
    exact = passage.find(sentence.strip())
    if sentence.strip() and exact >= 0:
        return exact, exact + len(sentence.strip())
    spans = sentence_spans(passage) or [(0, len(passage))]
    candidates = spans + [(spans[i][0], spans[i + 1][1]) for i in range(len(spans) - 1)]
    target = set(terms(sentence))

    def quality(span: tuple[int, int]) -> tuple[float, int]:
        cand = set(terms(passage[span[0]:span[1]]))
        if not target or not cand:
            return 0.0, -(span[1] - span[0])
        overlap = len(target & cand)
        # F-measure: cover the sentence without dragging in unrelated text.
        return 2 * overlap / (len(target) + len(cand)), -(span[1] - span[0])

    return max(candidates, key=quality)


_REFUSAL = re.compile(r"\b(articles?|sources?|passages?|context)\b[^.]{0,40}\b(don'?t|do not|does not|doesn'?t)\s+"
                      r"(say|contain|mention|provide|include|answer)|\bno information\b|\bcannot answer\b|\bcan'?t answer\b",
                      re.IGNORECASE)


def is_refusal(text: str) -> bool:
    """True when a draft answer says the sources do not hold the answer."""
    head = text.strip()[:200]
    return bool(_REFUSAL.search(head)) and not _MARKER.search(head)
