"""Files the chat window writes: uploads (unique names, never through a link), the removal of
a deleted article's upload, conversation exports in a private folder that is cleaned up, and
Markdown that shows outside URLs as text only."""
from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterable

from assistant.core.errors import AssistantError
from assistant.core.private import private_dir
from assistant.serve.jobs import process_alive

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR = getattr(os, "O_DIRECTORY", 0)


def store_upload(src: Path, folder: Path, name: str) -> Path:
    """Copy `src` to `folder/<sha256 prefix>/name` and return that path. Two different files
    with one name never replace each other (the same file twice lands on the same path, so
    ingest stays idempotent); a symbolic link planted as `folder`, as the hash folder or as
    the file is never written through: the copy goes to a fresh temp file opened with
    O_EXCL|O_NOFOLLOW relative to directory handles opened with O_NOFOLLOW, and is renamed
    over the final name (a rename replaces a link, not its target)."""
    private_dir(folder)
    try:
        top = os.open(folder, os.O_RDONLY | _DIR | _NOFOLLOW)
    except OSError:
        raise AssistantError(f"the uploads folder is not a plain folder (a link?): remove {folder.name}/ "
                             "inside the index and upload again") from None
    tmp = f".incoming-{secrets.token_hex(8)}"
    try:
        digest = hashlib.sha256()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600, dir_fd=top)
        with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
                out.write(block)
        sub = digest.hexdigest()[:16]
        with contextlib.suppress(FileExistsError):
            os.mkdir(sub, 0o700, dir_fd=top)
        try:
            sub_fd = os.open(sub, os.O_RDONLY | _DIR | _NOFOLLOW, dir_fd=top)
        except OSError:
            raise AssistantError(f"uploads/{sub} is not a plain folder (a link?): remove it and upload again") from None
        try:
            os.replace(tmp, name, src_dir_fd=top, dst_dir_fd=sub_fd)
        finally:
            os.close(sub_fd)
        return folder / sub / name
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=top)
        os.close(top)


def shorten_name(name: str, max_chars: int, max_bytes: int = 200) -> str:
    """`name` cut to `max_chars` characters and `max_bytes` UTF-8 bytes (file systems allow
    255) by shortening its stem: the extension stays, ".warc.gz" whole, so a long upload
    name is still a file of its type. An extension longer than 10 characters is stem."""
    lower = name.lower()
    dot = name.rfind(".")
    ext = name[-8:] if lower.endswith(".warc.gz") else name[dot:] if 0 < dot and len(name) - dot <= 11 else ""
    stem = name[:len(name) - len(ext)]
    while stem and (len(stem) + len(ext) > max_chars or len((stem + ext).encode("utf-8")) > max_bytes):
        stem = stem[:-1]
    return (stem.rstrip(" .-") or "upload") + ext


def drop_upload(source: str, folder: Path, sources: Iterable[str]) -> bool:
    """Delete the uploaded file of a deleted document's `source` ("path" or "path:line") when
    it lies inside `folder` and none of `sources` (the documents still indexed) comes from it.
    Returns whether a file was removed."""
    path = Path(source if Path(source).exists() else source.rsplit(":", 1)[0])
    try:
        path, root = path.resolve(), folder.resolve()
    except OSError:
        return False
    if root not in path.parents or not path.is_file() or path.is_symlink():
        return False
    for other in sources:
        with contextlib.suppress(OSError):
            if other == str(path) or Path(other.rsplit(":", 1)[0]).resolve() == path or Path(other).resolve() == path:
                return False
    path.unlink(missing_ok=True)
    if path.parent != root:
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # its hash folder, when empty
    return True


class PrivateFiles:
    """A folder only this user can read (mode 0700) for Gradio's file cache and the exports,
    named after this process so that a later start removes what a killed one left."""

    PREFIX = "assistant-ui-"

    def __init__(self, parent: str | None = None) -> None:
        base = Path(parent or tempfile.gettempdir())
        self._sweep(base)
        self.root = Path(tempfile.mkdtemp(prefix=f"{self.PREFIX}{os.getpid()}-", dir=base))
        self.exports = self.root / "exports"
        self.exports.mkdir(mode=0o700)

    def _sweep(self, base: Path) -> None:
        for old in base.glob(f"{self.PREFIX}*-*"):
            with contextlib.suppress(OSError, ValueError):
                pid = int(old.name[len(self.PREFIX):].split("-", 1)[0])
                if old.is_dir() and not old.is_symlink() and old.stat().st_uid == os.getuid() and not process_alive(pid):
                    shutil.rmtree(old, ignore_errors=True)

    def export(self, session: str | None, text: str) -> Path:
        """Write `text` as this session's one export (replacing its previous one), mode 0600."""
        folder = self.exports / _session_folder(session)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(mode=0o700)
        path = folder / f"conversation-{time.strftime('%Y%m%d-%H%M%S')}.md"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def forget(self, session: str | None) -> None:
        """Remove this session's export."""
        shutil.rmtree(self.exports / _session_folder(session), ignore_errors=True)

    def remove(self) -> None:
        """Remove the whole folder (at shutdown)."""
        shutil.rmtree(self.root, ignore_errors=True)


def _session_folder(session: str | None) -> str:
    return hashlib.sha256((session or "local").encode()).hexdigest()[:24]
