"""What a question asks for, read from its dependency parse, and which spans of a sentence
answer it: "how many *patients*" is answered only by a number attached to patients (its
head noun, or "N of the patients"), not by a country's population in the same sentence;
"what *fee* would X owe" and "how much did it *cost*" only by an amount of money attached
to the fee or the cost. A question with no such span in its evidence is not answered."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

# An amount of money is asked by these nouns ("what fee", "how much money") or verbs ("how
# much did it cost"); a share by these nouns ("what percentage").
MONEY_NOUNS = frozenset("""fee price cost salary wage fine sum budget bid compensation money payment prize
reward bail fund funding revenue profit income debt loan ransom bonus damages settlement tax rent
worth value bill spending investment deal contract earnings pay""".split())
MONEY_VERBS = frozenset("cost pay earn spend charge sell fine raise owe save fetch buy donate invest "
                        "award bill".split())
PERCENT_NOUNS = frozenset("percentage percent share proportion".split())
# A count of these is asked loosely ("how many people follow her" ~ "25,000 followers"):
# any noun the number counts will do, but not a unit of time or measure.
GENERIC = frozenset("people person thing".split())
UNITS = frozenset("""year month week day hour minute second decade century time percent per cent mile
kilometre kilometer metre meter foot feet inch pound kilogram kilo ton tonne dollar euro point goal
""".split())
# Words that mean the same asked thing ("cost" ~ "price").
SAME = {"cost": {"price", "spend", "pay", "worth", "value", "fetch", "sell", "buy", "bill"},
        "price": {"cost", "sell", "pay", "buy", "worth"}, "pay": {"cost", "fee", "spend", "earn", "salary"},
        "earn": {"salary", "wage", "pay", "income", "make"}, "spend": {"cost", "pay"},
        "save": {"saving", "savings", "cut"}, "fine": {"penalty", "pay"}, "season": {"year", "campaign"},
        "soldier": {"troop", "troops"}, "troop": {"soldier", "guard"}, "gunman": {"attacker", "militant"},
        "attacker": {"gunman", "militant"}}

COUNT_LABELS = frozenset({"CARDINAL", "QUANTITY"})
MONEY_LABELS = frozenset({"MONEY"})
AMOUNT_LABELS = frozenset({"QUANTITY", "MONEY", "CARDINAL", "PERCENT"})
PERCENT_LABELS = frozenset({"PERCENT"})
WH_WORDS = frozenset("who whom whose what which when where why how".split())


@dataclass(frozen=True)
class Asked:
    """What a question asks for: `kind` is "count" (how many N), "money", "amount" (how much
    N), "percent", or "" when the parse sets no condition; `focus` the lemma of the noun it
    asks about, `verb` the lemma of its governing verb, `labels` the entity types an answer
    span may have."""

    kind: str = ""
    focus: str | None = None
    verb: str | None = None
    labels: frozenset[str] = frozenset()


NOTHING = Asked()


def read_question(doc: Any) -> Asked:
    """The `Asked` of a parsed question (a spaCy Doc). A question that asks two things ("who
    made it and where was it shown") sets no condition: its answer spans sentences."""
    if sum(t.lower_ in WH_WORDS and t.head.dep_ != "relcl" for t in doc) > 1:  # not "the boy who ..."
        return NOTHING
    for t in doc:
        low = t.lower_
        if low in ("many", "much") and _after_how(t):
            noun = t.head if t.dep_ in ("amod", "advmod", "nummod") and t.head.pos_ in ("NOUN", "PROPN") else None
            if noun is None:  # "how many of the leaflets"
                noun = next((o for c in t.children if c.dep_ == "prep" and c.lower_ == "of" for o in c.children
                             if o.dep_ == "pobj" and o.pos_ in ("NOUN", "PROPN")), None)
            verb = _verb(t)
            if low == "many":
                if noun is None or noun.lemma_.lower() in ("time", "one"):
                    return NOTHING  # "how many times", "how many were": the patterns decide
                return Asked("count", noun.lemma_.lower(), verb, COUNT_LABELS)
            if noun is not None:
                focus = noun.lemma_.lower()
                if focus in MONEY_NOUNS:
                    return Asked("money", focus, verb, MONEY_LABELS)
                return Asked("amount", focus, verb, AMOUNT_LABELS)
            if verb in MONEY_VERBS:
                return Asked("money", None, verb, MONEY_LABELS)
            return NOTHING
        if low in ("what", "which") and t.dep_ == "attr" and t.head.lemma_ == "be":
            subject = next((c for c in t.head.children if c.dep_ == "nsubj" and c.pos_ == "NOUN"), None)
            if subject is not None and subject.lemma_.lower() in MONEY_NOUNS:  # "what is his weekly salary"
                return Asked("money", subject.lemma_.lower(), None, MONEY_LABELS)
        if low in ("what", "which") and t.dep_ == "det" and t.head.pos_ == "NOUN":
            focus = t.head.lemma_.lower()
            if focus in MONEY_NOUNS:
                return Asked("money", focus, _verb(t.head), MONEY_LABELS)
            if focus in PERCENT_NOUNS:
                return Asked("percent", focus, _verb(t.head), PERCENT_LABELS)
            return NOTHING
    return NOTHING


def _after_how(t: Any) -> bool:
    return t.i > 0 and t.doc[t.i - 1].lower_ == "how"


def _verb(t: Any) -> str | None:
    """The lemma of the nearest verb above `t` (the question's governing verb)."""
    for a in t.ancestors:
        if a.pos_ in ("VERB", "AUX") and a.lemma_.lower() not in ("be", "do", "have"):
            return a.lemma_.lower()
    return None


Similar = Callable[[str, str], float]


SIMILAR = 0.35  # word-vector similarity at which a noun stands for the focus (tourist ~ visitor)


def answer_spans(asked: Asked, doc: Any, similar: Similar | None = None,
                 threshold: float = SIMILAR) -> list[tuple[int, int]]:
    """Character spans of `doc` (a parsed sentence or window) that answer `asked`: entities
    of its types attached to its focus (or verb). `similar(a, b)` in [0, 1] lets a near
    synonym stand for the focus when it reaches `threshold`."""
    if not asked.kind:
        return []
    out = []
    for span in _typed(asked, doc):
        if _attached(asked, span, similar, threshold):
            out.append((span.start_char, span.end_char))
    return out


def _typed(asked: Asked, doc: Any) -> Iterable[Any]:
    """Entities of the asked types; for a count also bare numbers the NER left untyped."""
    seen = set()
    for e in doc.ents:
        if e.label_ in asked.labels:
            seen.update(range(e.start, e.end))
            yield e
    if asked.kind == "percent":  # "59 per cent" is not always tagged PERCENT
        for t in doc:
            if t.like_num and t.i not in seen and t.i + 1 < len(doc) and (
                    doc[t.i + 1].lower_ in ("%", "percent") or doc[t.i + 1:t.i + 3].text.lower() == "per cent"):
                yield doc[t.i:t.i + (3 if doc[t.i + 1].lower_ == "per" else 2)]
    if asked.kind == "count":
        for t in doc:
            if t.like_num and t.i not in seen and t.ent_type_ not in ("DATE", "TIME", "MONEY", "PERCENT", "ORDINAL"):
                yield doc[t.i:t.i + 1]


def _same(a: str, b: str, similar: Similar | None, threshold: float) -> bool:
    if a == b or b in SAME.get(a, ()) or a in SAME.get(b, ()):
        return True
    return similar is not None and similar(a, b) >= threshold


def _attached(asked: Asked, span: Any, similar: Similar | None, threshold: float) -> bool:
    root = span.root
    wanted = [w for w in (asked.focus, asked.verb) if w]
    if asked.kind == "percent":
        return True  # the percentage is the thing asked: its type is the condition
    if asked.kind == "count":
        focus = asked.focus or ""
        heads = [root.head] if root.dep_ in ("nummod", "quantmod", "amod", "compound") else []
        heads += [c for c in root.children if c.dep_ == "prep" and c.lower_ == "of" for c in c.children
                  if c.dep_ == "pobj"]  # "1,200 of the patients"
        heads += [t for t in span if t.pos_ in ("NOUN", "PROPN")]  # "3 million tourists" as one entity
        for h in heads:
            lemma = h.lemma_.lower()
            if focus in GENERIC and h.pos_ == "NOUN" and lemma not in UNITS:
                return True
            if _same(focus, lemma, similar, threshold):
                return True
        return False
    # money or amount: the focus or the verb within the span's clause (its ancestors and
    # their direct dependents): "the fee was $40", "it cost $5 million to build".
    near = set()
    for a in [root, *list(root.ancestors)[:4]]:
        near.add(a.lemma_.lower())
        near.update(c.lemma_.lower() for c in a.children)
    near.update(t.lemma_.lower() for t in span)
    return any(_same(w, n, similar, threshold) for w in wanted for n in near) if wanted else True
