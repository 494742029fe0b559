"""What the assistant writes beside the index is private to the user who runs it: the
articles, conversations, uploads, keys and rate-limit state are nobody else's to read.
A directory it creates is mode 0700, its database files 0600. The CLI also sets umask
077 for everything its processes create (Chroma's segment files, caches, worker output);
these helpers cover the library use, where the umask is the caller's."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as mode 0700; an existing directory is left as
    it is (it may be the user's own folder, shared on purpose). Returns `path`."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        with contextlib.suppress(FileExistsError):
            p.mkdir(mode=0o700)
    return path


def private_files(*paths: Path | str) -> None:
    """Make these files (those that exist, are ours and are not links) mode 0600."""
    for p in paths:
        with contextlib.suppress(OSError):
            st = os.lstat(p)
            if not os.path.islink(p) and st.st_uid == os.getuid() and st.st_mode & 0o077:
                os.chmod(p, 0o600)


def sqlite_files(path: Path) -> list[Path]:
    """A SQLite database and its WAL and shared-memory files."""
    return [Path(path), Path(f"{path}-wal"), Path(f"{path}-shm")]
