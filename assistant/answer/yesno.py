"""Yes/no questions that compare two named things: "Are A and B both P?", "Are both A and
B P?", "Were A and B released in the same year?", "Do A and B have the same nationality?".

The reader finds, for each of A and B, the first passage sentence that names it (its
defining sentence in an encyclopedic or news text), and decides:
- "both P": Yes when each thing's sentences state every content word of P; No when one
  thing's sentences lack a word of P that the other's state (the distinguishing word:
  "Canadian indie rock band" vs "American rock band"); otherwise no verdict.
- "the same X" (year, nationality, country, state, city, family): Yes when the values
  read from the two things' sentences meet, No when both have values and they do not.
No verdict leaves the question to the ordinary reader: the verdict leads the answer only
when the evidence decides it, and its sentences are cited after it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from assistant.core.text import sentence_spans, terms

_AUX = r"(?:are|is|were|was|do|does|did|have|has|had)"
_SAME = re.compile(r"\b(?:the\s+)?same\s+([a-z]+)(?:\s+of\s+([a-z]+))?", re.I)
_LEAD = re.compile(rf"^\s*{_AUX}\s+(?:both\s+)?", re.I)
# Lower-case words between the two names and "the same X" / after the names ("founded in").
_LINK = re.compile(r"\s+(?:(?:both|each|all|also|originally|currently|ever|still|been|have|has|had|share|shared|"
                   r"of|from|in|on|at|by|for|located|based|founded|released|published|born|formed|created|known|"
                   r"established|made|belong|belonged|work|worked|play|played|come|came|considered|part|to|"
                   r"a|an|the)\b\s*)+$", re.I)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
# What a "same X" question compares, and the entity labels that carry it.
_PLACES = frozenset({"GPE", "LOC"})
ATTRIBUTES: dict[str, frozenset[str]] = {
    "nationality": frozenset({"NORP", "GPE"}), "country": frozenset({"NORP", "GPE"}),
    "origin": frozenset({"NORP", "GPE"}), "state": _PLACES, "city": _PLACES, "county": _PLACES,
    "province": _PLACES, "region": _PLACES, "continent": _PLACES, "place": _PLACES}
_DEMONYM = {"american": "united states", "us": "united states", "u.s.": "united states", "america": "united states",
            "usa": "united states", "british": "united kingdom", "english": "england", "scottish": "scotland",
            "welsh": "wales", "irish": "ireland", "french": "france", "german": "germany", "italian": "italy",
            "spanish": "spain", "canadian": "canada", "australian": "australia", "japanese": "japan",
            "chinese": "china", "indian": "india", "russian": "russia", "mexican": "mexico", "dutch": "netherlands",
            "swedish": "sweden", "norwegian": "norway", "danish": "denmark", "polish": "poland", "greek": "greece",
            "brazilian": "brazil", "argentine": "argentina", "argentinian": "argentina", "chilean": "chile",
            "austrian": "austria", "swiss": "switzerland", "belgian": "belgium", "korean": "korea",
            "south korean": "korea", "filipino": "philippines", "new zealand": "new zealand", "finnish": "finland",
            "portuguese": "portugal", "turkish": "turkey", "egyptian": "egypt", "israeli": "israel",
            "iranian": "iran", "pakistani": "pakistan", "nigerian": "nigeria", "south african": "south africa",
            "hungarian": "hungary", "czech": "czech republic", "ukrainian": "ukraine", "cuban": "cuba"}

_COUNTRIES = frozenset(_DEMONYM.values()) | {"the united states", "united states of america"}

Parse = Callable[[str], Any]


@dataclass(frozen=True)
class Comparison:
    """A yes/no question about two things: `kind` "both" (each is `predicate`) or "same"
    (their `attribute` is the same)."""

    first: str
    second: str
    kind: str
    predicate: str = ""
    attribute: str = ""


@dataclass(frozen=True)
class Verdict:
    """"Yes" or "No", and for each thing the (passage index, start, end) of the sentence read."""

    answer: str
    evidence: tuple[tuple[int, int, int], ...]


def read_comparison(question: str, passages: Sequence[str]) -> Comparison | None:
    """The Comparison a yes/no question asks, or None. Where the second name ends is read
    from the passages: the longest run of the question's words after "and" that they hold."""
    q = question.strip().rstrip("?").strip()
    lead = _LEAD.match(q)
    if not lead:
        return None
    rest = q[lead.end():]
    same = _SAME.search(rest)
    if same:
        attribute = (same.group(2) or same.group(1)).lower()
        names = _LINK.sub("", rest[:same.start()])
        pair = _split_pair(names, passages)
        return Comparison(pair[0], pair[1], "same", attribute=attribute) if pair else None
    both = re.search(r"\s+both\s+", rest, re.I)
    if both and " and " in rest[:both.start()]:  # "Are A and B both P"
        pair = _split_pair(rest[:both.start()], passages)
        predicate = rest[both.end():]
    elif q[lead.start():lead.end()].lower().rstrip().endswith("both"):  # "Are both A and B P"
        first, sep, tail = rest.partition(" and ")
        if not sep:
            return None
        second = _longest_held(tail, passages)
        pair = (_strip_words(first), second) if second else None
        predicate = tail[len(second or ""):] if second else ""
    else:
        return None
    if not pair or not terms(predicate):
        return None
    return Comparison(pair[0], pair[1], "both", predicate=predicate.strip())


def _strip_words(name: str) -> str:
    """A name without the lower-case words before it ("filmmakers Chris Carter")."""
    words = name.split()
    while len(words) > 1 and words[0][:1].islower():
        words.pop(0)
    return " ".join(words).strip(" ,")


def _split_pair(text: str, passages: Sequence[str]) -> tuple[str, str] | None:
    """Two names joined by "and": at the "and" where both sides are found in the passages
    ("Gin and tonic and Paloma")."""
    parts = text.split(" and ")
    for i in range(1, len(parts)):
        a, b = _strip_words(" and ".join(parts[:i])), _strip_words(" and ".join(parts[i:]))
        if a and b and _found(a, passages) and _found(b, passages):
            return a, b
    return None


def _longest_held(tail: str, passages: Sequence[str]) -> str | None:
    """The longest run of `tail`'s first words found in the passages as a name."""
    words = tail.split()
    for n in range(len(words) - 1, 0, -1):
        cand = " ".join(words[:n]).strip(" ,")
        if cand[:1].isupper() and any(cand.lower() in p.lower() for p in passages):  # whole, not by last word
            return cand
    return None


def _keys(name: str) -> list[str]:
    """How a passage may name `name`: whole, or by its last word ("Pam Veasey" ~ "Pamela
    Renea Veasey") when that is a capitalised word of four letters or more."""
    last = name.split()[-1] if name.split() else ""
    keys = [name.lower()]
    if last != name and len(last) >= 4 and last[:1].isupper():
        keys.append(last.lower())
    return keys


def _found(name: str, passages: Sequence[str]) -> bool:
    return any(k in p.lower() for k in _keys(name) for p in passages)


def _sentences_of(name: str, other: str, passages: Sequence[str], limit: int = 2) -> list[tuple[int, int, int]]:
    """(passage index, start, end) of the sentences that define `name`: the first sentence
    that names it (whole if any passage does, else by its last word) and those after it, at
    most `limit`, up to one that names `other` (the next paragraph's subject)."""
    for key in _keys(name):
        for i, p in enumerate(passages):
            low = p.lower()
            if key not in low:
                continue
            spans = sentence_spans(p, glued=True)
            hits = [k for k, (a, b) in enumerate(spans) if key in low[a:b]]
            if not hits:
                continue
            out = [(i, *spans[hits[0]])]
            for a, b in spans[hits[0] + 1:hits[0] + limit]:
                if any(k in low[a:b] for k in _keys(other)):
                    break
                out.append((i, a, b))
            return out
    return []


def decide(question: str, passages: Sequence[str], parse: Parse | None = None) -> Verdict | None:
    """The Verdict of a comparison question from the passages, or None when the evidence
    does not decide it (or the question is not such a comparison)."""
    c = read_comparison(question, passages)
    if c is None:
        return None
    where = [_sentences_of(c.first, c.second, passages), _sentences_of(c.second, c.first, passages)]
    if not all(where):
        return None
    texts = [" ".join(passages[i][a:b] for i, a, b in w) for w in where]
    evidence = tuple(w[0] for w in where)
    if c.kind == "both":
        wanted = set(terms(c.predicate))
        held = [wanted & set(terms(t)) for t in texts]
        if all(h == wanted for h in held):
            return Verdict("Yes", evidence)
        if held[0] != held[1] and (held[0] | held[1]) == wanted:
            return Verdict("No", evidence)  # a word of P one states and the other lacks
        return None
    values = [_values(c.attribute, t, parse) for t in texts]
    if not all(values):
        return None
    return Verdict("Yes" if values[0] & values[1] else "No", evidence)


def _values(attribute: str, text: str, parse: Parse | None) -> set[str]:
    """The values of `attribute` (a year, a family name, nationalities or places) a text states."""
    if attribute == "year":
        return set(_YEAR.findall(text)[:1])
    if attribute in ("family", "genus", "order"):
        m = re.search(rf"\b{attribute}\s+([A-Z][a-z]+)", text)
        return {m.group(1)} if m else set()
    labels = ATTRIBUTES.get(attribute)
    if labels is None or parse is None:
        return set()
    values = {_DEMONYM.get(e.text.lower(), e.text.lower()) for e in parse(text).ents if e.label_ in labels}
    if labels is _PLACES:  # "the same state": a country both are in says nothing
        values -= _COUNTRIES
    return values
