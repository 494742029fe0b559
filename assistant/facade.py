"""The `Assistant`: the public Python API that composes the pipeline stages.

The CLI, the Gradio UI and the evaluation all go through this class."""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from . import errors
from .answer import finalize, refusal_answer
from .chunk import Chunker
from .cite import Checker, is_refusal
from .condense import condense
from .embed import Embedder, make_embedder
from .evidence import has_content
from .extractive import ExtractiveGenerator
from .filters import Filters
from .guard import strip_links
from .generate import Generator, OpenAIGenerator, StreamEnd
from .index import Index
from .ingest import ingest_documents
from .keyword import KeywordIndex
from .load import load_paths
from .news import TimelineEntry, annotate, build_timeline, in_date_order, with_conflicts
from .prepare import Preparer
from .private import private_dir
from .recency import Recency, wants_recent
from .repair import RepairReport, repair_index
from .retrieve import HybridRetriever
from .story_catalog import StoryCatalog, one_per_story
from .text import INVALID_UNICODE, has_lone_surrogate
from .settings import Settings
from .store import ChromaStore
from .types import Answer, Document, DocumentInfo, IngestReport, Passage, Usage

Progress = Callable[[int, int, str], None]
PARALLEL_MIN_DOCS = 200  # smaller ingests are prepared in-process (a worker takes ~1 s to start)
History = Sequence[tuple[str, str]]


class Assistant:
    """Question answering over an index of news articles, with checked citations.

    `Assistant(index="index/")` opens (or creates) an index; keyword arguments are
    settings (see `Settings`) and override environment variables. Heavy parts (the
    embedder, the store) are created on first use."""

    def __init__(self, index: str | Path | None = None, settings: Settings | None = None, **overrides: Any) -> None:
        base = settings or Settings.load()
        self.settings = base.replace(index=str(index) if index is not None else None, **overrides)
        self._embedder: Embedder | None = None
        self.index = Index(self.settings, lambda: self.embedder)
        self._generator: Generator | None = None
        self._local: Any = None  # LocalLLMServer, when the local tiny LLM is in use
        self._chunker = Chunker(self.settings.chunk_tokens, self.settings.chunk_overlap)

    # -- parts, built lazily ------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def store(self) -> ChromaStore:
        """The vector store (opened on first use)."""
        return self.index.store

    def keyword(self) -> KeywordIndex:
        """The BM25 index, in step with the store (see `Index.keyword`)."""
        return self.index.keyword()

    @property
    def generator(self) -> Generator:
        """The answer backend chosen by `settings.generator` (created on first use; the
        local tiny LLM's server is started here)."""
        if self._generator is None:
            s = self.settings
            if s.generator == "openai":
                if not s.llm_model:
                    raise errors.ConfigError("generator 'openai' needs a model: set ASSISTANT_LLM_MODEL (or --model)")
                self._generator = self._llm(s.llm_model, s.llm_base_url, s.llm_api_key, "openai")
            elif s.generator == "local":
                from .local_llm import LocalGenerator

                local = LocalGenerator.from_settings(s)  # restarts its server once if it crashes
                self._local, self._generator = local.server, local
            else:
                self._generator = ExtractiveGenerator(idf=self.index.idf, embed=self.embedder.embed)
        return self._generator

    def _llm(self, model: str, base_url: str | None, api_key: str | None, name: str) -> OpenAIGenerator:
        s = self.settings
        return OpenAIGenerator(model=model, base_url=base_url, api_key=api_key, timeout=s.llm_timeout,
                               retries=s.llm_retries, context_tokens=s.llm_context_tokens,
                               max_tokens=s.llm_max_tokens, price_in=s.llm_price_in, price_out=s.llm_price_out,
                               name=name)

    def variant(self, **changes: Any) -> "Assistant":
        """An Assistant with some settings changed (backend, top-k, retrieval, policy...)
        that shares this one's embedder, store and local LLM server when they still apply."""
        other = Assistant(settings=self.settings.replace(**changes))
        s, o = self.settings, other.settings
        if (o.embedder, o.embed_base_url) == (s.embedder, s.embed_base_url):
            other._embedder = self._embedder
            if (o.index, o.chroma_url, o.collection) == (s.index, s.chroma_url, s.collection):
                other.index.share(self.index)
        if o.generator == "local" and s.generator == "local" and self._local is not None:
            other._local, other._generator = self._local, self._generator
        return other

    def feedback(self, entry: dict[str, Any]) -> Path:
        """Append one feedback record (rating, comment, question, answer...) as a JSON line
        to `feedback.jsonl` next to the index; returns the file's path."""
        import json

        path = self.settings.index_path / "feedback.jsonl"
        private_dir(path.parent)
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **entry}
        with open(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return path

    def close(self) -> None:
        """Stop the local LLM server if this assistant started one."""
        if self._local is not None:
            self._local.stop()
            self._local = None
            self._generator = None

    def __enter__(self) -> "Assistant":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- index management -----------------------------------------------------------------
    def ingest(self, paths: Sequence[str | Path], progress: Progress | None = None,
               on_document: Callable[[str, str], None] | None = None) -> IngestReport:
        """Load, chunk, embed and index files or directories. Idempotent: an unchanged file
        adds nothing, a changed one replaces its old chunks; unreadable files are skipped
        with their reason and nothing already indexed is lost. A document whose embedding
        fails is skipped with the reason and leaves no chunks (a rerun completes it).
        `on_document(doc_id, status)` is called once each document is committed.
        Raises IndexLocked when another process is writing to the same local index."""
        loaded = load_paths(list(paths), int(self.settings.max_file_mb * 1_000_000))
        workers = self.settings.ingest_workers if len(loaded.documents) >= PARALLEL_MIN_DOCS else 0
        with Preparer(self.settings, self._chunker, self.embedder, workers) as prep:
            return ingest_documents(self.index, loaded.documents, prep, loaded.skipped, progress, on_document,
                                    loaded.collections, loaded.origins)

    def repair(self, progress: Progress | None = None) -> RepairReport:
        """Rebuild the vector and BM25 indexes from the article texts the index itself holds
        (no source files needed): for an index that a crash or a full disk left broken."""
        with Preparer(self.settings, self._chunker, self.embedder, self.settings.ingest_workers) as prep:
            return repair_index(self.index, prep, progress)

    def delete(self, doc_id: str) -> None:
        """Remove a document and its chunks (DocumentNotFound if it is not there)."""
        self.index.delete(doc_id)

    def rebuild(self) -> None:
        """Drop the whole index (documents, chunks and BM25) so it can be built again."""
        self.index.reset()

    def documents(self) -> list[DocumentInfo]:
        """Every indexed document, with its chunk count and story group."""
        stories = self.index.stories()
        return [dataclasses.replace(d, story=stories.story_of(d.id)) for d in self.store.documents()]

    def document(self, doc_id: str) -> Document:
        """One indexed document with its full text."""
        return self.store.document(doc_id)

    # -- questions ----------------------------------------------------------------------------
    def ask(self, question: str, history: History = (), top_k: int | None = None, *, since: Any = None,
            until: Any = None, outlet: str | None = None, as_of: Any = None) -> Answer:
        """Answer a question (with optional chat history of (question, answer) pairs), from
        the articles the filters allow (see `stream`)."""
        answer: Answer | None = None
        for item in self.stream(question, history, top_k, since=since, until=until, outlet=outlet, as_of=as_of):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(self, question: str, history: History = (), top_k: int | None = None, *, since: Any = None,
               until: Any = None, outlet: str | None = None, as_of: Any = None) -> Iterator[str | Answer]:
        """Yield text deltas of the draft as it is generated, then the checked `Answer`.

        Filters (`assistant.filters`): `since`/`until` (inclusive days, ISO or "March 4,
        2025"; undated articles excluded), `outlet` (case-insensitive exact name), `as_of`
        (nothing published after that day; alone it keeps undated articles). Both retrieval
        sides apply them; a bad date raises InvalidFilter. A question about the latest news
        ("latest", "now", "this week"...) prefers newer articles (`assistant.recency`).

        The extractive answerer's answerability (`Answer.confidence`) gates every backend:
        below its threshold the answer is a typed refusal and no LLM is called. An LLM draft
        that fails the citation check is replaced by the checked extractive answer, marked
        by `backend` and `warning`; so is a draft of a model flagged `must_agree` (the tiny
        local SmolLM2) that does not state the extractive short answer, or that answers a
        question without one. A question with nothing to look up ("[1]", "?") is
        refused as "invalid" without retrieval."""
        question = _one_line(question, "question", 2000, "type a question about the articles")
        if any(has_lone_surrogate(f"{q}{a}") for q, a in history):
            raise errors.InvalidQuestion(f"the conversation history contains {INVALID_UNICODE}: remove that "
                                         "character and send it again")
        filters = Filters.parse(since, until, outlet, as_of)
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
        query, usage = self._condense(question, history, gen)
        if history:
            timings["condense"] = _ms(t0)
        tr = time.perf_counter()
        passages = self._retrieve(query, top_k or self.settings.top_k, keyword, filters, question, stories)
        passages = gen.fit(question, passages, history)
        timings["retrieve"] = _ms(tr)
        t1 = time.perf_counter()
        extractive = gen if isinstance(gen, ExtractiveGenerator) else \
            ExtractiveGenerator(idf=self.index.idf, embed=self.embedder.embed)
        selection = extractive.select(query, passages)
        meta = dict(backend=gen.name, model=gen.model, usage=usage, confidence=selection.confidence,
                    standalone_question=query if query != question else None)
        parts: list[str] = []
        end = StreamEnd("stop", True)
        if selection.answerable:
            pieces = extractive.draft(selection) if gen is extractive else gen.stream(question, passages, history)
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
        draft = strip_links("".join(parts), self.settings.link_hosts.split(",") if self.settings.link_hosts else ())
        meta.update(usage=usage, incomplete=not end.complete)
        judge = gen.judge if self.settings.judge == "llm" and isinstance(gen, OpenAIGenerator) else None
        checker = Checker(threshold=self.settings.min_support, judge=judge)
        if not selection.answerable:
            answer = refusal_answer(question, passages, timings, reason=selection.refusal or "no_evidence", **meta)
        elif is_refusal(draft) or not draft.strip():
            answer = refusal_answer(question, passages, timings, reason="no_evidence", **meta)
        else:
            answer = finalize(question, draft, passages, checker, timings, policy=self.settings.answer_policy,
                              drop_unsupported=gen is extractive, **meta)
            disagrees = getattr(gen, "must_agree", False) and not answer.refused and not _states(answer, selection.short)
            if (answer.refused or disagrees) and gen is not extractive:  # the LLM draft failed the check, or disagrees
                fallback = finalize(question, "".join(extractive.draft(selection)), passages, checker, timings,
                                    policy=self.settings.answer_policy, drop_unsupported=True,
                                    **(meta | dict(incomplete=False)))
                if not fallback.refused:
                    why = "did not state the answer the evidence gives" if disagrees else "failed the citation check"
                    note = (f"the {gen.name} model's answer {why}; this is the extractive "
                            f"answer (verbatim sentences of the articles) instead")
                    answer = dataclasses.replace(fallback, backend=f"extractive (fallback from {gen.name})",
                                                 warning="; ".join(filter(None, [fallback.warning, note])))
            if answer.incomplete and not answer.refused:
                note = f"the answer was cut off ({end.finish_reason or 'stream ended early'}); it may be incomplete"
                answer = dataclasses.replace(answer, warning="; ".join(filter(None, [answer.warning, note])))
        answer = annotate(with_conflicts(in_date_order(answer), passages), stories, self.store.document)
        timings["cite"] = _ms(t2)
        timings["total"] = _ms(t0)
        yield dataclasses.replace(answer, timings_ms=dict(timings))

    def retrieve(self, question: str, history: History = (), top_k: int | None = None, *, since: Any = None,
                 until: Any = None, outlet: str | None = None, as_of: Any = None) -> list[Passage]:
        """The passages the answer would be built from (after follow-up condensation by
        rules), with the filters and recency preference of `stream`."""
        question = _one_line(question, "question", 2000, "type a question about the articles")
        filters = Filters.parse(since, until, outlet, as_of)
        return self._retrieve(condense(question, history), top_k or self.settings.top_k, self.index.keyword(),
                              filters, question)

    def _retrieve(self, query: str, k: int, keyword: KeywordIndex, filters: Filters | None = None,
                  question: str = "", stories: StoryCatalog | None = None) -> list[Passage]:
        s = self.settings
        recent = s.recency_half_life > 0 and wants_recent(question or query)
        facets = self.store.facets() if filters or recent else {}
        as_of = filters.as_of.toordinal() if filters and filters.as_of else None
        retriever = HybridRetriever(self.store, self.embedder, keyword, mode=s.retrieval, weight=s.fusion_weight,
                                    rerank=s.rerank_weight, where=filters.where() if filters else None,
                                    allowed=filters.allowed(facets) if filters else None,
                                    recency=Recency({d: f[0] for d, f in facets.items()}, s.recency_half_life, as_of)
                                    if recent else None)
        stories = stories or self.index.stories()
        if not stories.has_copies:
            return retriever.retrieve(query, k)
        # Copies of one story (syndicated or updated versions) would fill the top k with one
        # sentence: keep the best passage of each story first, copies after.
        return one_per_story(retriever.retrieve(query, 2 * k), stories.story_of, k)

    def timeline(self, topic: str, *, since: Any = None, until: Any = None, outlet: str | None = None,
                 as_of: Any = None, limit: int = 30, depth: int = 40) -> list[TimelineEntry]:
        """Dated events about `topic` across articles: the sentences of the `depth` passages
        retrieved for it that mention it, oldest first (undated last), one line per sentence
        however many outlets print it. Filters as in `stream`."""
        topic = _one_line(topic, "topic", 200, "name what the timeline is about")
        filters = Filters.parse(since, until, outlet, as_of)
        return build_timeline(topic, self._retrieve(topic, depth, self.index.keyword(), filters, topic), limit)

    def _condense(self, question: str, history: History, gen: Generator) -> tuple[str, Usage]:
        """The retrieval query. An LLM endpoint rewrites a follow-up; the extractive answerer
        and the tiny local model (too small to rewrite reliably) use the rules."""
        if history and isinstance(gen, OpenAIGenerator) and gen.name == "openai":
            return gen.condense(question, history)
        return condense(question, history), Usage()


def _states(answer: Answer, short: str | None) -> bool:
    """True when `answer` states `short` (case- and space-insensitive); False when there
    is no short answer to agree with (an open question: the verbatim evidence is safer
    than a tiny model's paraphrase, which the checker cannot judge for relevance)."""
    if not short:
        return False
    norm = lambda t: " ".join(t.lower().split())
    return norm(short) in norm(answer.answer)


def _one_line(text: str | None, what: str, limit: int, hint: str) -> str:
    """`text` with its whitespace collapsed; InvalidQuestion when it is empty, too long or
    not valid Unicode (a lone surrogate)."""
    text = " ".join((text or "").split())
    if has_lone_surrogate(text):
        raise errors.InvalidQuestion(f"the {what} contains {INVALID_UNICODE}: remove that character and send it again")
    if not text:
        raise errors.InvalidQuestion(f"the {what} is empty: {hint}")
    if len(text) > limit:
        raise errors.InvalidQuestion(f"the {what} is longer than {limit} characters: shorten it")
    return text


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
