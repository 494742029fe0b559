"""Chroma-backed store of chunks (with embeddings) and of documents (full text).

`PersistentClient` under the index directory by default; `HttpClient` when a
Chroma server URL is configured. Chroma is the source of truth: the BM25 side is
derived from it."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence, TypeVar
from urllib.parse import urlparse

import numpy as np

from .errors import AssistantError, DocumentNotFound, EmbedderMismatch, StoreUnavailable
from .settings import Settings
from .types import Chunk, Document, DocumentInfo

_BATCH = 1000
F = TypeVar("F", bound=Callable[..., Any])


def _guarded(method: F) -> F:
    """Turn a failure of the vector store mid-session (server gone, connection reset,
    broken directory) into StoreUnavailable with a one-line message."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except AssistantError:
            raise
        except Exception as e:
            module = type(e).__module__
            if isinstance(e, (ConnectionError, OSError, TimeoutError)) or module.startswith(("chromadb", "httpx", "httpcore")):
                raise StoreUnavailable(f"search unavailable: the vector store failed ({type(e).__name__}); "
                                       "check that the Chroma server or index directory is available and retry") from None
            raise

    return wrapper  # type: ignore[return-value]


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


class Store(Protocol):
    """What the assistant needs from a vector store."""

    def check_embedder(self, name: str) -> None: ...
    def find(self, doc_id: str) -> DocumentInfo | None: ...
    def find_by_hash(self, content_hash: str) -> str | None: ...
    def put(self, doc: Document, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None: ...
    def delete(self, doc_id: str) -> None: ...
    def documents(self) -> list[DocumentInfo]: ...
    def document(self, doc_id: str) -> Document: ...
    def chunk_ids(self) -> list[str]: ...
    def chunks(self, ids: Sequence[str] | None = None) -> list[StoredChunk]: ...
    def query(self, embedding: np.ndarray, n: int) -> list[tuple[StoredChunk, float]]: ...
    def remove_orphans(self) -> int: ...
    def reset(self) -> None: ...


class ChromaStore:
    """Two Chroma collections: `<name>` (chunks) and `<name>-docs` (documents)."""

    def __init__(self, settings: Settings, embedder_name: str) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if settings.chroma_url:
                url = urlparse(settings.chroma_url)
                self.client = chromadb.HttpClient(host=url.hostname or "127.0.0.1",
                                                  port=url.port or (443 if url.scheme == "https" else 8000),
                                                  ssl=url.scheme == "https", settings=chroma_settings)
                self.client.heartbeat()
            else:
                settings.index_path.mkdir(parents=True, exist_ok=True)
                self.client = chromadb.PersistentClient(path=str(settings.index_path), settings=chroma_settings)
            self._chunks = self.client.get_or_create_collection(
                settings.collection, embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}}, metadata={"embedder": embedder_name})
            self._docs = self.client.get_or_create_collection(
                f"{settings.collection}-docs", embedding_function=None)
        except (ValueError, ConnectionError, OSError) as e:
            if settings.chroma_url:
                raise StoreUnavailable("search unavailable: the Chroma server does not answer. Start it "
                                       "(`chroma run --path DIR --port N`) or fix ASSISTANT_CHROMA_URL.") from None
            raise StoreUnavailable(f"search unavailable: the index directory cannot be opened ({type(e).__name__}); "
                                   "check --index / ASSISTANT_INDEX") from None
        except Exception as e:  # chromadb raises its own errors for a broken or locked directory
            if type(e).__module__.startswith("chromadb"):
                raise StoreUnavailable(f"search unavailable: the Chroma index cannot be opened ({type(e).__name__}); "
                                       "check --index / ASSISTANT_INDEX or ASSISTANT_CHROMA_URL") from None
            raise
        self.location = settings.chroma_url or str(settings.index_path)

    def check_embedder(self, name: str) -> None:
        """Raise EmbedderMismatch when the index was built with another embedder."""
        built = (self._chunks.metadata or {}).get("embedder")
        if built and built != name:
            raise EmbedderMismatch(
                f"the index was built with embedder {built!r}, not {name!r}. "
                f"Use ASSISTANT_EMBEDDER={built.split(':')[0]!s} for it, or rebuild: "
                f"`assistant ingest PATH --rebuild` (or pick a new --index DIR).")

    @_guarded
    def find(self, doc_id: str) -> DocumentInfo | None:
        got = self._docs.get(ids=[doc_id], include=["metadatas"])
        if not got["ids"]:
            return None
        return _info(doc_id, got["metadatas"][0])

    @_guarded
    def find_by_hash(self, content_hash: str) -> str | None:
        got = self._docs.get(where={"content_hash": content_hash}, include=[], limit=1)
        return got["ids"][0] if got["ids"] else None

    @_guarded
    def put(self, doc: Document, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None:
        """Store a document and its chunks, replacing any earlier version of it.
        New chunks go in first and old ones out last, so a crash never loses the old version."""
        meta = _clean({"title": doc.title, "source": doc.source, "published": doc.published,
                       "url": doc.url, "content_hash": doc.content_hash, "chunks": len(chunks),
                       "chars": len(doc.text), "body_start": doc.body_start, "body_end": doc.body_end})
        for i in range(0, len(chunks), _BATCH):
            part = chunks[i:i + _BATCH]
            self._chunks.upsert(
                ids=[c.id for c in part], embeddings=embeddings[i:i + _BATCH].tolist(),
                documents=[c.text for c in part],
                metadatas=[_clean({"doc_id": doc.id, "start": c.start, "end": c.end, "position": c.position,
                                   "content_hash": doc.content_hash, "title": doc.title,
                                   "source": doc.source, "published": doc.published}) for c in part])
        self._docs.upsert(ids=[doc.id], embeddings=[[1.0]], documents=[doc.text], metadatas=[meta])
        self._chunks.delete(where={"$and": [{"doc_id": doc.id}, {"content_hash": {"$ne": doc.content_hash}}]})

    @_guarded
    def delete(self, doc_id: str) -> None:
        if self.find(doc_id) is None:
            raise DocumentNotFound(f"no document {doc_id!r} in the index; `assistant docs list` shows the ids")
        self._chunks.delete(where={"doc_id": doc_id})
        self._docs.delete(ids=[doc_id])

    @_guarded
    def documents(self) -> list[DocumentInfo]:
        got = self._docs.get(include=["metadatas"])
        infos = [_info(i, m) for i, m in zip(got["ids"], got["metadatas"])]
        return sorted(infos, key=lambda d: (d.source, d.id))

    @_guarded
    def document(self, doc_id: str) -> Document:
        got = self._docs.get(ids=[doc_id], include=["metadatas", "documents"])
        if not got["ids"]:
            raise DocumentNotFound(f"no document {doc_id!r} in the index; `assistant docs list` shows the ids")
        m, text = got["metadatas"][0], got["documents"][0]
        return Document(id=doc_id, title=m.get("title", ""), source=m.get("source", ""), text=text,
                        content_hash=m.get("content_hash", ""), published=m.get("published"),
                        url=m.get("url"), body_start=int(m.get("body_start", 0)), body_end=int(m.get("body_end", -1)))

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
            got = self._chunks.get(ids=wanted[i:i + _BATCH], include=["documents", "metadatas"])
            by_id = {cid: _stored(cid, t, m) for cid, t, m in zip(got["ids"], got["documents"], got["metadatas"])}
            out.extend(by_id[c] for c in wanted[i:i + _BATCH] if c in by_id)
        return out

    @_guarded
    def query(self, embedding: np.ndarray, n: int) -> list[tuple[StoredChunk, float]]:
        """The `n` nearest chunks and their cosine similarity."""
        total = self._chunks.count()
        if total == 0:
            return []
        got = self._chunks.query(query_embeddings=[embedding.tolist()], n_results=min(n, total),
                                 include=["documents", "metadatas", "distances"])
        return [(_stored(cid, t, m), 1.0 - float(d)) for cid, t, m, d in
                zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])]

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
                      if current.get(m.get("doc_id")) != m.get("content_hash")]
            if len(got["ids"]) < 10_000:
                break
            offset += 10_000
        for i in range(0, len(stale), _BATCH):
            self._chunks.delete(ids=stale[i:i + _BATCH])
        return len(stale)

    @_guarded
    def reset(self) -> None:
        """Drop every document and chunk (for `--rebuild`)."""
        self.client.delete_collection(self._chunks.name)
        self.client.delete_collection(self._docs.name)


def _clean(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if v is not None}


def _info(doc_id: str, m: dict[str, Any]) -> DocumentInfo:
    return DocumentInfo(id=doc_id, title=m.get("title", ""), source=m.get("source", ""),
                        content_hash=m.get("content_hash", ""), published=m.get("published"),
                        url=m.get("url"), chunks=int(m.get("chunks", 0)), chars=int(m.get("chars", 0)))


def _stored(cid: str, text: str, m: dict[str, Any]) -> StoredChunk:
    return StoredChunk(id=cid, doc_id=m["doc_id"], text=text, start=int(m["start"]), end=int(m["end"]),
                       title=m.get("title", ""), source=m.get("source", ""), published=m.get("published"))
