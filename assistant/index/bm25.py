"""BM25 over the stored chunks (local Chroma has no sparse index), kept beside the index.

The index grows in append-only segments: an ingest adds one segment for the chunks it
wrote, a replaced or deleted document only marks its rows dead, and segments are merged
(dead rows dropped) when there are too many. Nothing is rebuilt from scratch on a change.

It stays in step with Chroma, the source of truth, by a stamp (the store's write
generation, renewed before every write). When the stamp moved (another process wrote, or a crash
left the cache behind), `sync` compares document content hashes with the store and
indexes only the documents that changed."""
from __future__ import annotations

import copy
import fcntl
import hashlib
import io
import json
import math
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Iterable, Protocol, Sequence

import numpy as np

from assistant.core.data import ChunkRef
from assistant.core.text import terms

K1, B = 1.5, 0.75
FORMAT = 5  # 4: every file's SHA-256 in the manifest; 5: numbers are one term ("1,200" -> "1200")
MAX_SEGMENTS = 8


class ChunkSource(Protocol):
    """What `sync` needs from the store."""

    def stamp(self) -> str: ...
    def doc_hashes(self) -> dict[str, str]: ...
    def chunk_texts(self, doc_ids: Sequence[str]) -> list[tuple[str, str, str, str, int, int]]: ...


@dataclass
class Segment:
    """Postings of a run of rows: for global term id t, rows[indptr[t]:indptr[t+1]] (global
    row numbers) with their term frequencies. Terms added after it was built have no column."""

    name: str
    indptr: np.ndarray  # int64, one more than the vocabulary size when built
    rows: np.ndarray    # int32
    tf: np.ndarray      # float32

    def postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        if tid + 1 >= len(self.indptr):
            return _EMPTY_I, _EMPTY_F
        a, b = self.indptr[tid], self.indptr[tid + 1]
        return self.rows[a:b], self.tf[a:b]


_EMPTY_I = np.zeros(0, dtype=np.int32)
_EMPTY_F = np.zeros(0, dtype=np.float32)


class KeywordIndex:
    """BM25 scores over the live chunks (Lucene idf, k1=1.5, b=0.75)."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.segments: list[Segment] = []
        self.row_ids: list[str] = []                  # chunk id of each row
        self.row_docs: list[str] = []                 # its document id
        self.spans = np.zeros((0, 2), dtype=np.int64)  # its (start, end) in the document text
        self._row_of: dict[str, int] | None = None
        self.lens = np.zeros(0, dtype=np.float32)     # terms per row
        self.alive = np.zeros(0, dtype=bool)
        self.docs: dict[str, tuple[str, int, int]] = {}  # doc id -> (content hash, first row, end row)
        self.stamp: str | None = None
        self._avgdl: float | None = None
        self._saved: dict[str, str] = {}  # file name -> SHA-256 of what is on disk

    def clone(self) -> "KeywordIndex":
        """A copy that can change while readers keep searching this one (segments and the
        arrays that `add` replaces are shared; what `remove` changes in place is copied)."""
        other = copy.copy(self)
        other.vocab = dict(self.vocab)
        other.segments = list(self.segments)
        other.row_ids, other.row_docs = list(self.row_ids), list(self.row_docs)
        other.alive = self.alive.copy()
        other.docs = dict(self.docs)
        other._saved = dict(self._saved)
        return other

    # -- reading ------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of live chunks."""
        return int(self.alive.sum())

    @property
    def ids(self) -> list[str]:
        """The live chunk ids."""
        return [self.row_ids[i] for i in np.flatnonzero(self.alive)]

    def locate(self, ids: Sequence[str]) -> list[ChunkRef]:
        """Where these live chunks are (unknown or dead ids are left out): the catalog that
        spares the vector store a metadata read per query."""
        if self._row_of is None:
            self._row_of = {cid: i for i, cid in enumerate(self.row_ids)}
        out: list[ChunkRef] = []
        for cid in ids:
            row = self._row_of.get(cid)
            if row is not None and self.alive[row]:
                doc = self.row_docs[row]
                out.append(ChunkRef(cid, doc, self.docs[doc][0][:16], int(self.spans[row, 0]), int(self.spans[row, 1])))
        return out

    def _postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        tid = self.vocab.get(term)
        if tid is None:
            return _EMPTY_I, _EMPTY_F
        parts = [s.postings(tid) for s in self.segments]
        rows = np.concatenate([p[0] for p in parts]) if parts else _EMPTY_I
        tf = np.concatenate([p[1] for p in parts]) if parts else _EMPTY_F
        keep = self.alive[rows]
        return rows[keep], tf[keep]

    def _idf(self, df: int) -> float:
        n = max(self.size, 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def idf(self, term: str) -> float:
        """Inverse document frequency of a stemmed term; unseen terms get the highest value."""
        return self._idf(len(self._postings(term)[0]))

    def search(self, query: str, n: int, docs: Collection[str] | None = None) -> list[tuple[str, float]]:
        """Up to `n` (chunk id, BM25 score) pairs with a positive score, best first; with
        `docs`, only chunks of those documents (a filter: statistics stay corpus-wide)."""
        q = terms(query)
        if not q or not self.size:
            return []
        if self._avgdl is None:
            self._avgdl = float(self.lens[self.alive].mean()) or 1.0
        scores = np.zeros(len(self.row_ids), dtype=np.float32)
        for term in q:  # a repeated query term counts again
            rows, tf = self._postings(term)
            if not len(rows):
                continue
            norm = K1 * (1 - B + B * self.lens[rows] / self._avgdl)
            scores[rows] += self._idf(len(rows)) * tf * (K1 + 1) / (tf + norm)
        hits = np.flatnonzero((scores > 0) & self._rows_of(docs)) if docs is not None else np.flatnonzero(scores > 0)
        if not len(hits):
            return []
        if len(hits) > n:
            hits = hits[np.argpartition(-scores[hits], n - 1)[:n]]
        hits = hits[np.lexsort((hits, -scores[hits]))]
        return [(self.row_ids[i], float(scores[i])) for i in hits]

    def _rows_of(self, docs: Collection[str]) -> np.ndarray:
        """A mask of the live rows of these documents (a document's rows are contiguous)."""
        mask = np.zeros(len(self.row_ids), dtype=bool)
        for doc_id in docs:
            got = self.docs.get(doc_id)
            if got is not None:
                mask[got[1]:got[2]] = True
        return mask & self.alive

    # -- changing -------------------------------------------------------------------------------
    def add(self, docs: Iterable[tuple[str, str, Sequence[tuple[Any, ...]]]], tokenized: bool = False) -> int:
        """Index documents given as (doc id, content hash, [(chunk id, text, start, end), ...])
        (start and end may be left out); with
        `tokenized`, each text is already its `terms()` joined by spaces. A document already
        present is replaced. Returns the number of rows added (one new segment)."""
        base = len(self.row_ids)
        tids: list[np.ndarray] = []
        lens: list[int] = []
        ids: list[str] = []
        docs_of: list[str] = []
        spans: list[tuple[int, int]] = []
        vocab = self.vocab
        for doc_id, content_hash, chunks in docs:
            self.remove([doc_id])
            first = base + len(ids)
            for cid, text, *span in chunks:
                docs_of.append(doc_id)
                spans.append((span[0], span[1]) if span else (0, 0))
                toks = text.split() if tokenized else terms(text)
                row_t = np.array([vocab.setdefault(t, len(vocab)) for t in toks], dtype=np.int64)
                tids.append(row_t)
                lens.append(len(toks))
                ids.append(cid)
            self.docs[doc_id] = (content_hash, first, base + len(ids))
        if not ids:
            return 0
        local = np.repeat(np.arange(len(ids), dtype=np.int64), [len(t) for t in tids])
        flat = np.concatenate(tids) if tids else np.zeros(0, dtype=np.int64)
        keys, tf = np.unique(flat * len(ids) + local, return_counts=True)  # sorted by term, then row
        tid_of, row_of = np.divmod(keys, len(ids))
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(tid_of, minlength=len(vocab)), out=indptr[1:])
        self.segments.append(Segment(f"seg-{uuid.uuid4().hex[:12]}", indptr, (row_of + base).astype(np.int32),
                                     tf.astype(np.float32)))
        self.row_ids.extend(ids)
        self.row_docs.extend(docs_of)
        self.spans = np.concatenate([self.spans, np.asarray(spans, dtype=np.int64).reshape(-1, 2)])
        self._row_of = None
        self.lens = np.concatenate([self.lens, np.asarray(lens, dtype=np.float32)])
        self.alive = np.concatenate([self.alive, np.ones(len(ids), dtype=bool)])
        self._avgdl = None
        if len(self.segments) > MAX_SEGMENTS or self.size < len(self.row_ids) // 2:
            self.compact()
        return len(ids)

    def remove(self, doc_ids: Iterable[str]) -> None:
        """Mark the rows of these documents dead (unknown ids are ignored)."""
        for doc_id in doc_ids:
            got = self.docs.pop(doc_id, None)
            if got is not None:
                self.alive[got[1]:got[2]] = False
                self._avgdl = None

    def compact(self) -> None:
        """Merge all segments into one and drop dead rows."""
        keep = np.flatnonzero(self.alive)
        new_row = np.full(len(self.row_ids), -1, dtype=np.int64)
        new_row[keep] = np.arange(len(keep))
        t_parts, r_parts, f_parts = [], [], []
        for s in self.segments:
            t_parts.append(np.repeat(np.arange(len(s.indptr) - 1, dtype=np.int64), np.diff(s.indptr)))
            r_parts.append(s.rows)
            f_parts.append(s.tf)
        tid = np.concatenate(t_parts) if t_parts else np.zeros(0, dtype=np.int64)
        rows = new_row[np.concatenate(r_parts)] if r_parts else np.zeros(0, dtype=np.int64)
        tf = np.concatenate(f_parts) if f_parts else _EMPTY_F
        live = rows >= 0
        tid, rows, tf = tid[live], rows[live], tf[live]
        order = np.lexsort((rows, tid))
        indptr = np.zeros(len(self.vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(tid, minlength=len(self.vocab)), out=indptr[1:])
        self.segments = [Segment(f"seg-{uuid.uuid4().hex[:12]}", indptr, rows[order].astype(np.int32), tf[order])]
        self.docs = {d: (h, int(new_row[a]), int(new_row[a]) + (b - a)) for d, (h, a, b) in self.docs.items()}
        self.row_ids = [self.row_ids[i] for i in keep]
        self.row_docs = [self.row_docs[i] for i in keep]
        self.spans = self.spans[keep]
        self._row_of = None
        self.lens = self.lens[keep]
        self.alive = np.ones(len(keep), dtype=bool)
        self._avgdl = None

    def sync(self, store: ChunkSource, stamp: str | None = None) -> bool:
        """Bring the index in line with the store: index documents that are new or changed,
        drop those that are gone. Returns True when anything changed."""
        stamp = stamp or store.stamp()
        current = store.doc_hashes()
        gone = [d for d, (h, _, _) in self.docs.items() if current.get(d) != h]
        fresh = sorted(d for d, h in current.items() if d not in self.docs or self.docs[d][0] != h)
        self.remove(gone)
        for i in range(0, len(fresh), 500):
            grouped: dict[str, list[tuple[str, str, int, int]]] = {}
            hashes: dict[str, str] = {}
            for cid, doc_id, content_hash, text, start, end in store.chunk_texts(fresh[i:i + 500]):
                grouped.setdefault(doc_id, []).append((cid, text, start, end))
                hashes[doc_id] = content_hash
            self.add((d, hashes[d], grouped[d]) for d in fresh[i:i + 500] if d in grouped)
        self.stamp = stamp
        return bool(gone or fresh)

    # -- on disk ----------------------------------------------------------------------------------
    def save(self, directory: Path) -> bool:
        """Write new segments, the vocabulary and the manifest (atomically replaced), then drop
        segment files no longer listed. Returns False when another process is saving."""
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / ".save.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False
            for s in self.segments:
                if f"{s.name}.npz" not in self._saved:
                    self._saved[f"{s.name}.npz"] = _atomic_write(
                        directory / f"{s.name}.npz", lambda f, s=s: np.savez(f, indptr=s.indptr, rows=s.rows, tf=s.tf))
            self._saved["rows.npz"] = _atomic_write(directory / "rows.npz", lambda f: np.savez(
                f, ids=np.asarray(self.row_ids, dtype=str), lens=self.lens, spans=self.spans,
                docs=np.asarray(self.row_docs, dtype=str)))
            self._saved["vocab.txt"] = _atomic_write(directory / "vocab.txt",
                                                     lambda f: f.write("\n".join(self.vocab).encode("utf-8")))
            listed = {f"{s.name}.npz" for s in self.segments}
            self._saved = {k: v for k, v in self._saved.items() if k in listed or not k.startswith("seg-")}
            manifest = {"format": FORMAT, "stamp": self.stamp, "rows": len(self.row_ids), "words": len(self.vocab),
                        "segments": [s.name for s in self.segments], "sha256": self._saved,
                        "docs": {d: list(v) for d, v in self.docs.items()}}
            body = json.dumps(manifest, sort_keys=True)
            _atomic_write(directory / "manifest.json", lambda f: f.write(json.dumps(
                {"body": body, "sha256": hashlib.sha256(body.encode("utf-8")).hexdigest()}).encode("utf-8")))
            for path in directory.glob("seg-*.npz"):
                if path.name not in listed:
                    path.unlink(missing_ok=True)
        return True

    @classmethod
    def load(cls, directory: Path) -> "KeywordIndex | None":
        """The saved index, or None when there is none, it is from an older format, or any
        file is torn or altered (its SHA-256 differs from the manifest's): the caller then
        rebuilds it from the store. A saved file is never trusted unchecked."""
        try:
            outer = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
            body = outer["body"]
            if hashlib.sha256(body.encode("utf-8")).hexdigest() != outer["sha256"]:
                return None
            manifest = json.loads(body)
            if manifest.get("format") != FORMAT:
                return None
            hashes: dict[str, str] = manifest["sha256"]
            blobs = {name: _checked(directory / name, hashes[name])
                     for name in ["vocab.txt", "rows.npz", *(f"{n}.npz" for n in manifest["segments"])]}
            if any(b is None for b in blobs.values()):
                return None
            index = cls()
            words = blobs["vocab.txt"].decode("utf-8").split("\n")  # type: ignore[union-attr]
            index.vocab = {w: i for i, w in enumerate(words[:manifest["words"]] if manifest["words"] else [])}
            with np.load(io.BytesIO(blobs["rows.npz"])) as z:  # type: ignore[arg-type]
                ids, lens, spans, docs = z["ids"], z["lens"], z["spans"], z["docs"]
            rows = int(manifest["rows"])
            if len(ids) != rows or len(lens) != rows or len(docs) != rows:
                return None
            index.row_ids = ids.tolist()
            index.row_docs = docs.tolist()
            index.spans = spans.reshape(-1, 2).astype(np.int64)
            index.lens = lens.astype(np.float32)
            for name in manifest["segments"]:
                with np.load(io.BytesIO(blobs[f"{name}.npz"])) as z:  # type: ignore[arg-type]
                    seg = Segment(name, z["indptr"], z["rows"], z["tf"])
                if len(seg.rows) and (seg.rows.min() < 0 or seg.rows.max() >= rows):
                    return None
                index.segments.append(seg)
            index.docs = {d: (str(v[0]), int(v[1]), int(v[2])) for d, v in manifest["docs"].items()}
            index.alive = np.zeros(rows, dtype=bool)
            for _, a, b in index.docs.values():
                if not 0 <= a <= b <= rows:
                    return None
                index.alive[a:b] = True
            index.stamp = manifest.get("stamp")
            index._saved = dict(hashes)
            return index
        except Exception:  # noqa: BLE001 - a cache file: anything wrong with it means rebuild it
            return None


def _checked(path: Path, sha256: str) -> bytes | None:
    """The file's bytes when their SHA-256 is the expected one, else None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def _atomic_write(path: Path, write) -> str:  # type: ignore[no-untyped-def]
    """Write through a temporary file, flushed to disk, then renamed over `path`; returns
    the SHA-256 of what was written."""
    buf = io.BytesIO()
    write(buf)
    data = buf.getvalue()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()
