"""The `Assistant`: the public Python API that composes the pipeline stages.

The CLI, the Gradio UI and the evaluation all go through this class."""
from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from . import errors
from .answer import finalize, refusal_answer
from .chunk import Chunker
from .cite import Checker, is_refusal
from .condense import condense
from .embed import Embedder, make_embedder
from .extractive import ExtractiveGenerator
from .guard import strip_links
from .generate import Generator, OpenAIGenerator, StreamEnd
from .keyword import KeywordIndex
from .load import load_paths
from .lock import WriteLock
from .prepare import Failed, Prepared, Preparer
from .retrieve import HybridRetriever
from .settings import Settings
from .store import ChromaStore
from .types import Answer, Document, DocumentInfo, IngestReport, Passage, Skipped, Usage

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
        self._store: ChromaStore | None = None
        self._keyword: KeywordIndex | None = None
        self._generator: Generator | None = None
        self._local: Any = None  # LocalLLMServer, when the local tiny LLM is in use
        self._lock: WriteLock | None = None
        self._chunker = Chunker(self.settings.chunk_tokens, self.settings.chunk_overlap)

    # -- parts, built lazily ------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def store(self) -> ChromaStore:
        if self._store is None:
            store = ChromaStore(self.settings, self.embedder.name)
            store.check_embedder(self.embedder.name)
            self._store = store
        return self._store

    def keyword(self) -> KeywordIndex:
        """The BM25 index, in step with the store: loaded from its cache beside the index,
        and caught up (only the documents that changed) when another process wrote or a
        crash left the cache behind. One cheap stamp read when nothing changed."""
        stamp = self.store.stamp()
        index = self._keyword
        if index is not None and index.stamp == stamp:
            return index
        cache = self._cache_dir()
        saved = KeywordIndex.load(cache)
        if saved is not None and (index is None or saved.stamp == stamp):
            index = saved
        index = index or KeywordIndex()
        if index.stamp != stamp:
            index.sync(self.store, stamp)
            try:
                index.save(cache)
            except OSError:
                pass  # a read-only index still answers; the cache is only a speed-up
        self._keyword = index
        return index

    def _idf(self, term: str) -> float:
        return (self._keyword or self.keyword()).idf(term)

    def _cache_dir(self) -> Path:
        if self.settings.chroma_url:
            safe = "".join(ch if ch.isalnum() else "_" for ch in self.settings.chroma_url)
            return self.settings.index_path / "remote" / safe / f"bm25-{self.settings.collection}"
        return self.settings.index_path / f"bm25-{self.settings.collection}"

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
                from .local_llm import MODEL_NAME, LocalLLMServer

                self._local = LocalLLMServer(s.local_model, s.local_port).start()
                gen = self._llm(MODEL_NAME, self._local.url, None, "local")
                gen.context_tokens = min(gen.context_tokens, 3000)
                self._generator = gen
            else:
                self._generator = ExtractiveGenerator(idf=self._idf, embed=self.embedder.embed)
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
                other._store, other._keyword = self._store, self._keyword
        if o.generator == "local" and s.generator == "local" and self._local is not None:
            other._local, other._generator = self._local, self._generator
        return other

    def feedback(self, entry: dict[str, Any]) -> Path:
        """Append one feedback record (rating, comment, question, answer...) as a JSON line
        to `feedback.jsonl` next to the index; returns the file's path."""
        import json

        path = self.settings.index_path / "feedback.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **entry}
        with open(path, "a", encoding="utf-8") as f:
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
    def _writing(self) -> Any:
        """The write lock of a local index (a Chroma server orders its own writers)."""
        if self.settings.chroma_url:
            return contextlib.nullcontext()
        if self._lock is None:
            self._lock = WriteLock(self.settings.index_path)
        return self._lock

    def ingest(self, paths: Sequence[str | Path], progress: Progress | None = None,
               on_document: Callable[[str, str], None] | None = None) -> IngestReport:
        """Load, chunk, embed and index files or directories. Idempotent: an unchanged file
        adds nothing, a changed one replaces its old chunks; unreadable files are skipped
        with their reason and nothing already indexed is lost. A document whose embedding
        fails is skipped with the reason and leaves no chunks (a rerun completes it).
        `on_document(doc_id, status)` is called once each document is committed.
        Raises IndexLocked when another process is writing to the same local index."""
        loaded = load_paths(list(paths), int(self.settings.max_file_mb * 1_000_000))
        docs = loaded.documents
        added: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        skipped: list[Skipped] = list(loaded.skipped)
        n_chunks = 0
        total = len(docs)
        with self._writing(), Preparer(self.settings, self._chunker, self.embedder,
                                       self.settings.ingest_workers if total >= PARALLEL_MIN_DOCS else 0) as prep:
            pending = self._cache_dir().with_name(self._cache_dir().name + ".pending")
            if pending.exists():  # the last ingest was interrupted: clear chunks it left half-written
                self.store.remove_orphans()
            keyword = self.keyword()
            pending.parent.mkdir(parents=True, exist_ok=True)
            pending.touch()
            owned: dict[str, str] = {}  # content hash -> doc id, for this run
            seen: set[str] = set()  # doc ids written in this run
            done = 0

            def plan(part: Sequence[Document]) -> tuple[list[Document], dict[str, str]]:
                """The documents of `part` that need writing (the rest are unchanged or skipped)."""
                before = self.store.existing([d.id for d in part])
                owners = self.store.owners(sorted({d.content_hash for d in part if before.get(d.id) != d.content_hash}))
                todo: list[Document] = []
                for doc in part:
                    if before.get(doc.id) == doc.content_hash:
                        unchanged.append(doc.id)
                        if on_document:
                            on_document(doc.id, "unchanged")
                        continue
                    twin = owned.get(doc.content_hash) or owners.get(doc.content_hash)
                    if twin is not None and twin != doc.id:
                        skipped.append(Skipped(doc.source, f"same text as document {twin!r}, already indexed"))
                    elif doc.id in seen:
                        skipped.append(Skipped(doc.source, f"another file in this ingest has the document id {doc.id!r}"))
                    else:
                        todo.append(doc)
                        owned[doc.content_hash] = doc.id
                        seen.add(doc.id)
                return todo, before

            def commit(job: Any, before: dict[str, str], size: int) -> None:
                """Write one prepared batch: chunks, then documents, then the BM25 rows."""
                nonlocal n_chunks, done
                results = job.result()
                ready = [r for r in results if isinstance(r, Prepared)]
                skipped.extend(Skipped(r.doc.source, r.reason) for r in results if isinstance(r, Failed))
                if ready:
                    self.store.touch()  # before writing: a crash mid-batch still moves the stamp
                    self.store.put_many([(r.doc, r.chunks, r.vectors) for r in ready],
                                        replacing={r.doc.id for r in ready if r.doc.id in before})
                    keyword.add(((r.doc.id, r.doc.content_hash, [(c.id, t, c.start, c.end) for c, t in zip(r.chunks, r.terms)])
                                 for r in ready), tokenized=True)
                for r in ready:
                    n_chunks += len(r.chunks)
                    status = "updated" if r.doc.id in before else "added"
                    (updated if status == "updated" else added).append(r.doc.id)
                    if on_document:
                        on_document(r.doc.id, status)
                done += size
                if progress and done < total:
                    progress(done, total, docs[done].title)

            # Documents per commit double from 8 to 512 (a crash loses at most one batch); the
            # next batch is prepared (chunked, embedded) while the previous one is written.
            size, i, inflight = 8, 0, None
            if progress and total:
                progress(0, total, docs[0].title)
            while i < total:
                part = docs[i:i + size]
                todo, before = plan(part)
                job = prep.submit(todo)
                if inflight is not None:
                    commit(*inflight)
                inflight = (job, before, len(part))
                i += len(part)
                size = min(size * 2, 512)
            if inflight is not None:
                commit(*inflight)
            if progress:
                progress(total, total, "done")
            if added or updated:
                self._settle(keyword)
            pending.unlink(missing_ok=True)
        return IngestReport(tuple(added), tuple(updated), tuple(unchanged), tuple(skipped), n_chunks)

    def _settle(self, keyword: KeywordIndex) -> None:
        """After a write: record the store's new stamp in the BM25 index and save it. A local
        index has one writer (the lock); on a Chroma server, catch up with other writers."""
        self.store.touch()
        if self.settings.chroma_url:
            keyword.sync(self.store)
        else:
            keyword.stamp = self.store.stamp()
        try:
            keyword.save(self._cache_dir())
        except OSError:
            pass

    def delete(self, doc_id: str) -> None:
        """Remove a document and its chunks (DocumentNotFound if it is not there)."""
        with self._writing():
            keyword = self.keyword()
            self.store.touch()
            self.store.delete(doc_id)
            keyword.remove([doc_id])
            self._settle(keyword)

    def rebuild(self) -> None:
        """Drop the whole index (documents, chunks and BM25) so it can be built again."""
        with self._writing():
            store = self._store or ChromaStore(self.settings, self.embedder.name)  # no embedder check: we drop it
            store.reset()
            shutil.rmtree(self._cache_dir(), ignore_errors=True)
            self._cache_dir().with_name(self._cache_dir().name + ".pending").unlink(missing_ok=True)
            self._store = None
            self._keyword = None

    def documents(self) -> list[DocumentInfo]:
        """Every indexed document, with its chunk count."""
        return self.store.documents()

    def document(self, doc_id: str) -> Document:
        """One indexed document with its full text."""
        return self.store.document(doc_id)

    # -- questions ----------------------------------------------------------------------------
    def ask(self, question: str, history: History = (), top_k: int | None = None) -> Answer:
        """Answer a question (with optional chat history of (question, answer) pairs)."""
        answer: Answer | None = None
        for item in self.stream(question, history, top_k):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(self, question: str, history: History = (), top_k: int | None = None) -> Iterator[str | Answer]:
        """Yield text deltas of the draft as it is generated, then the checked `Answer`."""
        question = " ".join((question or "").split())
        if not question:
            raise errors.InvalidQuestion("the question is empty: type a question about the articles")
        if len(question) > 2000:
            raise errors.InvalidQuestion("the question is longer than 2000 characters: shorten it")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        keyword = self.keyword()
        if not keyword.size:
            raise errors.IndexNotFound("no documents in the index yet: run `assistant ingest seeds/` "
                                       "(or upload articles in the UI)")
        gen = self.generator
        query, usage = self._condense(question, history, gen)
        if history:
            timings["condense"] = _ms(t0)
        tr = time.perf_counter()
        passages = self._retrieve(query, top_k or self.settings.top_k, keyword)
        passages = gen.fit(question, passages, history)
        timings["retrieve"] = _ms(tr)
        t1 = time.perf_counter()
        parts: list[str] = []
        end = StreamEnd("stop", True)
        for piece in gen.stream(question, passages, history):
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
        meta = dict(backend=gen.name, model=gen.model, usage=usage, incomplete=not end.complete,
                    standalone_question=query if query != question else None)
        if is_refusal(draft) or not draft.strip():
            answer = refusal_answer(question, passages, timings, **meta)
        else:
            judge = gen.judge if self.settings.judge == "llm" and isinstance(gen, OpenAIGenerator) else None
            checker = Checker(threshold=self.settings.min_support, judge=judge)
            answer = finalize(question, draft, passages, checker, timings, policy=self.settings.answer_policy, **meta)
            if answer.incomplete and not answer.refused:
                note = f"the answer was cut off ({end.finish_reason or 'stream ended early'}); it may be incomplete"
                answer = dataclasses.replace(answer, warning="; ".join(filter(None, [answer.warning, note])))
        timings["cite"] = _ms(t2)
        timings["total"] = _ms(t0)
        yield dataclasses.replace(answer, timings_ms=dict(timings))

    def retrieve(self, question: str, history: History = (), top_k: int | None = None) -> list[Passage]:
        """The passages the answer would be built from (after follow-up condensation by rules)."""
        question = " ".join((question or "").split())
        if not question:
            raise errors.InvalidQuestion("the question is empty: type a question about the articles")
        return self._retrieve(condense(question, history), top_k or self.settings.top_k, self.keyword())

    def _retrieve(self, query: str, k: int, keyword: KeywordIndex) -> list[Passage]:
        retriever = HybridRetriever(self.store, self.embedder, keyword, mode=self.settings.retrieval)
        return retriever.retrieve(query, k)

    def _condense(self, question: str, history: History, gen: Generator) -> tuple[str, Usage]:
        """The retrieval query. An LLM endpoint rewrites a follow-up; the extractive answerer
        and the tiny local model (too small to rewrite reliably) use the rules."""
        if history and isinstance(gen, OpenAIGenerator) and gen.name == "openai":
            return gen.condense(question, history)
        return condense(question, history), Usage()


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
