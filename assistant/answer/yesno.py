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

from assistant.answer import named
from assistant.core.text import terms

_SAME = re.compile(r"\b(?:the\s+)?same\s+([a-z]+)(?:\s+of\s+([a-z]+))?", re.I)
_LEAD = re.compile(rf"^\s*{named.AUX}\s+(?:both\s+)?", re.I)
# Lower-case words between the two names and "the same X" / after the names ("founded in").
_LINK = re.compile(r"\s+(?:(?:both|each|all|also|originally|currently|ever|still|been|have|has|had|share|shared|"
                   r"of|from|in|on|at|by|for|located|based|founded|released|published|born|formed|created|known|"
                   r"established|made|belong|belonged|work|worked|play|played|come|came|considered|part|to|"
                   r"a|an|the)\b\s*)+$", re.I)
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
        pair = named.split_pair(names, passages)
        return Comparison(pair[0], pair[1], "same", attribute=attribute) if pair else None
    both = re.search(r"\s+both\s+", rest, re.I)
    if both and " and " in rest[:both.start()]:  # "Are A and B both P"
        pair = named.split_pair(rest[:both.start()], passages)
        predicate = rest[both.end():]
    elif q[lead.start():lead.end()].lower().rstrip().endswith("both"):  # "Are both A and B P"
        first, sep, tail = rest.partition(" and ")
        if not sep:
            return None
        second = named.longest_held(tail, passages)
        pair = (named.strip_words(first), second) if second else None
        predicate = tail[len(second or ""):] if second else ""
    else:
        return None
    if not pair or not terms(predicate):
        return None
    return Comparison(pair[0], pair[1], "both", predicate=predicate.strip())


def decide(question: str, passages: Sequence[str], parse: Parse | None = None) -> named.Decision | None:
    """The Yes or No of a comparison question from the passages, or None when the evidence
    does not decide it (or the question is not such a comparison)."""
    c = read_comparison(question, passages)
    if c is None:
        return None
    where = [named.sentences_of(c.first, c.second, passages), named.sentences_of(c.second, c.first, passages)]
    if not all(where):
        return None
    texts = [" ".join(passages[i][a:b] for i, a, b in w) for w in where]
    evidence = tuple(w[0] for w in where)
    if c.kind == "both":
        wanted = set(terms(c.predicate))
        held = [wanted & set(terms(t)) for t in texts]
        if all(h == wanted for h in held):
            return named.Decision("Yes", evidence)
        if held[0] != held[1] and (held[0] | held[1]) == wanted:
            return named.Decision("No", evidence)  # a word of P one states and the other lacks
        return None
    values = [_values(c.attribute, t, parse) for t in texts]
    if not all(values):
        return None
    return named.Decision("Yes" if values[0] & values[1] else "No", evidence)


def _values(attribute: str, text: str, parse: Parse | None) -> set[str]:
    """The values of `attribute` (a year, a family name, nationalities or places) a text states."""
    if attribute == "year":
        year = named.first_year(text)
        return {year} if year else set()
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
