"""Ingest preparation stage: chunk, embed and tokenize (for BM25) a batch of documents.

This is the CPU-heavy half of an ingest. `Preparer` runs it in this process, or in worker
processes (`python -c ... assistant.ingest.prepare_worker`, never the caller's main module) so
that it overlaps with the writes to Chroma, which hold this process's interpreter. A
document whose embedding fails is reported with its reason instead of stopping the batch."""
from __future__ import annotations

import collections
import concurrent.futures as cf
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Sequence

import numpy as np

from assistant.core import errors
from assistant.core.data import Chunk, Document
from assistant.core.settings import Settings
from assistant.core.text import terms
from assistant.ingest.chunk import Chunker
from assistant.models.embed import Embedder


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


# -- worker processes ---------------------------------------------------------------------------
# Frames on the worker's stdin: the Settings, then one list of Documents per batch. On its
# stdout, one reply per batch: ("ok", results), ("error", AssistantError) or ("crash", traceback).
_HEADER = struct.Struct("!Q")
_MAX_FRAME = 1 << 31
_FIX = ("set ASSISTANT_INGEST_WORKERS=0 to prepare documents in this process, and run the ingest again "
        "(it is idempotent: documents already indexed are kept and skipped)")
# -P and an explicit sys.path entry: the worker imports this very package and nothing of
# the caller (a spawned multiprocessing child would re-run the caller's main module).
_BOOT = ("import sys; p = sys.argv[1]; p in sys.path or sys.path.insert(0, p); "
         "from assistant.ingest.prepare_worker import main; sys.exit(main())")


def write_frame(stream: IO[bytes], obj: Any) -> None:
    """Send one pickled object, prefixed by its length."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next object sent by `write_frame`; None at a clean end of stream. Raises
    EOFError for a cut frame and ValueError for an impossible length."""
    header = stream.read(_HEADER.size)
    if not header:
        return None
    if len(header) < _HEADER.size:
        raise EOFError("stream ended inside a frame header")
    (size,) = _HEADER.unpack(header)
    if size > _MAX_FRAME:
        raise ValueError(f"frame of {size} bytes")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("stream ended inside a frame")
    return pickle.loads(data)


class _Worker:
    """One worker process and the thread that reads its replies (in submission order)."""

    def __init__(self, settings: Settings) -> None:
        self._stderr = tempfile.TemporaryFile()
        self._pending: collections.deque[cf.Future[list[Prepared | Failed]]] = collections.deque()
        self._lock = threading.Lock()
        self._failure: errors.AssistantError | None = None
        package_parent = str(Path(__file__).resolve().parents[2])  # the folder that holds `assistant`
        # PR_SET_PDEATHSIG in the worker fires when this thread ends: the Preparer that
        # starts a worker is used and closed by one ingest, in one thread.
        try:
            self.proc = subprocess.Popen([sys.executable, "-P", "-c", _BOOT, package_parent, str(os.getpid())],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        except (OSError, ValueError) as e:
            self._stderr.close()
            raise errors.IngestWorkerFailed(f"the ingest worker process cannot be started ({e}). To continue, {_FIX}") from None
        self._send(settings)
        self._reader = threading.Thread(target=self._read, name=f"ingest-worker-{self.proc.pid}", daemon=True)
        self._reader.start()

    def submit(self, docs: list[Document]) -> "cf.Future[list[Prepared | Failed]]":
        job: cf.Future[list[Prepared | Failed]] = cf.Future()
        with self._lock:
            if self._failure is not None:
                job.set_exception(self._failure)
                return job
            self._pending.append(job)
        self._send(docs)
        return job

    def _send(self, obj: Any) -> None:
        try:
            write_frame(self.proc.stdin, obj)  # type: ignore[arg-type]
        except (OSError, ValueError):
            pass  # the worker is gone: the reader fails the pending jobs with the reason

    def _read(self) -> None:
        try:
            while (reply := read_frame(self.proc.stdout)) is not None:  # type: ignore[arg-type]
                kind, value = reply
                with self._lock:
                    job = self._pending.popleft()
                if kind == "ok":
                    job.set_result(value)
                elif kind == "error" and isinstance(value, errors.AssistantError):
                    job.set_exception(value)
                else:
                    last = str(value).strip().splitlines()[-1:] or ["?"]
                    job.set_exception(self._error(f"failed while preparing documents ({last[0]})", stderr=False))
            failure = self._error(self._exit_status())
        except Exception as e:  # a cut frame, an unpicklable one, a reply nobody asked for...
            self.proc.kill()
            failure = self._error(f"sent a malformed reply ({type(e).__name__}: {e})"[:300])
        with self._lock:
            self._failure = failure
            pending, self._pending = list(self._pending), collections.deque()
        for job in pending:
            job.set_exception(failure)

    def _exit_status(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return "closed its output but kept running (now killed)"
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
            return f"was killed by {name}"
        return f"exited with code {code}" if code else "exited before finishing its work"

    def _error(self, what: str, stderr: bool = True) -> errors.IngestWorkerFailed:
        tail = ""
        if stderr and self.proc.poll() is not None:
            try:
                self._stderr.seek(0)
                lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
            except (OSError, ValueError):  # closed by `close()` after the worker was ended
                lines = []
            tail = " | ".join(line.strip() for line in lines[-3:])[-600:]
        return errors.IngestWorkerFailed(f"the ingest worker process (pid {self.proc.pid}) {what}"
                                         f"{'; its last output: ' + tail if tail else ''}. To continue, {_FIX}")

    def close(self) -> None:
        """End the worker: at once when it still has work (nobody will read it), else
        after it has seen the end of its input."""
        with self._lock:
            busy = bool(self._pending)
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        if busy:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)  # it reads stderr when the worker ends
        self.proc.stdout.close()  # type: ignore[union-attr]
        self._stderr.close()


class Preparer:
    """Runs `prepare` here (`workers=0`) or in `workers` worker processes, each started on
    first use and fed batches in turn. `submit` returns a future; the caller writes one
    batch while the next is prepared. A worker that crashes, exits or cannot start fails
    the future with IngestWorkerFailed; an AssistantError raised in it (e.g. a bad
    embedder setting) keeps its type."""

    def __init__(self, settings: Settings, chunker: Chunker, embedder: Embedder, workers: int) -> None:
        self.settings, self.chunker, self.embedder, self.workers = settings, chunker, embedder, workers
        self._procs: list[_Worker] = []
        self._turn = 0

    def submit(self, docs: Sequence[Document]) -> "cf.Future[list[Prepared | Failed]]":
        if self.workers <= 0:
            done: cf.Future[list[Prepared | Failed]] = cf.Future()
            try:
                done.set_result(prepare(docs, self.chunker, self.embedder))
            except BaseException as e:  # handed to the caller by .result()
                done.set_exception(e)
            return done
        slot = self._turn % self.workers
        self._turn += 1
        if slot == len(self._procs):
            self._procs.append(_Worker(self.settings))
        return self._procs[slot].submit(list(docs))

    def close(self) -> None:
        """Stop the worker processes (each exits once its input ends)."""
        procs, self._procs = self._procs, []
        for proc in procs:
            proc.close()

    def __enter__(self) -> "Preparer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
