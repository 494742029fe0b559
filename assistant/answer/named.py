"""Finding a named thing in passages, for questions that compare two things ("Are A and B
both P?", "Who was born first, A or B?"): where a question's name ends, and the sentences
that define the thing (the first that names it, then the next, up to the other thing's)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from assistant.core.text import sentence_spans

# The auxiliary a yes/no or "Is A or B ..." question starts with.
AUX = r"(?:is|are|was|were|do|does|did|has|have|had)"


@dataclass(frozen=True)
class Decision:
    """A comparison decided from the passages: the answer ("Yes", "No" or the option picked,
    as the passage names it) and the (passage index, start, end) of the sentence read for
    each of the two things (for a pick, the picked one first)."""

    answer: str
    evidence: tuple[tuple[int, int, int], ...]


# A year; a digit may follow ("26 September 188926 May 1976": a dash lost in extraction).
_YEAR = re.compile(r"(?<![\d,.])(1[0-9]{3}|20[0-9]{2})(?![,.]?\d{3}\b)")


def first_year(text: str) -> str | None:
    """The first year a text states (a birth, release or founding year in a defining sentence)."""
    m = _YEAR.search(text)
    return m.group(1) if m else None


def strip_words(name: str) -> str:
    """A name without the lower-case words before it ("filmmakers Chris Carter")."""
    words = name.split()
    while len(words) > 1 and words[0][:1].islower():
        words.pop(0)
    return " ".join(words).strip(" ,")


def split_pair(text: str, passages: Sequence[str]) -> tuple[str, str] | None:
    """Two names joined by "and": at the "and" where both sides are found in the passages
    ("Gin and tonic and Paloma")."""
    parts = text.split(" and ")
    for i in range(1, len(parts)):
        a, b = strip_words(" and ".join(parts[:i])), strip_words(" and ".join(parts[i:]))
        if a and b and found(a, passages) and found(b, passages):
            return a, b
    return None


def longest_held(tail: str, passages: Sequence[str]) -> str | None:
    """The longest run of `tail`'s first words found in the passages as a name."""
    words = tail.split()
    for n in range(len(words) - 1, 0, -1):
        cand = " ".join(words[:n]).strip(" ,")
        if cand[:1].isupper() and any(cand.lower() in p.lower() for p in passages):  # whole, not by last word
            return cand
    return None


def keys(name: str) -> list[str]:
    """How a passage may name `name`: whole, or by its last word ("Pam Veasey" ~ "Pamela
    Renea Veasey") when that is a capitalised word of four letters or more."""
    last = name.split()[-1] if name.split() else ""
    keys = [name.lower()]
    if last != name and len(last) >= 4 and last[:1].isupper():
        keys.append(last.lower())
    return keys


def found(name: str, passages: Sequence[str]) -> bool:
    return any(k in p.lower() for k in keys(name) for p in passages)


def sentences_of(name: str, other: str, passages: Sequence[str], limit: int = 2) -> list[tuple[int, int, int]]:
    """(passage index, start, end) of the sentences that define `name`: the first sentence
    that names it (whole if any passage does, else by its last word) and those after it, at
    most `limit`, up to one that names `other` (the next paragraph's subject)."""
    for key in keys(name):
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
                if any(k in low[a:b] for k in keys(other)):
                    break
                out.append((i, a, b))
            return out
    return []
