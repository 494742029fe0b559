"""News-native steps around an answer: each citation's other outlets (`also_in`, from the
story grouping) and its relative-date hint ("on Wednesday = Wed 2025-03-05"), and the
timeline of a topic across articles. Plain functions over typed data; the `Assistant`
facade calls them."""
from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable, Sequence

from assistant.core.data import Answer, Citation, Document, Passage, Sentence
from assistant.core.errors import AssistantError
from assistant.core.text import sentence_spans
from assistant.index.stories import Stories
from assistant.news.reldates import date_hint
from assistant.news.timeline import Item, conflicting_figures

MAX_COPIES = 20  # copies of one story read to find a quoted sentence


def annotate(answer: Answer, stories: Stories, document: Callable[[str], Document]) -> Answer:
    """`answer` with every citation's `also_in` (the other documents of its story that print
    the quoted sentence: {doc_id, outlet, published}) and `date_hint` filled."""
    if not answer.citations:
        return answer
    loaded: dict[str, Document | None] = {}

    def doc(doc_id: str) -> Document | None:
        if doc_id not in loaded:
            loaded[doc_id] = None
            with contextlib.suppress(AssistantError):
                loaded[doc_id] = document(doc_id)
        return loaded[doc_id]

    cites = []
    for c in answer.citations:
        also: list[dict[str, Any]] = []
        try:
            copies = stories.copies(c.doc_id)[:MAX_COPIES]
        except RuntimeError:  # the grouping changed under us (a concurrent ingest): skip this once
            copies = []
        if copies:
            texts = {m: d.text for m in copies if (d := doc(m)) is not None}
            for m in stories.also_in(c.doc_id, c.quote, texts):
                d = loaded[m]
                also.append({"doc_id": m, "outlet": d.outlet if d else None, "published": d.published if d else None})
        cites.append(dataclasses.replace(c, also_in=tuple(also), date_hint=date_hint(c.quote, c.published)))
    return dataclasses.replace(answer, citations=tuple(cites))


MAX_CONFLICTS = 2


def in_date_order(answer: Answer) -> Answer:
    """`answer` with its sentences in the order of their articles' dates, when they cite
    more than one dated article with different dates (each part cited to its own article,
    oldest first; a sentence without a dated citation goes with the first sentence's date,
    ties keep their order). Citations are renumbered by first appearance; the text is rebuilt."""
    if answer.refused or len(answer.sentences) < 2:
        return answer
    by_n = {c.n: c for c in answer.citations}
    day = lambda s: min(((by_n[n].published or "")[:10] for n in s.citations if n in by_n), default="")  # noqa: E731
    dated = {day(s) for s in answer.sentences if day(s)}
    if len(dated) < 2 or len({by_n[n].doc_id for s in answer.sentences for n in s.citations if n in by_n}) < 2:
        return answer
    first = day(answer.sentences[0]) or "0000"
    order = sorted(range(len(answer.sentences)), key=lambda i: (day(answer.sentences[i]) or first, i))
    if order == list(range(len(answer.sentences))):
        return answer
    renumber: dict[int, int] = {}
    sentences = []
    for i in order:
        s = answer.sentences[i]
        for n in s.citations:
            renumber.setdefault(n, len(renumber) + 1)
        sentences.append(dataclasses.replace(s, citations=tuple(renumber[n] for n in s.citations)))
    for c in answer.citations:  # a citation no sentence carries keeps a number after the others
        renumber.setdefault(c.n, len(renumber) + 1)
    citations = sorted((dataclasses.replace(c, n=renumber[c.n]) for c in answer.citations), key=lambda c: c.n)
    text = " ".join(s.text + ("".join(f" [{n}]" for n in s.citations) if s.citations else " [unsupported]")
                    for s in sentences)
    return dataclasses.replace(answer, answer=text, sentences=tuple(sentences), citations=tuple(citations))


def with_conflicts(answer: Answer, passages: Sequence[Passage]) -> Answer:
    """`answer` plus one sentence per conflicting figure (at most MAX_CONFLICTS): when a
    cited sentence of a dated article states a number that another dated article among the
    retrieved passages gives differently for the same thing (same unit word, a shared term
    such as "killed"), the answer shows both, each with its outlet and date, and cites the
    other article's sentence verbatim, instead of picking one silently."""
    if answer.refused or not answer.citations:
        return answer
    cited_docs = {c.doc_id for c in answer.citations}
    items = {(c.doc_id, c.quote): (Item(c.doc_id, c.published, c.outlet, c.quote, c.start, c.end), None)
             for c in answer.citations if c.published}
    for p in passages:
        if p.doc_id in cited_docs or not p.published:
            continue
        for a, b in sentence_spans(p.text):
            items.setdefault((p.doc_id, p.text[a:b]), (Item(p.doc_id, p.published, p.outlet, p.text[a:b],
                                                            p.start + a, p.start + b), p))
    conflicts = [c for c in conflicting_figures(i for i, _ in items.values())
                 if (c.first.doc_id in cited_docs) != (c.second.doc_id in cited_docs)]
    if not conflicts:
        return answer
    citations, sentences, text, n = list(answer.citations), list(answer.sentences), answer.answer, \
        max(c.n for c in answer.citations)
    shown: set[tuple[str, str]] = set()
    for conflict in conflicts:
        mine, other = (conflict.first, conflict.second) if conflict.first.doc_id in cited_docs \
            else (conflict.second, conflict.first)
        item, passage = items[(other.doc_id, other.sentence)]
        if passage is None or (other.doc_id, other.sentence) in shown or len(shown) == MAX_CONFLICTS:
            continue
        shown.add((other.doc_id, other.sentence))
        n += 1
        mine_day = (items[(mine.doc_id, mine.sentence)][0].published or "")[:10]
        said = (f"Reports differ: {mine.text} ({mine.outlet or 'one article'}, published {mine_day}) but "
                f"{other.text} ({other.outlet or 'another article'}, published {(item.published or '')[:10]}): "
                f"“{item.text}”")
        citations.append(Citation(n=n, doc_id=passage.doc_id, title=passage.title, source=passage.source,
                                  chunk_id=passage.chunk_id, quote=item.text, start=item.start, end=item.end,
                                  published=passage.published, outlet=passage.outlet))
        sentences.append(Sentence(text=said, citations=(n,), supported=True, score=1.0))
        text = f"{text} {said} [{n}]"
    return dataclasses.replace(answer, answer=text, citations=tuple(citations), sentences=tuple(sentences))
