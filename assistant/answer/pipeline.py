"""The pipeline of one question: condense -> retrieve -> gate -> generate -> check citations
-> fall back -> news annotations. The `Assistant` facade wires its parts and calls `stream`."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

from assistant.answer.cite import Checker, is_refusal
from assistant.answer.extractive import ExtractiveGenerator, Selection
from assistant.answer.finalize import finalize, refusal_answer
from assistant.answer.injection import strip_links
from assistant.answer.reading import has_content, profile
from assistant.core import errors
from assistant.core.data import Answer, Passage, Usage
from assistant.core.settings import Settings
from assistant.core.text import terms
from assistant.index.index import Index
from assistant.models.embed import Embedder
from assistant.models.generate import Generator, OpenAIGenerator, StreamEnd
from assistant.news.annotate import annotate, in_date_order, with_conflicts
from assistant.retrieve.condense import condense
from assistant.retrieve.filters import Filters
from assistant.retrieve.search import search

History = Sequence[tuple[str, str]]


@dataclass
class AnswerPipeline:
    """One question's trip through the stages, over an index, an embedder and a backend."""

    settings: Settings
    index: Index
    embedder: Embedder
    generator: Generator
    reader: ExtractiveGenerator  # the gate and the fallback (the generator itself when extractive)
    encoder: Embedder | None = None  # the sentence encoder that re-ranks candidates (settings.encoder_rerank)

    def stream(self, question: str, history: History, top_k: int | None,
               filters: Filters | None) -> Iterator[str | Answer]:
        """Text deltas of the draft as it is generated, then the checked `Answer` (see
        `Assistant.stream` for the policy)."""
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        keyword = self.index.keyword()
        stories = self.index.stories()
        if not keyword.size:
            raise errors.IndexNotFound("no documents in the index yet: run `assistant ingest seeds/` "
                                       "(or upload articles in the UI)")
        gen = self.generator
        if not has_content(question):
            timings["total"] = _ms(t0)
            yield refusal_answer(question, [], timings, reason="invalid", backend=gen.name, model=gen.model,
                                 confidence=0.0)
            return
        query, usage = self.condense(question, history)
        if history:
            timings["condense"] = _ms(t0)
        tr = time.perf_counter()
        passages = search(query, top_k or self.settings.top_k, settings=self.settings, store=self.index.store,
                          embedder=self.embedder, keyword=keyword, stories=stories, filters=filters,
                          question=question, encoder=self.encoder)
        extractive = self.reader
        scoring = extractive.score(query, passages)
        if gen is not extractive:  # the passages the reader would quote first: a model reads the leading few
            passages, scoring = extractive.order(passages, scoring)
        # A model reads the leading passages its prompt holds; the extractive reader (the gate and
        # the fallback) reads every retrieved passage. Citation numbers agree: `shown` is a prefix.
        shown = gen.fit(question, passages, history)
        timings["retrieve"] = _ms(tr)
        t1 = time.perf_counter()
        selection = extractive.select(query, passages, scoring)
        meta = dict(backend=gen.name, model=gen.model, usage=usage, confidence=selection.confidence,
                    standalone_question=query if query != question else None)
        parts: list[str] = []
        end = StreamEnd("stop", True)
        # The extractive gate decides for the extractive answer; a model reads whenever retrieval
        # found anything relevant (a passage holding a content word of the question) and may
        # refuse itself: the gate never vetoes a reader stronger than itself.
        asks_model = gen is not extractive and (selection.answerable or relevant(query, passages))
        if selection.answerable or asks_model:
            pieces = extractive.draft(selection) if gen is extractive else gen.stream(question, shown, history)
            for piece in pieces:
                if isinstance(piece, Usage):
                    usage = usage + piece
                elif isinstance(piece, StreamEnd):
                    end = piece
                else:
                    parts.append(piece)
                    yield piece
        timings["generate"] = _ms(t1)
        t2 = time.perf_counter()
        link_hosts = self.settings.link_hosts.split(",") if self.settings.link_hosts else ()
        draft = strip_links("".join(parts), link_hosts)
        meta.update(usage=usage, incomplete=not end.complete)
        if not selection.answerable and not asks_model:
            answer = refusal_answer(question, passages, timings, reason=selection.refusal or "no_evidence", **meta)
        elif is_refusal(draft) or not draft.strip():
            answer = refusal_answer(question, passages, timings, reason="no_evidence", **meta)
            if getattr(gen, "defers_refusal", False) and selection.answerable:  # the reader found the answer
                answer = self._instead(question, passages, selection, extractive, timings, meta,
                                       "said the articles do not answer", answer)
        else:
            answer = self._checked(question, draft, passages, selection, extractive, end, timings, meta)
        answer = annotate(with_conflicts(in_date_order(answer), passages), stories, self.index.store.document)
        timings["cite"] = _ms(t2)
        timings["total"] = _ms(t0)
        yield dataclasses.replace(answer, timings_ms=dict(timings))

    def _checked(self, question: str, draft: str, passages: list[Passage], selection: Selection,
                 extractive: ExtractiveGenerator, end: StreamEnd, timings: dict[str, float],
                 meta: dict) -> Answer:
        """The draft with its citations checked. An LLM draft that fails the check (or, from a
        model flagged `must_agree`, does not state the extractive short answer) is replaced
        by the checked extractive answer, marked by `backend` and `warning`."""
        gen, policy = self.generator, self.settings.answer_policy
        answer = finalize(question, draft, passages, self._checker(), timings, policy=policy,
                          drop_unsupported=gen is extractive, **meta)
        # A model flagged `must_agree` must state the extractive short answer when there is one;
        # where the gate found no answer, its draft stands on the citation check alone.
        disagrees = getattr(gen, "must_agree", False) and selection.answerable and not answer.refused \
            and not _states(answer, selection.short)
        if not selection.answerable and gen is not extractive:
            return answer  # no extractive answer to fall back to: the checked draft, or its refusal
        if (answer.refused or disagrees) and gen is not extractive:
            why = "did not state the answer the evidence gives" if disagrees else "failed the citation check"
            answer = self._instead(question, passages, selection, extractive, timings, meta, why, answer)
        if answer.incomplete and not answer.refused:
            note = f"the answer was cut off ({end.finish_reason or 'stream ended early'}); it may be incomplete"
            answer = dataclasses.replace(answer, warning="; ".join(filter(None, [answer.warning, note])))
        return answer

    def _checker(self) -> Checker:
        gen = self.generator
        judge = gen.judge if self.settings.judge == "llm" and isinstance(gen, OpenAIGenerator) else None
        return Checker(threshold=self.settings.min_support, judge=judge)

    def _instead(self, question: str, passages: list[Passage], selection: Selection, extractive: ExtractiveGenerator,
                 timings: dict[str, float], meta: dict, why: str, answer: Answer) -> Answer:
        """The checked extractive answer in place of a model's `answer` (which `why` explains),
        marked by `backend` and `warning`; `answer` itself if the extractive one is refused."""
        gen = self.generator
        fallback = finalize(question, "".join(extractive.draft(selection)), passages, self._checker(), timings,
                            policy=self.settings.answer_policy, drop_unsupported=True,
                            **(meta | dict(incomplete=False)))
        if fallback.refused:
            return answer
        note = f"the {gen.name} model's answer {why}; this is the extractive answer (verbatim sentences of the articles) instead"
        return dataclasses.replace(fallback, backend=f"extractive (fallback from {gen.name})",
                                   warning="; ".join(filter(None, [fallback.warning, note])))

    def condense(self, question: str, history: History) -> tuple[str, Usage]:
        """The retrieval query. An LLM endpoint rewrites a follow-up; the extractive answerer
        and the tiny local model (too small to rewrite reliably) use the rules."""
        gen = self.generator
        if history and isinstance(gen, OpenAIGenerator) and gen.name == "openai":
            return gen.condense(question, history)
        return condense(question, history), Usage()


def relevant(question: str, passages: Sequence[Passage]) -> bool:
    """Whether retrieval found anything a reader could use: the passages hold every name the
    question mentions and at least half of its content words."""
    q = profile(question)
    held = set().union(*(terms(p.text) for p in passages)) if passages else set()
    if not q.terms or not set(q.names) <= held:
        return False
    return sum(t in held for t in q.terms) >= len(q.terms) / 2


def _states(answer: Answer, short: str | None) -> bool:
    """True when `answer` states `short` (case- and space-insensitive); False when there
    is no short answer to agree with (an open question: the verbatim evidence is safer
    than a tiny model's paraphrase, which the checker cannot judge for relevance)."""
    if not short:
        return False
    norm = lambda t: " ".join(t.lower().split())  # noqa: E731
    return norm(short) in norm(answer.answer)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
