"""Evaluation metrics as pure functions (definitions and formulas in README.md)."""
from __future__ import annotations

import math
import re
import string
from collections import Counter
from typing import Callable, Sequence

from assistant.answer.cite import lexical_support

# -- answers (SQuAD normalisation) ---------------------------------------------------------------
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | set("‘’“”–—…")


def normalize_answer(text: str) -> str:
    """SQuAD: lower case, drop punctuation and articles (a, an, the), squeeze whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(g) for g in golds))


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD token F1, the maximum over the gold answers."""
    pred = normalize_answer(prediction).split()
    best = 0.0
    for g in golds:
        gold = normalize_answer(g).split()
        common = sum((Counter(pred) & Counter(gold)).values())
        if common:
            precision, recall = common / len(pred), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
        elif not pred and not gold:
            best = max(best, 1.0)
    return best


def contains_answer(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when a normalised gold answer appears inside the normalised prediction."""
    p = f" {normalize_answer(prediction)} "
    return float(any(normalize_answer(g) and f" {normalize_answer(g)} " in p for g in golds))


def fact_coverage(prediction: str, facts: Sequence[str]) -> float:
    """Share of required facts found in the prediction (case-insensitive, whitespace-squeezed)."""
    if not facts:
        return 1.0
    p = " ".join(prediction.lower().split())
    return sum(" ".join(f.lower().split()) in p for f in facts) / len(facts)


# -- retrieval ------------------------------------------------------------------------------------
def squeeze(text: str) -> str:
    return " ".join(text.split()).lower()


def relevance(passages: Sequence[str], quotes: Sequence[str]) -> list[set[int]]:
    """For each passage, the indexes of the gold evidence quotes it contains."""
    qs = [squeeze(q) for q in quotes]
    return [{j for j, q in enumerate(qs) if q and q in squeeze(p)} for p in passages]


def retrieval_scores(rel: Sequence[set[int]], n_quotes: int, k: int) -> dict[str, float]:
    """hit@1, hit@k, recall@k (share of quotes found in the top k), MRR (first relevant
    passage, over the whole list), nDCG@10 (binary gain; ideal = min(quotes, 10) hits).
    The keys say "k" literally, so thresholds do not depend on the k of a run."""
    first = next((i for i, r in enumerate(rel, start=1) if r), None)
    found = set().union(*rel[:k]) if rel[:k] else set()
    dcg = sum(1 / math.log2(i + 1) for i, r in enumerate(rel[:10], start=1) if r)
    ideal = sum(1 / math.log2(i + 1) for i in range(1, min(n_quotes, 10) + 1))
    return {
        "hit@1": float(bool(rel[:1] and rel[0])),
        "hit@k": float(bool(found)),
        "recall@k": len(found) / n_quotes if n_quotes else 0.0,
        "mrr": 1 / first if first else 0.0,
        "ndcg@10": min(1.0, dcg / ideal) if ideal else 0.0,
    }


# -- citations (ALCE-style, our checker as the judge) ----------------------------------------------
Support = Callable[[str, str], bool]


def checker_support(threshold: float, question: str | None = None) -> Support:
    """The judge: does `evidence` support `sentence`? (The assistant's own checker, which
    reads a short answer such as "James Rodgers" together with the `question` it answers.)"""
    return lambda sentence, evidence: lexical_support(sentence, evidence, question) >= threshold


def citation_scores(sentences: Sequence[tuple[str, Sequence[str]]], supports: Support) -> tuple[float, float, int, int]:
    """ALCE citation recall and precision for one answer.

    `sentences` are (sentence, quotes of the citations it carries). Recall: the share of
    sentences whose cited quotes, joined, support them (an uncited sentence scores 0).
    Precision: the share of citations that are needed: a citation is irrelevant when it
    alone does not support its sentence and removing it leaves the sentence as supported
    as before. Returns (recall, precision, n_sentences, n_citations)."""
    recalled = needed = n_cites = 0
    for sentence, quotes in sentences:
        full = bool(quotes) and supports(sentence, " ".join(quotes))
        recalled += full
        for i, q in enumerate(quotes):
            n_cites += 1
            alone = supports(sentence, q)
            rest = [x for j, x in enumerate(quotes) if j != i]
            without = bool(rest) and supports(sentence, " ".join(rest))
            needed += alone or (full and not without)
    n = len(sentences)
    return (recalled / n if n else 0.0, needed / n_cites if n_cites else 0.0, n, n_cites)


# -- summaries ----------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def refusal_scores(refused: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, float]:
    """Precision and recall of refusals on unanswerable questions, and the false-refusal
    rate on answerable ones."""
    tp = sum(r and u for r, u in zip(refused, unanswerable))
    n_refused, n_unans = sum(refused), sum(unanswerable)
    n_ans = len(refused) - n_unans
    false = sum(r and not u for r, u in zip(refused, unanswerable))
    return {
        "precision": tp / n_refused if n_refused else (1.0 if not n_unans else 0.0),
        "recall": tp / n_unans if n_unans else 1.0,
        "false_refusal_rate": false / n_ans if n_ans else 0.0,
    }
