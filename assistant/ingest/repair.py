"""`assistant repair`: rebuild an index's vector and BM25 sides from the article texts the
index itself holds, for an index that a crash or a full disk left broken.

It never depends on the damaged parts: documents are read from the document records
(Chroma's SQLite tables), written first to a backup file beside the index (flushed to
disk), and only then are the collections dropped and built again. If the repair is
interrupted, the backup stays, the index refuses to open with a message that says so,
and the next `repair` finishes from the backup."""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

from assistant.core.data import Document
from assistant.core.errors import AssistantError, IndexDamaged
from assistant.index.index import Index
from assistant.index.store import ChromaStore
from assistant.ingest.commit import ingest_documents
from assistant.ingest.prepare import Preparer

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class RepairReport:
    """What a repair restored: documents and chunks, and whether it resumed an interrupted one."""

    documents: int
    chunks: int
    resumed: bool


def repair_index(index: Index, preparer: Preparer, progress: Progress | None = None) -> RepairReport:
    """Rebuild `index` from its own documents; returns what was restored. Raises
    IndexDamaged when the document records themselves cannot be read."""
    backup = index.repair_backup
    if not index.settings.chroma_url:  # never trust this process's handles on the damaged files
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        index.forget()
    with index.repair_mode(), index.locked():
        resumed = backup.exists()
        if not resumed:
            _write_backup(index, backup)
        docs = list(_read_backup(backup))
        aside = _drop(index)
        report = ingest_documents(index, docs, preparer, progress=progress)
        if report.skipped:
            reasons = "; ".join(f"{s.source}: {s.reason}" for s in report.skipped[:3])
            raise IndexDamaged(f"the repair could not restore {len(report.skipped)} document(s) ({reasons}); "
                               "run `assistant repair` again (the backup is kept)")
        backup.unlink()
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        return RepairReport(len(report.added) + len(report.updated) + len(report.unchanged),
                            report.chunks_added, resumed)


def _write_backup(index: Index, backup: Path) -> None:
    try:
        store = ChromaStore(index.settings, "-")  # opens the collections; no embedder check, no vectors read
        docs = list(store.export())
    except AssistantError as e:
        raise IndexDamaged(f"the index cannot be repaired from itself ({e}); build it again from your files "
                           "with `assistant ingest PATH --rebuild`") from None
    tmp = backup.with_name(backup.name + ".tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(asdict(doc), ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, backup)


def _read_backup(backup: Path) -> Iterator[Document]:
    with open(backup, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield Document(**json.loads(line))


def _drop(index: Index) -> Path | None:
    """Drop the collections and the BM25 copy. A local index whose collections cannot even
    be dropped has its Chroma files moved aside (until the repair succeeds); returns where."""
    index.forget()
    aside = None
    try:
        ChromaStore(index.settings, "-").reset()
    except AssistantError:
        if index.settings.chroma_url:
            raise
        aside = _move_aside(index.settings.index_path)
    shutil.rmtree(index.cache_dir, ignore_errors=True)
    index.pending.unlink(missing_ok=True)
    index.forget()
    return aside


def _move_aside(directory: Path) -> Path:
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()  # this process's open handle on the broken files
    aside = directory / f"damaged-{time.strftime('%Y%m%d-%H%M%S')}"
    aside.mkdir()
    for path in directory.iterdir():
        if path.name == "chroma.sqlite3" or (path.is_dir() and _is_segment_dir(path)):
            shutil.move(str(path), aside / path.name)
    return aside


def _is_segment_dir(path: Path) -> bool:
    return len(path.name) == 36 and path.name.count("-") == 4
