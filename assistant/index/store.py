"""Chroma-backed store of chunks (with embeddings) and of documents (full text).

`PersistentClient` under the index directory by default; `HttpClient` when a
Chroma server URL is configured. Chroma is the source of truth: the BM25 side is
derived from it."""
from __future__ import annotations

import contextlib
import errno
import functools
import json
import re
import shutil
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence, TypeVar
from urllib.parse import urlparse

import numpy as np

from assistant.core import dates
from assistant.core.data import Chunk, ChunkRef, Document, DocumentInfo
from assistant.core.errors import (
    AssistantError,
    DiskFull,
    DocumentNotFound,
    EmbedderMismatch,
    IndexDamaged,
    StoreUnavailable,
)
from assistant.core.private import private_dir, private_files, sqlite_files
from assistant.core.settings import Settings

_BATCH = 1000
F = TypeVar("F", bound=Callable[..., Any])


def _guarded(method: F) -> F:
    """Turn a failure of the vector store mid-session (server gone, connection reset,
    broken directory, full disk) into a StoreUnavailable with a one-line message that
    says what to do."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except AssistantError:
            raise
        except Exception as e:
            module = type(e).__module__
            if isinstance(e, (ConnectionError, OSError, TimeoutError)) or module.startswith(("chromadb", "httpx", "httpcore")):
                raise store_error(e, remote=self.remote, directory=self.directory) from None
            raise

    return wrapper  # type: ignore[return-value]


_DAMAGE = ("hnsw", "segment", "malformed", "not a database", "corrupt", "failed to apply logs", "error loading")


LOW_DISK = 64 * 1024 * 1024  # below this much free space, a store failure is taken for a full disk


def store_error(e: BaseException, remote: bool, directory: Path | None = None) -> StoreUnavailable:
    """The typed error for a failure of the store, naming the fix (never a path or URL).
    Chroma reports a full disk as a failure to apply its logs, so a local index's free
    space is checked before the failure is taken for damage."""
    text = f"{type(e).__name__}: {e}".lower()
    name = type(e).__name__
    full = (isinstance(e, OSError) and e.errno == errno.ENOSPC) or "disk is full" in text or "no space left" in text
    if not full and not remote and directory is not None:
        with contextlib.suppress(OSError):
            full = shutil.disk_usage(directory).free < LOW_DISK
    if full:
        return DiskFull("the disk holding the index is full: free some space and run the command again "
                        "(nothing already indexed was lost; an interrupted ingest resumes where it stopped)")
    if remote:
        return StoreUnavailable(f"search unavailable: the vector store failed ({name}); check that the Chroma "
                                "server is running and reachable, then retry")
    if "malformed" in text or "not a database" in text:
        return IndexDamaged(f"the index database (chroma.sqlite3) is damaged ({name}): restore the index directory "
                            "from a backup, or build it again from your files with `assistant ingest PATH --rebuild`")
    if any(word in text for word in _DAMAGE):
        return IndexDamaged(f"the index's vector files are damaged ({name}): run `assistant repair` with the same "
                            "--index; it rebuilds the vector and keyword indexes from the article texts the "
                            "index holds (no source files needed)")
    return StoreUnavailable(f"search unavailable: the vector store failed ({name}); retry, and if it keeps failing "
                            "run `assistant repair` with the same --index")


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the store returns it, with the document fields a passage needs."""

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    title: str
    source: str
    published: str | None
    outlet: str | None = None


class Store(Protocol):
    """What the assistant needs from a vector store."""

    def check_embedder(self, name: str) -> None: ...
    def existing(self, doc_ids: Sequence[str]) -> dict[str, str]: ...
    def owners(self, hashes: Sequence[str]) -> dict[str, str]: ...
    def origins(self, doc_ids: Sequence[str]) -> dict[str, str]: ...
    def put_many(self, items: Sequence[tuple[Document, Sequence[Chunk], np.ndarray]], replacing: set[str],
                 origins: dict[str, str] | None = None) -> None: ...
    def stamp(self) -> str: ...
    def touch(self) -> None: ...
    def doc_hashes(self) -> dict[str, str]: ...
    def chunk_texts(self, doc_ids: Sequence[str]) -> list[tuple[str, str, str, str, int, int]]: ...
    def delete(self, doc_id: str) -> None: ...
    def documents(self) -> list[DocumentInfo]: ...
    def document(self, doc_id: str) -> Document: ...
    def chunk_ids(self) -> list[str]: ...
    def chunks(self, ids: Sequence[str] | None = None) -> list[StoredChunk]: ...
    def query(self, embedding: np.ndarray, n: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]: ...
    def facets(self) -> dict[str, tuple[int, str | None]]: ...
    def locate(self, ids: Sequence[str]) -> list[ChunkRef]: ...
    def read(self, refs: Sequence[ChunkRef]) -> list[StoredChunk]: ...
    def remove_orphans(self) -> int: ...
    def reset(self) -> None: ...


class ChromaStore:
    """Three Chroma collections: `<name>` (chunk vectors with offsets), `<name>-docs`
    (document records) and `<name>-texts` (each document's text, stored once)."""

    def __init__(self, settings: Settings, embedder_name: str) -> None:
        self.settings, self.embedder_name = settings, embedder_name
        self.remote = bool(settings.chroma_url)
        self.directory = None if self.remote else settings.index_path
        self.location = settings.chroma_url or str(settings.index_path)
        self._doc_cache: OrderedDict[tuple[str, str], tuple[str, dict[str, Any]]] = OrderedDict()
        self._own: deque[str] = deque(maxlen=64)  # generations this object wrote
        self._facets: tuple[str, dict[str, tuple[int, str | None]]] | None = None
        self._open()
        try:
            self._max_batch = int(self.client.get_max_batch_size())
        except Exception:  # older servers do not say
            self._max_batch = 1000

    def _open(self) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = self.settings
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if settings.chroma_url:
                url = urlparse(settings.chroma_url)
                self.client = chromadb.HttpClient(host=url.hostname or "127.0.0.1",
                                                  port=url.port or (443 if url.scheme == "https" else 8000),
                                                  ssl=url.scheme == "https", settings=chroma_settings)
                self.client.heartbeat()
            else:
                private_dir(settings.index_path)
                self.client = chromadb.PersistentClient(path=str(settings.index_path), settings=chroma_settings)
                private_files(*sqlite_files(settings.index_path / "chroma.sqlite3"))
            self._chunks = self.client.get_or_create_collection(
                settings.collection, embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}}, metadata={"embedder": self.embedder_name})
            self._docs = self.client.get_or_create_collection(
                f"{settings.collection}-docs", embedding_function=None)
            # Article texts live in their own collection, as metadata: Chroma's full-text index
            # on `documents` cost more than the vectors, and listing documents stays light.
            self._texts = self.client.get_or_create_collection(
                f"{settings.collection}-texts", embedding_function=None)
        except (ValueError, ConnectionError, OSError) as e:
            if settings.chroma_url:
                raise StoreUnavailable("search unavailable: the Chroma server does not answer. Start it "
                                       "(`chroma run --path DIR --port N`) or fix ASSISTANT_CHROMA_URL.") from None
            if isinstance(e, OSError) and e.errno == errno.ENOSPC:
                raise store_error(e, remote=False, directory=settings.index_path) from None
            raise StoreUnavailable(f"search unavailable: the index directory cannot be opened ({type(e).__name__}); "
                                   "check --index / ASSISTANT_INDEX") from None
        except Exception as e:  # chromadb raises its own errors for a broken or locked directory
            if type(e).__module__.startswith("chromadb") or "sqlite" in type(e).__module__:
                raise store_error(e, remote=self.remote, directory=self.directory) from None
            raise

    def follow(self, stamp: str) -> None:
        """Called when the store's generation moved to `stamp`. If another process wrote it,
        reopen a local index: Chroma keeps each process's vector segments in memory and
        never reloads what another process wrote (chroma-core/chroma#3792), so a
        long-lived reader would go on missing new chunks."""
        if self.remote or stamp in self._own or stamp == "-":
            return
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()  # older handles keep working, with their old view
        self._open()

    def check_embedder(self, name: str) -> None:
        """Raise EmbedderMismatch when the index was built with another embedder."""
        built = (self._chunks.metadata or {}).get("embedder")
        if built and built != name:
            raise EmbedderMismatch(
                f"the index was built with embedder {built!r}, not {name!r}. "
                f"Use ASSISTANT_EMBEDDER={built.split(':')[0]!s} for it, or rebuild: "
                f"`assistant ingest PATH --rebuild` (or pick a new --index DIR).")

    @_guarded
    def existing(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """Content hash of each of these documents that is indexed."""
        out: dict[str, str] = {}
        for i in range(0, len(doc_ids), _BATCH):
            got = self._docs.get(ids=list(doc_ids[i:i + _BATCH]), include=["metadatas"])
            out.update({d: m.get("content_hash", "") for d, m in zip(got["ids"], got["metadatas"])})
        return out

    @_guarded
    def owners(self, hashes: Sequence[str]) -> dict[str, str]:
        """The indexed document holding each of these content hashes."""
        out: dict[str, str] = {}
        for i in range(0, len(hashes), _BATCH):
            got = self._docs.get(where={"content_hash": {"$in": list(hashes[i:i + _BATCH])}}, include=["metadatas"])
            out.update({m.get("content_hash", ""): d for d, m in zip(got["ids"], got["metadatas"])})
        return out

    @_guarded
    def origins(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """Where each of these indexed documents came from: the file it was loaded from, as
        recorded at ingest; for a document written before that was recorded, its source
        (a file path without its ":line"/"#record" suffix, or its URL)."""
        out: dict[str, str] = {}
        for i in range(0, len(doc_ids), _BATCH):
            got = self._docs.get(ids=list(doc_ids[i:i + _BATCH]), include=["metadatas"])
            for d, m in zip(got["ids"], got["metadatas"]):
                info = _unpack(m or {})
                source = str(info.get("source", ""))
                out[d] = info.get("origin") or (source if "://" in source else re.sub(r"[:#]\d+$", "", source))
        return out

    @_guarded
    def put_many(self, items: Sequence[tuple[Document, Sequence[Chunk], np.ndarray]], replacing: set[str],
                 origins: dict[str, str] | None = None) -> None:
        """Store documents and their chunks in few large writes. Chunk records carry offsets,
        not text: a chunk's text is its document's `text[start:end]`, stored once.
        `origins` (doc id -> the file it came from) is recorded with each document.
        New chunks go in first, document records next and stale chunks of the `replacing`
        documents out last, so a crash never loses an old version (and `remove_orphans`
        clears chunks whose document record never landed)."""
        ids: list[str] = []
        metas: list[dict[str, Any]] = []
        vectors: list[np.ndarray] = []
        for doc, chunks, embeddings in items:
            ids += [c.id for c in chunks]
            # Few keys: every metadata key costs Chroma an inverted-index write. The version
            # (content hash prefix) and position are in the chunk id: "<hash[:16]>-<position>".
            # `day` (date ordinal, 0 = undated) and `outlet` (case-folded) serve the filters.
            metas += [chunk_meta(doc, c) for c in chunks]
            vectors.append(np.asarray(embeddings, dtype=np.float32))
        flat = np.concatenate(vectors) if vectors else np.zeros((0, 1), dtype=np.float32)
        step = min(self._max_batch, 4096)
        for i in range(0, len(ids), step):
            self._chunks.upsert(ids=ids[i:i + step], embeddings=flat[i:i + step], metadatas=metas[i:i + step])
        for i in range(0, len(items), 256):
            part = items[i:i + 256]
            ones = np.ones((len(part), 1), dtype=np.float32)
            # Texts are kept per version ("<doc id>@<hash[:16]>"): a crash before the document
            # record (the commit point) leaves the old version's text in place, never overwritten.
            self._texts.upsert(ids=[text_id(d.id, d.content_hash) for d, _, _ in part], embeddings=ones,
                               metadatas=[_clean({"text": d.text, "content_hash": d.content_hash, "doc_id": d.id,
                                                  "title": d.title, "source": d.source, "published": d.published,
                                                  "outlet": d.outlet})
                                          for d, _, _ in part])
            self._docs.upsert(ids=[d.id for d, _, _ in part], embeddings=ones,  # the commit point
                              metadatas=[_doc_meta(d, chunks, (origins or {}).get(d.id)) for d, chunks, _ in part])
        for doc, _, _ in items:
            if doc.id in replacing:
                old = self._chunks.get(where={"doc_id": doc.id}, include=[])["ids"]
                stale = [cid for cid in old if version(cid) != doc.content_hash[:16]]
                if stale:
                    self._chunks.delete(ids=stale)
                self._texts.delete(where={"$and": [{"doc_id": doc.id}, {"content_hash": {"$ne": doc.content_hash}}]})
                self._texts.delete(ids=[doc.id])  # an index written before texts were versioned

    @_guarded
    def stamp(self) -> str:
        """Changes whenever any writer changed the index (every write sets a new generation
        first); one small read, where counting the chunks would cost milliseconds."""
        meta = self.client.get_collection(self._docs.name).metadata or {}
        return str(meta.get("generation", "-"))

    @_guarded
    def touch(self) -> None:
        """Record a write (a new generation), so other processes' BM25 catches up."""
        import uuid

        generation = uuid.uuid4().hex
        self._own.append(generation)
        self._docs.modify(metadata={"generation": generation})

    @_guarded
    def doc_hashes(self) -> dict[str, str]:
        """Content hash of every indexed document."""
        out: dict[str, str] = {}
        offset = 0
        while True:
            got = self._docs.get(include=["metadatas"], limit=10_000, offset=offset)
            out.update({d: m.get("content_hash", "") for d, m in zip(got["ids"], got["metadatas"])})
            if len(got["ids"]) < 10_000:
                return out
            offset += 10_000

    @_guarded
    def chunk_texts(self, doc_ids: Sequence[str]) -> list[tuple[str, str, str, str, int, int]]:
        """(chunk id, doc id, content hash, text, start, end) of the current chunks of these documents."""
        out: list[tuple[str, str, str, str, int, int]] = []
        for i in range(0, len(doc_ids), 200):
            part = list(doc_ids[i:i + 200])
            docs = self._docs.get(ids=part, include=["metadatas"])
            texts = self._texts_of(_hashes(docs))
            current = {d: (texts.get(d), m.get("content_hash", "")) for d, m in zip(docs["ids"], docs["metadatas"])}
            got = self._chunks.get(where={"doc_id": {"$in": part}}, include=["metadatas"])
            rows = sorted(zip(got["ids"], got["metadatas"]), key=lambda r: (r[1]["doc_id"], r[0]))
            for cid, m in rows:
                text, content_hash = current.get(m["doc_id"], (None, None))
                if text is not None and version(cid) == content_hash[:16]:
                    a, b = int(m["start"]), int(m["end"])
                    out.append((cid, m["doc_id"], content_hash, text[a:b], a, b))
        return out

    @_guarded
    def delete(self, doc_id: str) -> None:
        if doc_id not in self.existing([doc_id]):
            raise DocumentNotFound(f"no document {doc_id!r} in the index; `assistant docs list` shows the ids")
        # The document record goes first (the commit point, as in put_many): a crash after it
        # leaves only orphan chunks and texts, which `remove_orphans` clears; chunks first
        # would leave a listed document that search can no longer find.
        self._docs.delete(ids=[doc_id])
        self._doc_cache = OrderedDict((k, v) for k, v in self._doc_cache.items() if k[0] != doc_id)
        self._chunks.delete(where={"doc_id": doc_id})
        self._texts.delete(where={"doc_id": doc_id})
        self._texts.delete(ids=[doc_id])  # an index written before texts were versioned

    @_guarded
    def documents(self) -> list[DocumentInfo]:
        got = self._docs.get(include=["metadatas"])
        infos = [_info(i, m) for i, m in zip(got["ids"], got["metadatas"])]
        return sorted(infos, key=lambda d: (d.source, d.id))

    @_guarded
    def document(self, doc_id: str) -> Document:
        got = self._docs.get(ids=[doc_id], include=["metadatas"])
        text = self._texts_of(_hashes(got)).get(doc_id) if got["ids"] else None
        if text is None:
            raise DocumentNotFound(f"no document {doc_id!r} in the index; `assistant docs list` shows the ids")
        return _document(doc_id, text, _unpack(got["metadatas"][0]))

    @_guarded
    def chunk_ids(self) -> list[str]:
        ids: list[str] = []
        offset = 0
        while True:
            got = self._chunks.get(include=[], limit=10_000, offset=offset)
            ids.extend(got["ids"])
            if len(got["ids"]) < 10_000:
                return ids
            offset += 10_000

    @_guarded
    def chunks(self, ids: Sequence[str] | None = None) -> list[StoredChunk]:
        """The given chunks (all when `ids` is None), in the order asked."""
        out: list[StoredChunk] = []
        wanted = list(ids) if ids is not None else self.chunk_ids()
        for i in range(0, len(wanted), _BATCH):
            got = self._chunks.get(ids=wanted[i:i + _BATCH], include=["metadatas"])
            by_id = {c.id: c for c in self._join(got["ids"], got["metadatas"])}
            out.extend(by_id[c] for c in wanted[i:i + _BATCH] if c in by_id)
        return out

    @_guarded
    def query(self, embedding: np.ndarray, n: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """The ids of the `n` nearest chunks (among those matching the Chroma `where` filter,
        see `filters.Filters.where`) and their cosine similarity (no metadata: the BM25
        catalog or `locate` says where they are)."""
        got = self._chunks.query(query_embeddings=[embedding], n_results=n, include=["distances"],
                                 **({"where": where} if where else {}))
        return [(cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], got["distances"][0])]

    @_guarded
    def facets(self) -> dict[str, tuple[int, str | None]]:
        """doc id -> (day number, 0 when undated; case-folded outlet or None) of every
        document, from the document records; cached until the store's generation moves."""
        stamp = self.stamp()
        if self._facets is None or self._facets[0] != stamp:
            out: dict[str, tuple[int, str | None]] = {}
            offset = 0
            while True:
                got = self._docs.get(include=["metadatas"], limit=10_000, offset=offset)
                for d, m in zip(got["ids"], got["metadatas"]):
                    info = _unpack(m or {})
                    out[d] = (dates.day(info.get("published")) or 0, outlet_key(info.get("outlet")))
                if len(got["ids"]) < 10_000:
                    break
                offset += 10_000
            self._facets = (stamp, out)
        return self._facets[1]

    @_guarded
    def locate(self, ids: Sequence[str]) -> list[ChunkRef]:
        """Where these chunks are (document, offsets), without reading any text."""
        got = self._chunks.get(ids=list(ids), include=["metadatas"]) if ids else {"ids": [], "metadatas": []}
        return [_ref(cid, m) for cid, m in zip(got["ids"], got["metadatas"])]

    @_guarded
    def read(self, refs: Sequence[ChunkRef]) -> list[StoredChunk]:
        """The chunks' text and document fields; those whose document is gone or changed are
        left out. Documents are cached by (id, content hash): a version's text never changes."""
        loaded = self._load_docs({(r.doc_id, r.version) for r in refs if (r.doc_id, r.version) not in self._doc_cache})
        out: list[StoredChunk] = []
        for r in refs:
            key = (r.doc_id, r.version)
            doc = loaded.get(key) or self._doc_cache.get(key)  # a read of many documents outgrows the cache
            if doc is None:
                continue
            if key in self._doc_cache:
                self._doc_cache.move_to_end(key)
            text, m = doc
            out.append(StoredChunk(id=r.id, doc_id=r.doc_id, text=text[r.start:r.end], start=r.start, end=r.end,
                                   title=m.get("title", ""), source=m.get("source", ""), published=m.get("published"),
                                   outlet=m.get("outlet")))
        return out

    def _join(self, ids: Sequence[str], metas: Sequence[dict[str, Any]]) -> list[StoredChunk]:
        return self.read([_ref(cid, m) for cid, m in zip(ids, metas)])

    def _load_docs(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
        """Read and cache the texts of these (doc id, version) pairs; returns those found
        (versions no longer stored are left out)."""
        found: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        if not keys:
            return found
        ids = sorted({f"{d}@{v}" for d, v in keys} | {d for d, _ in keys})
        got = self._texts.get(ids=ids, include=["metadatas"])
        for tid, m in zip(got["ids"], got["metadatas"]):
            if m and "text" in m and "content_hash" in m:
                key = (m.get("doc_id") or tid, m["content_hash"][:16])
                if key in keys:
                    found[key] = (m["text"], m)
                    keys.discard(key)
        if keys:  # documents written before texts carried their fields
            got = self._docs.get(ids=sorted({d for d, _ in keys}), include=["metadatas"])
            texts = self._texts_of(_hashes(got))
            for d, m in zip(got["ids"], got["metadatas"]):
                key = (d, m.get("content_hash", "")[:16])
                if d in texts and key in keys:
                    found[key] = (texts[d], _unpack(m))
        if found:  # a text outlives its record for a moment (a delete or a crash between writes)
            live = _hashes(self._docs.get(ids=sorted({d for d, _ in found}), include=["metadatas"]))
            found = {k: v for k, v in found.items() if live.get(k[0], "")[:16] == k[1]}
        self._doc_cache.update(found)
        self._trim_cache()
        return found

    def _trim_cache(self) -> None:
        while len(self._doc_cache) > 256:
            self._doc_cache.popitem(last=False)

    def _texts_of(self, current: dict[str, str]) -> dict[str, str]:
        """The texts of these documents at these content hashes (doc id -> hash). Indexes
        written before texts were versioned keep them under the doc id; older ones as the
        documents' Chroma `documents`."""
        if not current:
            return {}
        ids = sorted({text_id(d, h) for d, h in current.items()} | set(current))
        got = self._texts.get(ids=ids, include=["metadatas"])
        out: dict[str, str] = {}
        for tid, m in zip(got["ids"], got["metadatas"]):
            d = (m or {}).get("doc_id") or tid
            if m and "text" in m and d in current and m.get("content_hash", "")[:16] == current[d][:16]:
                out[d] = m["text"]
        missing = [d for d in current if d not in out]
        if missing:
            old = self._docs.get(ids=missing, include=["documents"])
            out.update({d: t for d, t in zip(old["ids"], old["documents"]) if t is not None})
        return out

    @_guarded
    def export(self, batch: int = 200) -> Iterator[Document]:
        """Every indexed document with its text and fields, read in batches from the
        document records alone (never the vector files): what `repair` rebuilds from."""
        ids = sorted(self.doc_hashes())
        for i in range(0, len(ids), batch):
            part = ids[i:i + batch]
            got = self._docs.get(ids=part, include=["metadatas"])
            texts = self._texts_of(_hashes(got))
            for d, m in zip(got["ids"], got["metadatas"]):
                if d in texts:
                    yield _document(d, texts[d], _unpack(m))

    @_guarded
    def remove_orphans(self) -> int:
        """Delete chunks whose document record is missing or has another content hash (left
        by a crash between writing chunks and their document); returns how many."""
        docs = self._docs.get(include=["metadatas"])
        current = {i: m.get("content_hash") for i, m in zip(docs["ids"], docs["metadatas"])}
        stale: list[str] = []
        offset = 0
        while True:
            got = self._chunks.get(include=["metadatas"], limit=10_000, offset=offset)
            stale += [cid for cid, m in zip(got["ids"], got["metadatas"])
                      if (current.get(m.get("doc_id")) or "")[:16] != version(cid)]
            if len(got["ids"]) < 10_000:
                break
            offset += 10_000
        for i in range(0, len(stale), _BATCH):
            self._chunks.delete(ids=stale[i:i + _BATCH])
        texts = self._texts.get(include=[])["ids"]  # versions whose document record never landed
        old = [t for t in texts if "@" in t and t.rsplit("@", 1)[1] != (current.get(t.rsplit("@", 1)[0]) or "")[:16]]
        for i in range(0, len(old), _BATCH):
            self._texts.delete(ids=old[i:i + _BATCH])
        return len(stale)

    @_guarded
    def reset(self) -> None:
        """Drop every document and chunk (for `--rebuild`)."""
        self.client.delete_collection(self._chunks.name)
        self.client.delete_collection(self._docs.name)
        self.client.delete_collection(self._texts.name)


def _clean(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if v is not None}


def _document(doc_id: str, text: str, m: dict[str, Any]) -> Document:
    return Document(id=doc_id, title=m.get("title", ""), source=m.get("source", ""), text=text,
                    content_hash=m.get("content_hash", ""), published=m.get("published"),
                    url=m.get("url"), body_start=int(m.get("body_start", 0)), body_end=int(m.get("body_end", -1)),
                    outlet=m.get("outlet"))


def _info(doc_id: str, m: dict[str, Any]) -> DocumentInfo:
    m = _unpack(m)
    return DocumentInfo(id=doc_id, title=m.get("title", ""), source=m.get("source", ""),
                        content_hash=m.get("content_hash", ""), published=m.get("published"),
                        url=m.get("url"), chunks=int(m.get("chunks", 0)), chars=int(m.get("chars", 0)),
                        outlet=m.get("outlet"))


def _ref(cid: str, m: dict[str, Any]) -> ChunkRef:
    return ChunkRef(cid, m["doc_id"], version(cid), int(m["start"]), int(m["end"]))


def text_id(doc_id: str, content_hash: str) -> str:
    """The id of one version of a document's text: "<doc id>@<content hash[:16]>"."""
    return f"{doc_id}@{content_hash[:16]}"


def _hashes(got: dict[str, Any]) -> dict[str, str]:
    """doc id -> content hash, from a `get` of document records."""
    return {d: (m or {}).get("content_hash", "") for d, m in zip(got["ids"], got["metadatas"])}


def version(chunk_id: str) -> str:
    """The document version a chunk belongs to: the content-hash prefix its id starts with."""
    return chunk_id.partition("-")[0]


def _doc_meta(doc: Document, chunks: Sequence[Chunk], origin: str | None = None) -> dict[str, Any]:
    """A document record: the content hash (filtered on) and the rest packed as one JSON
    string, since each metadata key costs Chroma an inverted-index write. `origin` is the
    file the document came from (which source owns its id)."""
    info = _clean({"title": doc.title, "source": doc.source, "published": doc.published, "url": doc.url,
                   "outlet": doc.outlet, "origin": origin,
                   "chunks": len(chunks), "chars": len(doc.text), "body_start": doc.body_start,
                   "body_end": doc.body_end})
    return {"content_hash": doc.content_hash, "info": json.dumps(info, ensure_ascii=False)}


def chunk_meta(doc: Document, chunk: Chunk) -> dict[str, Any]:
    """A chunk record: its document and offsets, and what the filters match on: `day` (the
    publication date's ordinal, 0 when undated) and `outlet` (case-folded; absent when unknown)."""
    meta: dict[str, Any] = {"doc_id": doc.id, "start": chunk.start, "end": chunk.end,
                            "day": dates.day(doc.published) or 0}
    key = outlet_key(doc.outlet)
    if key:
        meta["outlet"] = key
    return meta


def outlet_key(outlet: str | None) -> str | None:
    """An outlet name as filters compare it: case-folded, spaces collapsed."""
    return " ".join(outlet.split()).casefold() or None if outlet else None


def _unpack(m: dict[str, Any]) -> dict[str, Any]:
    """A document record's fields (records written before packing have them as keys)."""
    if "info" not in m:
        return m
    return {**json.loads(m["info"]), "content_hash": m.get("content_hash", "")}
