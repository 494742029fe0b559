"""Ingest preparation stage: chunk, embed and tokenize (for BM25) a batch of documents.

This is the CPU-heavy half of an ingest. `Preparer` runs it in this process, or in one
worker process so that it overlaps with the writes to Chroma, which hold the main
process's interpreter. A document whose embedding fails is reported with its reason
instead of stopping the batch."""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from . import errors
from .chunk import Chunker
from .embed import Embedder, make_embedder
from .settings import Settings
from .text import terms
from .types import Chunk, Document


@dataclass(frozen=True)
class Prepared:
    """A document ready to store: its chunks, their vectors and BM25 terms (space-joined)."""

    doc: Document
    chunks: list[Chunk]
    vectors: np.ndarray
    terms: list[str]


@dataclass(frozen=True)
class Failed:
    """A document that could not be prepared, and why."""

    doc: Document
    reason: str


def prepare(docs: Sequence[Document], chunker: Chunker, embedder: Embedder) -> list[Prepared | Failed]:
    """Chunk, embed (one call for the whole batch when it succeeds) and tokenize `docs`."""
    cut: list[tuple[Document, list[Chunk]]] = []
    out: list[Prepared | Failed] = []
    for doc in docs:
        chunks = chunker.chunk(doc)
        if chunks:
            cut.append((doc, chunks))
        else:
            out.append(Failed(doc, "no article text left after removing boilerplate"))
    for doc, chunks, vectors in _embed(cut, embedder, out):
        out.append(Prepared(doc, chunks, vectors, [" ".join(terms(c.text)) for c in chunks]))
    return out


def _embed(cut: list[tuple[Document, list[Chunk]]], embedder: Embedder,
           failed: list[Prepared | Failed]) -> list[tuple[Document, list[Chunk], np.ndarray]]:
    if not cut:
        return []
    try:
        vectors = embedder.embed([c.text for _, chunks in cut for c in chunks])
    except errors.ModelError as e:
        if len(cut) == 1:
            failed.append(Failed(cut[0][0], f"embedding failed ({e}); run the ingest again to retry"))
            return []
        return [item for one in cut for item in _embed([one], embedder, failed)]
    out, at = [], 0
    for doc, chunks in cut:
        out.append((doc, chunks, vectors[at:at + len(chunks)]))
        at += len(chunks)
    return out


# -- the worker process -----------------------------------------------------------------------
_worker: dict[str, Any] = {}  # the worker process's own chunker and embedder (one per process)


def _init_worker(settings: Settings) -> None:
    try:
        _worker["chunker"] = Chunker(settings.chunk_tokens, settings.chunk_overlap)
        _worker["embedder"] = make_embedder(settings)
    except errors.AssistantError as e:  # raised with the first batch: a failed initializer breaks the pool
        _worker["error"] = e


def _run_in_worker(docs: Sequence[Document]) -> list[Prepared | Failed]:
    if "error" in _worker:
        raise _worker["error"]
    return prepare(docs, _worker["chunker"], _worker["embedder"])


class Preparer:
    """Runs `prepare` here (`workers=0`) or in a worker process started on first use.
    `submit` returns a future; the caller writes one batch while the next is prepared."""

    def __init__(self, settings: Settings, chunker: Chunker, embedder: Embedder, workers: int) -> None:
        self.settings, self.chunker, self.embedder, self.workers = settings, chunker, embedder, workers
        self._pool: cf.ProcessPoolExecutor | None = None

    def submit(self, docs: Sequence[Document]) -> "cf.Future[list[Prepared | Failed]]":
        if self.workers <= 0:
            done: cf.Future[list[Prepared | Failed]] = cf.Future()
            try:
                done.set_result(prepare(docs, self.chunker, self.embedder))
            except BaseException as e:  # handed to the caller by .result()
                done.set_exception(e)
            return done
        if self._pool is None:
            # spawn, not fork: the parent holds Chroma's threads and SQLite handles.
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=_init_worker, initargs=(self.settings,))
        return self._pool.submit(_run_in_worker, list(docs))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "Preparer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
