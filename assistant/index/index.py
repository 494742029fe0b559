"""The index: the Chroma store, the BM25 side, the write lock and their consistency.

Chroma is the source of truth. The BM25 index is derived from it and kept in step by the
store's write generation (a stamp renewed before every write): a reader whose copy has
another stamp loads the saved copy if it has that stamp, else catches up from the store.
Writers take the lock (one thread of one process at a time on a local index), change a
private copy of the BM25 index and publish it when they are done, so readers in other
threads never see it half-changed. A marker file says a write was interrupted."""
from __future__ import annotations

import contextlib
import shutil
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from assistant.core.errors import IndexDamaged
from assistant.core.private import private_dir
from assistant.core.settings import Settings
from assistant.index.bm25 import KeywordIndex
from assistant.index.lock import WriteLock
from assistant.index.store import ChromaStore
from assistant.index.stories import Stories
from assistant.models.embed import Embedder


class Index:
    """One index (a local directory or a collection on a Chroma server). The store is
    opened on first use; `keyword()` is the BM25 index in step with it."""

    def __init__(self, settings: Settings, embedder: Callable[[], Embedder]) -> None:
        self.settings = settings
        self._embedder = embedder
        self._store: ChromaStore | None = None
        self._keyword: KeywordIndex | None = None
        self._stories: Stories | None = None
        self._refresh = threading.Lock()
        self._story_lock = threading.Lock()
        self._lock = None if settings.chroma_url else WriteLock(settings.index_path)
        self._repairing = False  # set by `repair_mode`: the repair may open a half-built index

    def share(self, other: "Index") -> None:
        """Use `other`'s open store, BM25 copy and stories (same index, another settings variant)."""
        self._store, self._keyword, self._stories = other._store, other._keyword, other._stories

    @property
    def store(self) -> ChromaStore:
        if self._store is None:
            if self.repair_backup.exists() and not self._repairing:
                raise IndexDamaged("a repair of this index was interrupted: run `assistant repair` with the same "
                                   "--index to finish it (the documents are kept in its backup file)")
            name = self._embedder().name
            store = ChromaStore(self.settings, name)
            store.check_embedder(name)
            self._store = store
        return self._store

    @property
    def cache_dir(self) -> Path:
        """Where the BM25 copy of this index is saved."""
        s = self.settings
        if s.chroma_url:
            safe = "".join(ch if ch.isalnum() else "_" for ch in s.chroma_url)
            return s.index_path / "remote" / safe / f"bm25-{s.collection}"
        return s.index_path / f"bm25-{s.collection}"

    @property
    def repair_backup(self) -> Path:
        """The backup a repair writes before it drops anything; while it exists (and no
        repair is running) the index refuses to open."""
        return self.cache_dir.with_name(self.cache_dir.name + ".repair.jsonl")

    @contextlib.contextmanager
    def repair_mode(self) -> Iterator[None]:
        """While a repair rebuilds this index, its store may be opened despite the backup."""
        self._repairing = True
        try:
            yield
        finally:
            self._repairing = False

    @property
    def pending(self) -> Path:
        """The marker an unfinished write leaves behind."""
        return self.cache_dir.with_name(self.cache_dir.name + ".pending")

    # -- reading ----------------------------------------------------------------------------
    def keyword(self) -> KeywordIndex:
        """The BM25 index, in step with the store: one cheap stamp read when nothing
        changed; else the saved copy if it matches, else only the changed documents are
        re-read. While another thread of this process writes, its last published copy."""
        index = self._keyword
        if index is not None and self._lock is not None and self._lock.held_elsewhere:
            return index
        with self._refresh:
            stamp = self.store.stamp()
            index = self._keyword
            if index is not None and index.stamp == stamp:
                return index
            self.store.follow(stamp)
            saved = KeywordIndex.load(self.cache_dir)
            if saved is not None and saved.stamp == stamp:
                fresh = saved
            else:
                fresh = (index or saved or KeywordIndex()).clone()
                fresh.sync(self.store, stamp)
                self._save(fresh)
            self._keyword = fresh
            return fresh

    @property
    def stories_path(self) -> Path:
        """Where the story grouping of this index is saved (beside the BM25 copy)."""
        return self.cache_dir.with_name(f"stories-{self.settings.collection}.json")

    def stories(self) -> Stories:
        """Which documents tell the same story, in step with the store like `keyword()`:
        the copy in memory when the stamp is unchanged, else the saved copy if it matches,
        else only the changed documents are grouped again (and the result saved)."""
        with self._story_lock:
            stamp = self.store.stamp()
            catalog = self._stories
            if catalog is not None and catalog.stamp == stamp:
                return catalog
            if catalog is None:
                saved = Stories.load(self.stories_path)
                catalog = saved if saved is not None else Stories()
            changed = catalog.stamp != stamp and catalog.sync(self.store, stamp)
            if changed or not self.stories_path.exists():
                catalog.save(self.stories_path)
            self._stories = catalog
            return catalog

    def idf(self, term: str) -> float:
        return (self._keyword or self.keyword()).idf(term)

    # -- writing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[KeywordIndex]:
        """Hold the write lock; yields a private copy of the BM25 index to change. On a
        clean exit the store gets a new generation, the copy is saved and published; after
        a failure the marker stays, so the next writer checks for half-written chunks."""
        with self._lock or contextlib.nullcontext():
            if self.pending.exists():
                self.store.remove_orphans()
            keyword = self.keyword().clone()
            private_dir(self.pending.parent)
            self.pending.touch()
            yield keyword
            self.settle(keyword)
            self.pending.unlink(missing_ok=True)

    def settle(self, keyword: KeywordIndex) -> None:
        """After a write: a new store generation recorded in the BM25 copy, which is saved
        and published. On a Chroma server, first catch up with other writers."""
        self.store.touch()
        if self.settings.chroma_url:
            keyword.sync(self.store)
        else:
            keyword.stamp = self.store.stamp()
        self._save(keyword)
        self._keyword = keyword
        self.stories()  # near-duplicates are grouped at ingest, not on the first question

    def _save(self, keyword: KeywordIndex) -> None:
        try:
            keyword.save(self.cache_dir)
        except OSError:
            pass  # a read-only or full disk: the copy in memory still answers; the store is the truth

    def delete(self, doc_id: str) -> None:
        """Remove a document, its chunks and its BM25 rows (DocumentNotFound if absent)."""
        with self.writing() as keyword:
            self.store.touch()
            self.store.delete(doc_id)
            keyword.remove([doc_id])

    def reset(self) -> None:
        """Drop every document, chunk and the BM25 copy (for a rebuild)."""
        with self._lock or contextlib.nullcontext():
            store = self._store or ChromaStore(self.settings, self._embedder().name)  # no embedder check: we drop it
            store.reset()
            shutil.rmtree(self.cache_dir, ignore_errors=True)
            self.stories_path.unlink(missing_ok=True)
            self.pending.unlink(missing_ok=True)
            self._store = None
            self._keyword = None
            self._stories = None

    def forget(self) -> None:
        """Drop the open store and BM25 copy (they are reopened on next use)."""
        self._store = None
        self._keyword = None
        self._stories = None

    def locked(self) -> Any:
        """The write lock alone (a null context on a Chroma server)."""
        return self._lock or contextlib.nullcontext()
