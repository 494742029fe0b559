"""Timelines from dated sentences: order what several articles say about a topic by when
it happened, fold the same sentence carried by several outlets into one event, and find
articles that give different figures for the same quantity ("killed 12" vs "killed 15").

An event's date is the one its sentence states relative to the article ("on Wednesday",
"last week": the first such phrase, resolved by `reldates`; a range sorts by its first
day), else the article's published date. Items with neither are kept, last, with
`date=None`, so nothing the caller passed disappears silently."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from assistant.core.data import Passage
from assistant.core.text import sentence_spans, terms
from assistant.index.story_grouping import normalise
from assistant.news.reldates import date_hint, hints


@dataclass(frozen=True)
class Item:
    """One sentence of one article: `text` is `article[start:end]`."""

    doc_id: str
    published: str | None
    outlet: str | None
    text: str
    start: int
    end: int
    title: str = ""


@dataclass(frozen=True)
class TimelineEntry:
    """One dated line of a timeline: a sentence of one article (`quote` is `text[start:end]`
    of document `doc_id`), the date it is placed at, and the other documents that carry the
    same sentence."""

    date: str | None
    dated_by: str | None  # "sentence" (a relative date in it), "published" or None (undated)
    doc_id: str
    title: str
    outlet: str | None
    published: str | None
    quote: str
    start: int
    end: int
    date_hint: str | None = None
    also_in: tuple[str, ...] = ()


@dataclass(frozen=True)
class Figure:
    """A number stated in a sentence: `value` of `unit` ("people", "percent"), at
    `start:end` in the article (the number and its unit word)."""

    doc_id: str
    outlet: str | None
    date: str | None
    value: float
    unit: str
    text: str
    start: int
    end: int
    sentence: str
    context: tuple[str, ...] = ()  # content terms around it: what the number counts


@dataclass(frozen=True)
class Conflict:
    """Two articles giving different values for the same quantity; `first` is the earlier."""

    unit: str
    first: Figure
    second: Figure


def _as_item(x: Item | Sequence) -> Item:
    return x if isinstance(x, Item) else Item(*x)


def event_date(item: Item) -> tuple[str | None, str | None, str | None]:
    """(date, dated_by, human hint) of one item, by the rule in the module docstring."""
    found = hints(item.text, item.published)
    if found:
        return found[0].first_day, "sentence", date_hint(item.text, item.published)
    day = (item.published or "")[:10] or None
    return day, ("published" if day else None), None


def timeline(items: Iterable[Item | Sequence], topic: str | None = None) -> list[TimelineEntry]:
    """Events in date order (then published date, document, offset); undated ones last.
    With `topic`, only sentences that mention it (see `mentions_topic`) are kept. The same
    sentence (after normalising quotes, spacing and case) from several documents is one
    event: the earliest published copy, with the others in `also_in`."""
    kept: dict[str, list[Item]] = {}
    for item in map(_as_item, items):
        if topic and not mentions_topic(item.text, topic):
            continue
        kept.setdefault(normalise(item.text).casefold(), []).append(item)
    events = []
    for copies in kept.values():
        copies.sort(key=lambda i: (i.published is None, i.published or "", i.doc_id, i.start))
        first = copies[0]
        day, by, hint = event_date(first)
        others = tuple(dict.fromkeys(c.doc_id for c in copies[1:] if c.doc_id != first.doc_id))
        events.append(TimelineEntry(date=day, dated_by=by, doc_id=first.doc_id, title=first.title,
                                    outlet=first.outlet, published=first.published, quote=first.text,
                                    start=first.start, end=first.end, date_hint=hint, also_in=others))
    return sorted(events, key=lambda e: (e.date is None, e.date or "", e.published or "", e.doc_id, e.start))


def _topic_terms(topic: str) -> set[str]:
    return set(terms(topic))


def mentions_topic(sentence: str, topic: str) -> bool:
    """Whether `sentence` carries at least half (rounded up, at least one) of the topic's
    content terms (stemmed, stopwords dropped: "the crash of Flight 9525" ~ "crashed")."""
    want = _topic_terms(topic)
    if not want:
        return False
    return len(want & set(terms(sentence))) >= max(1, math.ceil(len(want) / 2))


def topic_items(doc_id: str, text: str, topic: str, published: str | None = None,
                outlet: str | None = None) -> list[Item]:
    """The sentences of an article that mention `topic`, as items with exact offsets
    (`text[item.start:item.end] == item.text`), in reading order."""
    return [Item(doc_id, published, outlet, text[a:b], a, b)
            for a, b in sentence_spans(text) if mentions_topic(text[a:b], topic)]


_WORDNUM = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                       "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split())}
_MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_FIGURE = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|" + "|".join(_WORDNUM) + r")"
                     r"(\s*(?:%|per ?cent\b)|(?:\s+(?:more|other|million|billion|thousand|hundred))?\s+([A-Za-z][a-z\-]+))",
                     re.IGNORECASE)
_SKIP_UNITS = {"a", "am", "pm", "and", "or", "to", "of", "in", "on", "at", "the", "years", "year", "per", "for"}
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "hundred": 1e2}


def figures(item: Item | Sequence) -> list[Figure]:
    """Numbers with a unit word in one item's sentence ("12 people", "3.5 million barrels",
    "40%"); years, times and day-of-month numbers are not figures."""
    item = _as_item(item)
    day, _, _ = event_date(item)
    out = []
    for m in _FIGURE.finditer(item.text):
        raw, tail = m.group(1), m.group(2).strip().lower()
        unit = "percent" if tail.startswith(("%", "per")) else (m.group(3) or "").lower()
        if not unit or unit in _SKIP_UNITS or re.search(_MONTHS + r"\s*$", item.text[:m.start()]):
            continue
        value = float(_WORDNUM[raw.lower()]) if raw.lower() in _WORDNUM else float(raw.replace(",", ""))
        if value.is_integer() and 1900 <= value <= 2100 and unit not in ("people", "percent"):
            continue
        for scale, factor in _SCALE.items():
            if f" {scale}" in f" {tail}":
                value *= factor
        out.append(Figure(item.doc_id, item.outlet, day, value, unit, m.group(0), item.start + m.start(),
                          item.start + m.end(), item.text, _context(item.text, m.start(), m.end(), unit)))
    return out


# Words that sit near any figure in news and say nothing about what it counts.
_GENERIC = frozenset(terms("police officials authorities spokesman reported least nearly almost some than total "
                           "million billion thousand hundred yesterday today monday tuesday wednesday thursday friday "
                           "saturday sunday week month year january february march april may june july august "
                           "september october november december"))


def _context(sentence: str, a: int, b: int, unit: str, width: int = 4) -> tuple[str, ...]:
    """Content terms within `width` words either side of `sentence[a:b]`, minus the unit,
    numbers and words that sit near any figure (dates, "police", "at least")."""
    near = sentence[:a].split()[-width:] + sentence[b:].split()[:width]
    drop = set(terms(unit)) | _GENERIC
    return tuple(sorted({t for t in terms(" ".join(near)) if not t[0].isdigit()} - drop))


def conflicting_figures(items: Iterable[Item | Sequence]) -> list[Conflict]:
    """Pairs of figures from different documents with the same unit word, at least one
    shared context term (e.g. "killed") and different values: "killed 12 people" vs
    "15 people were killed". Ordered by the earlier figure's date; one conflict per
    (document pair, unit, values)."""
    figs = [f for item in items for f in figures(item)]
    out, seen = [], set()
    for i, a in enumerate(figs):
        for b in figs[i + 1:]:
            if a.doc_id == b.doc_id or a.unit != b.unit or a.value == b.value:
                continue
            if not set(a.context) & set(b.context):
                continue
            first, second = sorted((a, b), key=lambda f: (f.date is None, f.date or "", f.doc_id))
            key = (first.doc_id, second.doc_id, a.unit, first.value, second.value)
            if key not in seen:
                seen.add(key)
                out.append(Conflict(a.unit, first, second))
    return sorted(out, key=lambda c: (c.first.date is None, c.first.date or "", c.second.date or ""))


def timeline_of(topic: str, passages: Sequence[Passage], limit: int = 30) -> list[TimelineEntry]:
    """The sentences of `passages` that mention `topic`, placed in time (a relative date in
    the sentence, resolved against its article's date, else the article's date), oldest
    first, undated last; the same sentence printed by several outlets is one line."""
    unique: dict[tuple[str, int], Item] = {}
    for p in passages:
        for a, b in sentence_spans(p.text):
            sentence = p.text[a:b]
            if mentions_topic(sentence, topic):  # overlapping chunks carry some sentences twice
                unique.setdefault((p.doc_id, p.start + a),
                                  Item(p.doc_id, p.published, p.outlet, sentence, p.start + a, p.start + b, p.title))
    return timeline(unique.values())[:limit]
