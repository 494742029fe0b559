"""One writer per local index: right per thread and per process.

Threads of one process take turns (a writer waits for the one before it); another process
holds an exclusive `flock` on INDEX/.write.lock for as long as it writes, and a second
process waits up to `wait` seconds for it, then gets IndexLocked naming the holder. The
flock dies with its process, so a killed ingest never leaves the index locked. Readers
never take it."""
from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import IO, Any

from assistant.core.errors import IndexLocked
from assistant.core.private import private_dir


class _Holder:
    """The process-wide state of one lock file: a re-entrant thread lock and, while some
    thread of this process writes, the open file that carries the flock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.threads = threading.RLock()
        self.depth = 0
        self.file: IO[str] | None = None
        self.owner: int | None = None  # thread id of the writer, for readers that must not wait


# flock is per process and per open file, so the thread side must be shared by every
# WriteLock object of the process that names the same file: this table is that sharing.
_HOLDERS: dict[str, _Holder] = {}
_HOLDERS_GUARD = threading.Lock()


def _holder(path: Path) -> _Holder:
    key = os.path.realpath(path)
    with _HOLDERS_GUARD:
        holder = _HOLDERS.get(key)
        if holder is None:
            holder = _HOLDERS[key] = _Holder(Path(key))
        return holder


class WriteLock:
    """`with WriteLock(index_dir):` writes alone. Re-entrant in one thread; other threads of
    the process wait; another process is waited for `wait` seconds, then IndexLocked."""

    def __init__(self, directory: Path, wait: float = 5.0) -> None:
        self.path = Path(directory) / ".write.lock"
        self.wait = wait

    @property
    def held_elsewhere(self) -> bool:
        """True while another thread of this process is writing (its readers should not
        refresh what that writer is changing)."""
        h = _holder(self.path)
        return h.owner is not None and h.owner != threading.get_ident()

    def __enter__(self) -> "WriteLock":
        private_dir(self.path.parent)  # the index directory: 0700 when this creates it
        h = _holder(self.path)
        h.threads.acquire()
        if h.depth == 0:
            try:
                h.file = _flock(self.path, self.wait)
            except BaseException:
                h.threads.release()
                raise
            h.owner = threading.get_ident()
        h.depth += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        h = _holder(self.path)
        h.depth -= 1
        if h.depth == 0 and h.file is not None:
            h.owner = None
            fcntl.flock(h.file.fileno(), fcntl.LOCK_UN)
            h.file.close()
            h.file = None
        h.threads.release()


def _flock(path: Path, wait: float) -> IO[str]:
    f = open(path, "a+", encoding="utf-8")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                f.seek(0)
                holder = f.read().strip() or "another process"
                f.close()
                raise IndexLocked(f"the index is being written by {holder}; wait for it to finish and retry "
                                  "(several writers need a Chroma server: ASSISTANT_CHROMA_URL)") from None
            time.sleep(0.05)
    f.seek(0)
    f.truncate()
    f.write(f"process {os.getpid()}")
    f.flush()
    return f
