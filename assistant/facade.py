"""The `Assistant`: the public Python API that composes the pipeline stages.

The CLI, the Gradio UI and the evaluation all go through this class."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from assistant.answer.extractive import ExtractiveGenerator
from assistant.answer.generators import GeneratorParts, extractive_generator, make_generator
from assistant.answer.pipeline import AnswerPipeline, History
from assistant.core.data import Answer, Document, DocumentInfo, IngestReport, Passage
from assistant.core.errors import InvalidQuestion
from assistant.core.settings import Settings
from assistant.core.text import INVALID_UNICODE, has_lone_surrogate
from assistant.core.validate import one_line
from assistant.index.bm25 import KeywordIndex
from assistant.index.index import Index
from assistant.index.store import ChromaStore
from assistant.ingest.chunk import Chunker
from assistant.ingest.commit import ingest_documents
from assistant.ingest.load import load_paths
from assistant.ingest.prepare import Preparer
from assistant.ingest.repair import RepairReport, repair_index
from assistant.models.embed import Embedder, make_embedder
from assistant.models.encoder import MiniLMEncoder
from assistant.models.generate import Generator
from assistant.models.nlp import Parser
from assistant.models.word_vectors import word_similarity
from assistant.news.timeline import TimelineEntry, timeline_of
from assistant.retrieve.condense import condense
from assistant.retrieve.filters import Filters
from assistant.retrieve.search import search

Progress = Callable[[int, int, str], None]
PARALLEL_MIN_DOCS = 200  # smaller ingests are prepared in-process (a worker takes ~1 s to start)


class Assistant:
    """Question answering over an index of news articles, with checked citations.

    `Assistant(index="index/")` opens (or creates) an index; keyword arguments are
    settings (see `Settings`) and override environment variables. Heavy parts (the
    embedder, the store) are created on first use."""

    def __init__(self, index: str | Path | None = None, settings: Settings | None = None, **overrides: Any) -> None:
        base = settings or Settings.load()
        self.settings = base.replace(index=str(index) if index is not None else None, **overrides)
        self._embedder: Embedder | None = None
        self._encoder: Embedder | None = None
        self.index = Index(self.settings, lambda: self.embedder)
        self._generator: Generator | None = None
        self._reader: ExtractiveGenerator | None = None
        self._parser = Parser()  # spaCy loads on the first question that needs a parse
        self._local: Any = None  # LocalLLMServer, when the local tiny LLM is in use
        self._chunker = Chunker(self.settings.chunk_tokens, self.settings.chunk_overlap)

    # -- parts, built lazily ------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def encoder(self) -> Embedder | None:
        """The sentence encoder that re-ranks retrieval candidates, or None when
        `settings.encoder_rerank` is 0 (its model loads on the first question)."""
        if self.settings.encoder_rerank <= 0:
            return None
        if self._encoder is None:
            self._encoder = MiniLMEncoder()
        return self._encoder

    @property
    def store(self) -> ChromaStore:
        """The vector store (opened on first use)."""
        return self.index.store

    def keyword(self) -> KeywordIndex:
        """The BM25 index, in step with the store (see `Index.keyword`)."""
        return self.index.keyword()

    @property
    def generator(self) -> Generator:
        """The answer backend named by `settings.generator`, from the registry in
        `assistant.answer.generators` (created on first use; the local LLM's server is
        started here)."""
        if self._generator is None:
            self._generator = make_generator(self._parts())
            self._local = getattr(self._generator, "server", None)  # the local model's server, to stop on close
        return self._generator

    @property
    def reader(self) -> ExtractiveGenerator:
        """The extractive reader: the answer backend by default; with an LLM, the gate that
        decides whether the articles hold an answer, and the fallback when a draft fails."""
        gen = self.generator
        if isinstance(gen, ExtractiveGenerator):
            return gen
        if self._reader is None:
            self._reader = extractive_generator(self._parts())
        return self._reader

    def _parts(self) -> GeneratorParts:
        parse = self._parser.parse if self.settings.reader == "parse" else None
        return GeneratorParts(self.settings, self.index.idf, self.embedder.embed, parse, word_similarity)

    def variant(self, **changes: Any) -> "Assistant":
        """An Assistant with some settings changed (backend, top-k, retrieval, policy...)
        that shares this one's embedder, store and local LLM server when they still apply."""
        other = Assistant(settings=self.settings.replace(**changes))
        s, o = self.settings, other.settings
        if (o.embedder, o.embed_base_url) == (s.embedder, s.embed_base_url):
            other._embedder = self._embedder
            if (o.index, o.chroma_url, o.collection) == (s.index, s.chroma_url, s.collection):
                other.index.share(self.index)
        other._encoder = self._encoder
        if o.generator == "local" and s.generator == "local" and self._local is not None:
            other._local, other._generator = self._local, self._generator
        other._parser = self._parser
        return other

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

        Filters (`assistant.retrieve.filters`): `since`/`until` (inclusive days, ISO or "March 4,
        2025"; undated articles excluded), `outlet` (case-insensitive exact name), `as_of`
        (nothing published after that day; alone it keeps undated articles). Both retrieval
        sides apply them; a bad date raises InvalidFilter. A question about the latest news
        ("latest", "now", "this week"...) prefers newer articles (`assistant.retrieve.recency`).

        The extractive answerer's answerability (`Answer.confidence`) gates the extractive
        answer: below its threshold the answer is a typed refusal. An LLM is called whenever
        retrieval found something relevant (the gate never vetoes it) and may refuse itself;
        where nothing relevant was found no LLM is called. An LLM draft that fails the
        citation check is replaced by the checked extractive answer, marked by `backend` and
        `warning`; so is a draft of a model flagged `must_agree` (the tiny local SmolLM2-135M)
        that does not state the extractive short answer, and the refusal of a model flagged
        `defers_refusal` (the local Qwen2.5-1.5B) where the extractive reader answers. A
        question with nothing to look up ("[1]", "?") is refused as "invalid" without retrieval."""
        question = one_line(question, "question", 2000, "type a question about the articles")
        if any(has_lone_surrogate(f"{q}{a}") for q, a in history):
            raise InvalidQuestion(f"the conversation history contains {INVALID_UNICODE}: remove that "
                                  "character and send it again")
        filters = Filters.parse(since, until, outlet, as_of)
        pipeline = AnswerPipeline(self.settings, self.index, self.embedder, self.generator, self.reader, self.encoder)
        yield from pipeline.stream(question, history, top_k, filters)

    def retrieve(self, question: str, history: History = (), top_k: int | None = None, *, since: Any = None,
                 until: Any = None, outlet: str | None = None, as_of: Any = None) -> list[Passage]:
        """The passages the answer would be built from (after follow-up condensation by
        rules), with the filters and recency preference of `stream`."""
        question = one_line(question, "question", 2000, "type a question about the articles")
        filters = Filters.parse(since, until, outlet, as_of)
        return self._search(condense(question, history), top_k or self.settings.top_k, filters, question)

    def _search(self, query: str, k: int, filters: Filters | None, question: str) -> list[Passage]:
        return search(query, k, settings=self.settings, store=self.store, embedder=self.embedder,
                      keyword=self.index.keyword(), stories=self.index.stories(), filters=filters,
                      question=question, encoder=self.encoder)

    def timeline(self, topic: str, *, since: Any = None, until: Any = None, outlet: str | None = None,
                 as_of: Any = None, limit: int = 30, depth: int = 40) -> list[TimelineEntry]:
        """Dated events about `topic` across articles: the sentences of the `depth` passages
        retrieved for it that mention it, oldest first (undated last), one line per sentence
        however many outlets print it. Filters as in `stream`."""
        topic = one_line(topic, "topic", 200, "name what the timeline is about")
        filters = Filters.parse(since, until, outlet, as_of)
        return timeline_of(topic, self._search(topic, depth, filters, topic), limit)
