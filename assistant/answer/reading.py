"""Evidence for the extractive answerer: what a question asks for (its answer type and
focus), the candidate windows of the retrieved passages (one or two adjacent sentences)
and the features that score how likely a window holds the answer."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from assistant.answer.injection import is_instruction
from assistant.core.data import Passage
from assistant.core.text import STOPWORDS, sentence_spans, terms, words

_MARKERS = re.compile(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]|【\s*\d+\s*】")
_COUNT = re.compile(r"\bhow many\b|\bwhat (?:number|percentage|share|proportion|amount)\b|\bnumber of\b", re.I)
_MEASURE = re.compile(r"\bhow (?:much|long|far|big|large|old|tall|wide|deep|high|often|fast|heavy)\b|\bwhat (?:is|was|"
                      r"are|were) the (?:length|distance|population|height|size|area|amount|cost|price|capacity|age)\b", re.I)
_DATE_Q = re.compile(r"^\W*when\b|\b(?:since|until|by) when\b|\b(?:what|which|in which|in what) (?:year|date|day|month|decade|century|time)\b", re.I)
_PERSON_Q = re.compile(r"\bwho(?:m|se)?\b", re.I)
_PLACE_Q = re.compile(r"\bwhere\b|\b(?:what|which) (?:city|country|state|town|county|region|province|place|"
                      r"island|continent|location|nation|capital|village|area|district)\b", re.I)
_ENTITY_Q = re.compile(r"\b(?:what|which)\s+(\w+)", re.I)
# A quantity asked as money ("what does he earn a week", "how much did it cost") or as a
# duration ("how long were they married"): only a span with a currency or a time unit answers.
_MONEY_Q = re.compile(r"\bhow much\b.*\b(?:cost|costs|costing|pay|pays|paid|earn|earns|earned|worth|spend|spends|"
                      r"spent|charged?|charges|sell|sells|sold|fined?|raised?|money|price[sd]?|fees?|salary|wages?)\b"
                      r"|^\W*(?:what|which)\s+(?:fee|fees|price|prices|salary|wage|wages|sum|fine|budget|bid|"
                      r"compensation|transfer fee)\b"
                      r"|^\W*what\b.*\b(?:earn|earns|earned|cost|costs|pay|pays|paid|charged?|charges)\b"
                      r"|\b(?:sell|sells|sold|selling|retails?|went|go|goes) for\b", re.I)
_DURATION_Q = re.compile(r"\bhow long\b(?!\s+(?:is|was|are|were)\s+the\s+\w+\s*\??$)|\bfor how (?:long|many "
                         r"(?:years|months|weeks|days|hours|seasons))\b", re.I)
_CURRENCY = re.compile(r"[$€£¥]|\b(?:dollars?|pounds?|euros?|cents?|pence|yen|yuan|rupees?|francs?|roubles?|rubles?|"
                       r"USD|GBP|EUR)\b", re.I)
_TIME_UNIT = re.compile(r"\b(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centur(?:y|ies)|"
                        r"seasons?|nights?|fortnights?)\b|-(?:year|month|week|day|hour|minute)\b", re.I)
_YES_NO_Q = re.compile(r"^(?:is|are|was|were|do|does|did|can|could|has|have|had|will|would|should)\b", re.I)
# Words a quantity question uses for the measure itself, not for the thing counted.
_MEASURE_WORDS = frozenset(terms("how much many long far big large old tall wide deep high often fast heavy"))

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|" \
         r"Jan\.|Feb\.|Mar\.|Apr\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
_DATE = re.compile(rf"\b(?:\d{{1,2}} {_MONTH}(?:,? \d{{4}})?|{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?|"
                   rf"{_MONTH},? \d{{4}}|{_MONTH}|(?:1[0-9]|20)\d{{2}}s?|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|"
                   r"yesterday|today|last (?:week|month|year))\b")
_NUMBER_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?|" \
               r"millions?|billions?|half|a third|a quarter|a fifth)"
_QUANTITY = re.compile(rf"(?:[$€£]\s?)?\b(?:\d[\d,.]*\d|\d)(?:\s?(?:%|percent|per cent))?(?:\s(?:million|billion|"
                       rf"trillion|thousand|hundred))?(?:\s[a-zA-Z²]+){{0,2}}|\b{_NUMBER_WORD}(?:\s[a-zA-Z²]+){{0,2}}", re.I)
_NAME = re.compile(r"\b[A-Z][\w'’.\-]*(?:\s+(?:(?:of|the|de|del|da|van|von|der|for|and|&)\s+)?[A-Z][\w'’\-]*)*")
_CAPITAL = re.compile(r"(?<![.!?]\s)\b[A-Z][\w'’\-]*")
_VERBS = frozenset("lost won fell took made left held sold paid killed died are were was is have has had do did".split())
_QUOTES = "\"“”"


@dataclass(frozen=True)
class QuestionProfile:
    """What a question asks: its answer type ("quantity", "date", "person", "place",
    "entity", "yesno" or "other"), its content terms, its focus (terms a window must hold,
    "how many *tanks*"), the terms of its capitalised names, and for a quantity the unit
    its answer must carry ("money", "duration" or None)."""

    text: str
    answer_type: str
    terms: tuple[str, ...]
    focus: tuple[str, ...]
    names: tuple[str, ...]
    unit: str | None = None  # "money" or "duration": the unit a quantity answer must carry


def has_content(question: str) -> bool:
    """False for a question with nothing to look up: markers ("[1]"), punctuation, only
    stop words."""
    return any(re.search(r"[^\W\d_]", w) and w not in STOPWORDS for w in words(_MARKERS.sub(" ", question)))


def profile(question: str) -> QuestionProfile:
    """The answer type, terms, focus and names of `question` (rules, no model)."""
    q = _MARKERS.sub(" ", question)
    unit = "money" if _MONEY_Q.search(q) else "duration" if _DURATION_Q.search(q) else None
    if _COUNT.search(q) or _MEASURE.search(q) or unit:
        kind = "quantity"
    elif _DATE_Q.search(q):
        kind = "date"
    elif _PERSON_Q.search(q):
        kind = "person"
    elif _PLACE_Q.search(q):
        kind = "place"
    elif _YES_NO_Q.search(q.strip()):
        kind = "yesno"
    elif any(w.lower() not in STOPWORDS for w in _ENTITY_Q.findall(q)):
        kind = "entity"
    else:
        kind = "other"
    focus: tuple[str, ...] = ()
    m = re.search(r"\bhow many ((?:[\w'’-]+\s*){1,4})", q, re.I)
    if m:  # the head noun: the last word before the first stop word ("how many Russian tanks were")
        head = []
        for w in m.group(1).split():
            if w.lower() in STOPWORDS or w.lower() in _VERBS or w.lower().endswith("ed"):
                break
            head.append(w)
        focus = tuple(terms(head[-1]))[-1:] if head else ()
    all_terms = [t for t in dict.fromkeys(terms(q)) if t not in _MEASURE_WORDS or kind != "quantity"]
    names = tuple(dict.fromkeys(t for m in _CAPITAL.finditer(q) if m.start() > 0 for t in terms(m.group())))
    return QuestionProfile(question, kind, tuple(all_terms), focus, names, unit)


@dataclass(frozen=True)
class Window:
    """One or more adjacent sentences of a retrieved passage: offsets into `passage.text`."""

    passage: int  # 1-based
    start: int
    end: int
    text: str
    sentences: int


def starts_mid_quote(text: str) -> bool:
    """True when `text` begins inside a quotation (its first quote mark closes one)."""
    for i, ch in enumerate(text):
        if ch == "“":
            return False
        if ch == "”":
            return True
        if ch == '"':
            if text.count('"') % 2 == 0:
                return False
            before = text[i - 1] if i else " "
            return not before.isspace() and before not in "([—-"
    return False


def windows(passages: Sequence[Passage], size: int = 2) -> list[Window]:
    """Every window of 1..`size` adjacent sentences of each passage. A window never starts
    in the middle of a quotation (one more sentence is allowed to reach its end) and never
    holds text addressed to an assistant. Duplicates across passages are dropped."""
    out: list[Window] = []
    seen: set[tuple[str, int, int]] = set()
    for n, p in enumerate(passages, start=1):
        spans = sentence_spans(p.text, glued=True)
        bad = [is_instruction(p.text[a:b]) for a, b in spans]
        mid = [starts_mid_quote(p.text[a:b]) for a, b in spans]
        for i in range(len(spans)):
            if mid[i]:
                continue
            for j in range(i, min(len(spans), i + size + 1)):
                if bad[j] or j - i + 1 > size and not mid[j]:
                    break
                a, b = spans[i][0], spans[j][1]
                key = (p.doc_id, p.start + a, p.start + b)
                if key not in seen:
                    seen.add(key)
                    out.append(Window(n, a, b, p.text[a:b], j - i + 1))
    return out


def typed_spans(kind: str, text: str, exclude: set[str], unit: str | None = None) -> list[tuple[int, int]]:
    """Spans of `text` of the answer type `kind` (for a quantity, carrying `unit` when one
    is asked) whose terms are not all in `exclude` (the question's own words are never its
    answer)."""
    if kind == "quantity":
        found = [(m.start(), m.end()) for m in _QUANTITY.finditer(text)]
        found = [_trim_quantity(text, a, b, exclude) for a, b in found]
        if unit == "money":
            found = [(a, b) for a, b in found if _CURRENCY.search(text[max(0, a - 1):b])]
        elif unit == "duration":
            found = [(a, b) for a, b in found if _TIME_UNIT.search(text[a:b])]
    elif kind == "date":
        found = [(m.start(), m.end()) for m in _DATE.finditer(text)]
    elif kind in ("person", "place", "entity"):
        found = [(m.start(), m.end()) for m in _NAME.finditer(text)
                 if not (m.group().lower() in STOPWORDS or m.start() == 0 and " " not in m.group())
                 and (kind != "person" or " " in m.group())
                 and (kind != "place" or re.search(r"\b(?:in|at|from|near|of)\s+$", text[max(0, m.start() - 6):m.start()]))]
    else:
        return []
    return [(a, b) for a, b in found if b > a and not set(terms(text[a:b])) <= exclude]


_TRAILING = frozenset("since after before until while when and but as than".split())


def _trim_quantity(text: str, a: int, b: int, exclude: set[str]) -> tuple[int, int]:
    """Cut trailing words that are stop words ("502 square kilometers in" -> "502 square kilometers")."""
    span = text[a:b].rstrip(" .,;:")
    parts = span.split(" ")
    while len(parts) > 1 and (parts[-1].lower() in STOPWORDS or parts[-1].lower() in _TRAILING
                              or not parts[-1][:1].isalpha()):
        parts.pop()
    return a, a + len(" ".join(parts))


FEATURES = ("bias", "coverage", "names", "focus", "type", "similarity", "rank", "passage_coverage",
            "relative", "pair", "question_coverage", "unpunctuated", "length")


def features(q: QuestionProfile, cands: Sequence[Window], passages: Sequence[Passage],
             idf: Callable[[str], float], sims: np.ndarray) -> np.ndarray:
    """One row of FEATURES (each in [0, 1]) per window: how much of the question's
    IDF-weighted terms, names and focus it holds, whether it has a span of the expected
    answer type, its semantic similarity, its passage's rank and coverage, and how much
    of the question the retrieved passages cover at all."""
    weights = {t: idf(t) for t in q.terms}
    total = sum(weights.values()) or 1.0
    qset = set(q.terms)
    p_terms = [set(terms(p.text)) for p in passages]
    union = set().union(*p_terms) if p_terms else set()
    q_cov = sum(w for t, w in weights.items() if t in union) / total
    rows = []
    for w, sim in zip(cands, sims):
        wt = set(terms(w.text))
        cov = sum(v for t, v in weights.items() if t in wt) / total
        names = sum(t in wt for t in q.names) / len(q.names) if q.names else cov
        focus = sum(t in wt for t in q.focus) / len(q.focus) if q.focus else 1.0
        typed = (1.0 if typed_spans(q.answer_type, w.text, qset, q.unit) else 0.0) if q.answer_type in (
            "quantity", "date", "person", "place", "entity") else 0.5
        pcov = sum(v for t, v in weights.items() if t in p_terms[w.passage - 1]) / total
        unpunct = 0.0 if w.text.rstrip("\"'”’)").endswith((".", "!", "?", "…")) else 1.0
        rows.append([1.0, cov, names, focus, typed, float(sim), 1.0 / passages[w.passage - 1].rank
                     if passages[w.passage - 1].rank else 1.0 / w.passage, pcov, 0.0, float(w.sentences > 1),
                     q_cov, unpunct, min(len(wt) / 40, 1.0)])
    x = np.array(rows, dtype=float).reshape(len(rows), len(FEATURES))
    if len(x):
        best = x[:, 1].max()
        x[:, 8] = x[:, 1] / best if best > 0 else 0.0
    return x


QUESTION_FEATURES = ("bias", "best_logit", "question_coverage", "passage_coverage", "passage_names",
                     "rare_terms", "similarity", "passage_bigrams")


def question_features(q: QuestionProfile, passages: Sequence[Passage], idf: Callable[[str], float],
                      x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """One row of QUESTION_FEATURES: the best window's logit and how well the single best
    passage covers the question (its weighted terms, its names, its two rarest terms);
    the inputs of the answerability model."""
    weights = {t: idf(t) for t in q.terms}
    total = sum(weights.values()) or 1.0
    rare = sorted(weights, key=lambda t: -weights[t])[:2]
    best_cov = best_names = best_rare = 0.0
    q_pairs = _pairs(terms(q.text))
    bigrams = max((len(q_pairs & _pairs(terms(p.text))) / len(q_pairs) for p in passages), default=0.0) if q_pairs else 0.0
    for p in passages:
        pt = set(terms(p.text))
        cov = sum(w for t, w in weights.items() if t in pt) / total
        if cov >= best_cov:
            best_cov = cov
            best_names = sum(t in pt for t in q.names) / len(q.names) if q.names else cov
            best_rare = sum(t in pt for t in rare) / len(rare) if rare else 0.0
    best = float(logits.max()) if len(logits) else -10.0
    return np.array([1.0, best / 5, float(x[0, 10]) if len(x) else 0.0, best_cov, best_names, best_rare,
                     float(x[:, 5].max()) if len(x) else 0.0, bigrams])


def _pairs(seq: Sequence[str]) -> set[tuple[str, str]]:
    """Adjacent content-term pairs: phrases ("Gunmen from Laredo" -> (gunmen, laredo))."""
    return set(zip(seq, seq[1:]))
