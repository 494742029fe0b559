"""One writer per local index: an exclusive, non-blocking `flock` on INDEX/.write.lock,
held while a process ingests, deletes or rebuilds. Readers never take it. The lock
dies with its process, so a killed ingest never leaves the index locked."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any, IO

from .errors import IndexLocked


class WriteLock:
    """`with WriteLock(index_dir):` or raise IndexLocked naming the holder's PID."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / ".write.lock"
        self._file: IO[str] | None = None
        self._depth = 0

    def __enter__(self) -> "WriteLock":
        if self._depth:  # re-entrant within one Assistant
            self._depth += 1
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise IndexLocked(f"the index is being written by {holder}; wait for it to finish "
                              "(several writers need a Chroma server: ASSISTANT_CHROMA_URL)") from None
        f.seek(0)
        f.truncate()
        f.write(f"process {os.getpid()}")
        f.flush()
        self._file, self._depth = f, 1
        return self

    def __exit__(self, *exc: Any) -> None:
        self._depth -= 1
        if self._depth == 0 and self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
