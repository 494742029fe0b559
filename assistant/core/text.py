"""Text primitives shared by the stages: sentence spans and content-word terms."""
from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "gen", "sen", "rep", "gov", "lt", "col",
    "capt", "sgt", "inc", "ltd", "co", "corp", "vs", "etc", "no", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mt", "ft", "approx", "est", "dept",
}
# End of sentence: . ! ? … (possibly repeated), then closing quotes/brackets, then whitespace.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_WORD = re.compile(r"[\w][\w'’\-]*", re.UNICODE)
# A term is a number with inner separators ("1,200", "3.5", "12,000") or a word; the number
# is one term ("1200"), not two ("1", "200") that would match every "1" and "200".
_TERM = re.compile(r"\d+(?:[.,]\d+)+|[\w][\w'’\-]*", re.UNICODE)
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them themselves
    then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves also said says say
    according one ones much many did does tell told according whose
    get gets got getting happen happens happened mean means meant regarding describe explain thing things
    kind way""".split()
)


_SURROGATE = re.compile("[\ud800-\udfff]")
INVALID_UNICODE = "invalid Unicode (a lone surrogate, e.g. a \\ud800 escape in JSON)"


def has_lone_surrogate(text: str) -> bool:
    """True when `text` holds a code point in U+D800-U+DFFF, which no UTF-8 text can: JSON
    lets a client send one ("\\ud800"), and storing, hashing or sending it back then fails."""
    return bool(_SURROGATE.search(text))


_GLUED = re.compile(r"[a-z0-9)\]\"”’][.!?](?=[A-Z][a-z])")


def sentence_spans(text: str, start: int = 0, end: int | None = None, glued: bool = False) -> list[tuple[int, int]]:
    """Split `text[start:end]` into sentences; returns (start, end) offsets into `text`,
    stripped of surrounding whitespace. Line breaks always end a sentence (headlines,
    list items and paragraphs carry no final punctuation). With `glued`, sentences that
    extraction glued together without a space ("...in July.The army...") are split too."""
    spans = _sentence_spans(text, start, end)
    if not glued:
        return spans
    out: list[tuple[int, int]] = []
    for a, b in spans:
        cut = a
        for m in _GLUED.finditer(text, a, b):
            out.append((cut, m.end()))
            cut = m.end()
        out.append((cut, b))
    return [(a, b) for a, b in out if b > a]


def _sentence_spans(text: str, start: int, end: int | None) -> list[tuple[int, int]]:
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n\r]+", text[start:end]):
        base = start + line.start()
        segment = line.group()
        cut = 0
        for m in _END.finditer(segment):
            if _is_abbreviation(segment, m.start()) or not _starts_sentence(segment, m.end()):
                continue
            spans.append((base + cut, base + m.end()))
            cut = m.end()
        spans.append((base + cut, base + len(segment)))
    return [s for s in (_strip(text, a, b) for a, b in spans) if s[1] > s[0]]


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _is_abbreviation(segment: str, dot: int) -> bool:
    if segment[dot] != ".":
        return False
    start = dot  # walk back over the word before the dot (a regex anchored at $ rescans the line)
    while start > 0 and (segment[start - 1].isalnum() or segment[start - 1] in "._"):
        start -= 1
    if start == dot:
        return False
    word = segment[start:dot]
    if word.lower() == "no":  # "No. 5", but not "said no."
        return segment[dot + 1:].lstrip()[:1].isdigit()
    if word.lower().rstrip(".") in _ABBREVIATIONS:
        return True
    # Initials and dotted acronyms: "J.", "U.S.", "a.m."
    return len(word) == 1 and word.isalpha() or bool(re.fullmatch(r"(?:\w\.)+\w", word))


def _starts_sentence(segment: str, pos: int) -> bool:
    rest = segment[pos:].lstrip()
    if not rest:
        return True
    first = rest[0]
    return first.isupper() or first.isdigit() or first in "\"'“‘([—-"


# Irregular forms the stemmer cannot join to their base ("lost" ~ "lose").
_IRREGULAR = {
    "lost": "lose", "won": "win", "fell": "fall", "fallen": "fall", "rose": "rise", "risen": "rise",
    "took": "take", "taken": "take", "gave": "give", "given": "give", "made": "make", "began": "begin",
    "begun": "begin", "left": "leave", "held": "hold", "sought": "seek", "paid": "pay", "sold": "sell",
    "bought": "buy", "struck": "strike", "fought": "fight", "met": "meet", "led": "lead", "spent": "spend",
    "brought": "bring", "thought": "think", "knew": "know", "known": "know", "saw": "see", "seen": "see",
    "went": "go", "gone": "go", "came": "come", "grew": "grow", "grown": "grow", "wrote": "write",
    "written": "write", "drove": "drive", "driven": "drive", "chose": "choose", "chosen": "choose",
    "froze": "freeze", "frozen": "freeze", "killed": "kill", "died": "die", "dead": "die", "death": "die",
    "deaths": "die", "seized": "seize", "kilometres": "kilometer", "kilometre": "kilometer", "km": "kilometer",
    "sq": "square", "usa": "us",
}


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters, digits, inner apostrophes and hyphens)."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


_US = re.compile(r"\bU\.S\.(?:A\.)?")


def terms(text: str) -> list[str]:
    """Stemmed content words (stopwords removed) and numbers; the unit of lexical matching
    and BM25. A number is one term whatever its thousands separators: "12,000" and "12000"
    are both "12000", "3.5" stays "3.5"."""
    out: list[str] = []
    for w in _TERM.findall(_US.sub("US", text)):
        out.extend(word_terms(w))
    return out


@lru_cache(maxsize=1 << 18)
def word_terms(raw: str) -> tuple[str, ...]:
    """The stemmed terms of one raw word token (cached: news vocabulary repeats)."""
    if raw[0].isdigit() and ("," in raw or "." in raw):
        if _THOUSANDS.fullmatch(raw):
            return (raw.replace(",", ""),)
        return tuple(p for p in raw.split(",") if p)  # "2020,2021" is two numbers
    w = raw.lower().replace("’", "'").removesuffix("'s")
    if w in STOPWORDS or len(w) < 2 and not w.isdigit():
        return ()
    parts = [p for p in w.split("-") if p] if "-" in w else [w]
    return tuple(_stemmer().stemWords([_IRREGULAR.get(p, p) for p in parts if p not in STOPWORDS]))
