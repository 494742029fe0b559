"""Ingest stage: decide what to write, prepare it (chunk, embed, tokenize) and commit it to
the index in batches.

Documents per commit double from 8 to 512, so a crash loses at most the batch in flight;
the next batch is prepared while the previous one is written. Chunks go in before their
document record (the commit point), so a document is either whole or absent."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from assistant.core.data import Document, IngestReport, Skipped
from assistant.index.bm25 import KeywordIndex
from assistant.index.index import Index
from assistant.ingest.load import Collection
from assistant.ingest.prepare import Failed, Prepared, Preparer

Progress = Callable[[int, int, str], None]
OnDocument = Callable[[str, str], None]


@dataclass
class _Run:
    """What one ingest has done so far."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0
    removed: list[str] = field(default_factory=list)
    owned: dict[str, str] = field(default_factory=dict)  # content hash -> doc id written in this run
    seen: set[str] = field(default_factory=set)           # doc ids written in this run
    origins: Mapping[str, str] = field(default_factory=dict)  # doc id -> the file it is loaded from now
    released: dict[str, frozenset[str]] = field(default_factory=dict)  # file read in full -> the ids it holds now

    def report(self) -> IngestReport:
        return IngestReport(tuple(self.added), tuple(self.updated), tuple(self.unchanged), tuple(self.skipped),
                            self.chunks, tuple(self.removed))


def ingest_documents(index: Index, docs: Sequence[Document], preparer: Preparer,
                     skipped: Sequence[Skipped] = (), progress: Progress | None = None,
                     on_document: OnDocument | None = None, collections: Sequence[Collection] = (),
                     origins: Mapping[str, str] | None = None) -> IngestReport:
    """Write `docs` to `index`: unchanged ones are left alone, changed ones replaced, text
    already indexed under another id skipped with its reason. Each of `collections` (a
    .jsonl/.json file read in full) owns its records: the ones it made before and no
    longer holds are removed first. `origins` (doc id -> the file it was loaded from) is
    recorded, and a document whose id belongs to a document of another file is skipped
    with the reason, never replaced (unless that file, read in full now, no longer holds
    the id: the record moved). Raises IndexLocked when another process writes to the same
    local index."""
    run = _Run(skipped=list(skipped), origins=origins or {},
               released={c.source: c.ids for c in collections if c.complete})
    total = len(docs)
    with index.writing() as keyword:
        store = index.store
        _retire(store, keyword, collections, run)
        if progress and total:
            progress(0, total, docs[0].title)
        size, i, done, inflight = 8, 0, 0, None
        while i < total:
            part = docs[i:i + size]
            todo, before = _plan(store, part, run, on_document)
            job = preparer.submit(todo)
            if inflight is not None:
                done += _commit(index, keyword, *inflight, run, on_document)
                if progress and done < total:
                    progress(done, total, docs[done].title)
            inflight = (job, before, len(part))
            i += len(part)
            size = min(size * 2, 512)
        if inflight is not None:
            _commit(index, keyword, *inflight, run, on_document)
        if progress:
            progress(total, total, "done")
    return run.report()


def _plan(store: Any, part: Sequence[Document], run: _Run,
          on_document: OnDocument | None) -> tuple[list[Document], dict[str, str]]:
    """The documents of `part` that need writing (the rest are unchanged or skipped), and
    the content hash each one had in the index before."""
    before = store.existing(sorted({d.id for d in part}))
    owners = store.owners(sorted({d.content_hash for d in part if before.get(d.id) != d.content_hash}))
    claimed = store.origins(sorted(d.id for d in part if d.id in before and d.id in run.origins)) if run.origins else {}
    todo: list[Document] = []
    for doc in part:
        if doc.id in run.seen:
            run.skipped.append(Skipped(doc.source, f"another record in this ingest has the document id {doc.id!r}"))
            continue
        other = claimed.get(doc.id)
        if other is not None and not _may_take(other, doc, run):
            run.skipped.append(Skipped(doc.source, f"id {doc.id!r} belongs to another source ({_shown(other)}): use "
                                                   "a different id or delete it first"))
            continue
        if before.get(doc.id) == doc.content_hash:
            run.seen.add(doc.id)
            run.unchanged.append(doc.id)
            if on_document:
                on_document(doc.id, "unchanged")
            continue
        twin = run.owned.get(doc.content_hash) or owners.get(doc.content_hash)
        if twin is not None and twin != doc.id:
            run.skipped.append(Skipped(doc.source, f"same text as document {twin!r}, already indexed"))
            continue
        todo.append(doc)
        run.owned[doc.content_hash] = doc.id
        run.seen.add(doc.id)
    return todo, before


def _commit(index: Index, keyword: KeywordIndex, job: Any, before: dict[str, str], size: int, run: _Run,
            on_document: OnDocument | None) -> int:
    """Write one prepared batch: chunks, then documents, then the BM25 rows. Returns how
    many documents of the input the batch covered."""
    results = job.result()
    ready = [r for r in results if isinstance(r, Prepared)]
    run.skipped.extend(Skipped(r.doc.source, r.reason) for r in results if isinstance(r, Failed))
    if ready:
        index.store.touch()  # before writing: a crash mid-batch still moves the stamp
        index.store.put_many([(r.doc, r.chunks, r.vectors) for r in ready],
                             replacing={r.doc.id for r in ready if r.doc.id in before},
                             origins={r.doc.id: run.origins[r.doc.id] for r in ready if r.doc.id in run.origins})
        keyword.add(((r.doc.id, r.doc.content_hash, [(c.id, t, c.start, c.end) for c, t in zip(r.chunks, r.terms)])
                     for r in ready), tokenized=True)
    for r in ready:
        run.chunks += len(r.chunks)
        status = "updated" if r.doc.id in before else "added"
        (run.updated if status == "updated" else run.added).append(r.doc.id)
        if on_document:
            on_document(r.doc.id, status)
    return size


def _may_take(owner: str, doc: Document, run: _Run) -> bool:
    """Whether `doc`, loaded from `run.origins[doc.id]`, may replace the indexed document of
    its id that came from `owner`: the same file (or, for a document indexed before origins
    were recorded, the same URL), or a file read in full in this run that no longer holds
    the id (the record moved from it)."""
    origin = run.origins.get(doc.id)
    if owner in (origin, doc.source):
        return True
    return owner in run.released and doc.id not in run.released[owner]


def _shown(origin: str) -> str:
    """A source as named in a skip reason: a URL, or the file's folder and name (no full path)."""
    if "://" in origin:
        return origin
    parts = Path(origin).parts
    return "/".join(parts[-2:]) if len(parts) > 1 else origin


def _retire(store: Any, keyword: KeywordIndex, collections: Sequence[Collection], run: _Run) -> None:
    """Remove the records that re-read files no longer hold. Done before planning, so a
    record that only changed its id is not skipped as the twin of its old self."""
    if not collections:
        return
    indexed = list(store.doc_hashes())
    gone = sorted({d for c in collections for d in c.stale(indexed)})
    if gone:
        store.touch()
        for doc_id in gone:
            store.delete(doc_id)
        keyword.remove(gone)
        run.removed.extend(gone)
