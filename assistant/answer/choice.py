"""Questions that offer two options: "Who was born first, A or B?", "Which documentary was
released earlier, A or B?", "Is A or B the largest private hospital in Washington?".

The reader reads each option's defining sentence (`answer.named`) and picks:
- for "first / earlier / older" the option whose sentence gives the earlier year, for
  "later / younger / second" the later one;
- otherwise the option whose sentences state more of the question's other content words
  ("from Italy", "the largest private hospital"), when exactly one states more.
A question asking for a count or an amount ("which band has more members") is left to the
ordinary reader: a sentence rarely states both sides of it. No pick leaves the question to
the ordinary reader too."""
from __future__ import annotations

import re
from typing import Sequence

from assistant.answer import named
from assistant.core.text import terms

_EARLY = re.compile(r"\b(?:first|earlier|earliest|older|oldest|before)\b", re.I)
_LATE = re.compile(r"\b(?:later|latest|younger|youngest|newer|newest|more recent(?:ly)?|most recent(?:ly)?|"
                   r"second)\b", re.I)
_AMOUNT = re.compile(r"\b(?:more|most|fewer|less|least|higher|highest|lower|lowest|larger|smaller|bigger|"
                     r"longer|shorter|taller|further|farther|closer|largest|biggest|smallest|greatest|best|"
                     r"worst|often)\b", re.I)
_AUX = re.compile(rf"^\s*{named.AUX}\s+(?:the\s+)?", re.I)
# Words of a choice question that say what is compared, not what an option must be.
_ASKING = frozenset(terms("which who whom what whose one two following born released founded formed started "
                          "published opened established created made"))


def read_options(question: str, passages: Sequence[str]) -> tuple[str, str, str] | None:
    """(option A, option B, the rest of the question), or None when the question offers no
    two options found in the passages."""
    q = question.strip().rstrip("?").strip()
    if " or " not in q:
        return None
    aux = _AUX.match(q)
    if aux:  # "Is A or B the largest ...": B ends where the passages stop naming it
        first, _, tail = q[aux.end():].partition(" or ")
        second = named.longest_held(tail, passages) or (tail if named.found(tail, passages) else None)
        if not second or not named.found(first, passages):
            return None
        return first.strip(" ,"), second, tail[len(second):]
    head, _, second = q.rpartition(" or ")
    second, comma, after = second.partition(",")  # "Which musician, A or B, played bass"
    if comma and not named.found(second.strip(), passages):
        second, after = second + comma + after, ""
    second = re.sub(r"^the\s+", "", second.strip(" ,"), flags=re.I)
    cut = max(head.rfind(","), head.rfind(":"))
    if cut >= 0:  # "Who was born first, A or B"
        lead, first = head[:cut], head[cut + 1:].strip()
    else:  # "Who was born first A or B": the longest run of last words the passages name
        words = head.split()
        first = next((" ".join(words[i:]) for i in range(1, len(words))
                      if " ".join(words[i:])[:1].isupper() and named.found(" ".join(words[i:]), passages)), "")
        lead = head[:len(head) - len(first)]
    first = re.sub(r"^the\s+", "", first, flags=re.I)
    if not first or not second or not named.found(first, passages) or not named.found(second, passages):
        return None
    return first, second, f"{lead} {after}".strip()


def decide(question: str, passages: Sequence[str]) -> named.Decision | None:
    """The option the passages pick, or None."""
    options = read_options(question, passages)
    if options is None:
        return None
    first, second, rest = options
    where = [named.sentences_of(first, second, passages), named.sentences_of(second, first, passages)]
    if not all(where):
        return None
    texts = [" ".join(passages[i][a:b] for i, a, b in w) for w in where]
    pick: int | None = None
    early, late = _EARLY.search(rest), _LATE.search(rest)
    if early or late:
        years = [named.first_year(t) for t in texts]
        if years[0] and years[1] and years[0] != years[1]:
            earlier = 0 if int(years[0]) < int(years[1]) else 1
            pick = earlier if early and not late else 1 - earlier if late and not early else None
    elif not _AMOUNT.search(rest):
        category = re.match(r"\s*(?:which|what)\s+([\w'-]+)", rest, re.I)  # "which species": both are
        wanted = set(terms(rest)) - _ASKING - set(terms(category.group(1) if category else ""))
        held = [len(wanted & set(terms(t))) for t in texts]
        if wanted and held[0] != held[1]:
            pick = 0 if held[0] > held[1] else 1
    if pick is None:
        return None
    name = (first, second)[pick]
    i, a, b = where[pick][0]
    return named.Decision(_as_named(name, passages[i][a:b]), (where[pick][0], where[1 - pick][0]))


def _as_named(name: str, sentence: str) -> str:
    """`name` as the sentence writes it, when it writes it whole (case may differ)."""
    at = sentence.lower().find(name.lower())
    return sentence[at:at + len(name)] if at >= 0 else name
