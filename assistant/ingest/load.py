"""Load files into Documents: .txt .md .html .pdf .json .jsonl, RSS/Atom feeds (.rss .atom .xml) and
WARC web archives (.warc .warc.gz). Unreadable files are skipped with a reason."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.core.data import Document, Skipped
from assistant.core.errors import LoadError
from assistant.ingest.documents import decode, file_id_for, html_document, make_document
from assistant.ingest.feeds import feed_documents
from assistant.ingest.html_text import visible_markdown
from assistant.ingest.pdf import pdf_text
from assistant.ingest.records import Collection, json_documents
from assistant.ingest.warc import warc_documents

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".json", ".jsonl", ".rss", ".atom", ".xml",
             ".warc", ".warc.gz")


@dataclass(frozen=True)
class Loaded:
    """Documents found in some paths, and what was skipped and why."""

    documents: list[Document]
    skipped: list[Skipped]
    collections: list[Collection] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)  # document id -> the file it was loaded from (resolved)


def discover(paths: list[str | Path]) -> tuple[list[Path], list[Skipped]]:
    """Expand directories (recursively, sorted) into supported files."""
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()  # a file named twice (or also inside a named folder) loads once
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            path.stat()
        except OSError as e:  # missing, name too long, no permission...
            skipped.append(Skipped(str(path), f"cannot read: {e.strerror or type(e).__name__}"))
            continue
        if path.is_dir():
            for f in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in f.relative_to(path).parts):
                    continue
                if suffix_of(f) not in SUPPORTED:
                    skipped.append(Skipped(str(f), f"unsupported file type {f.suffix or '(none)'!r}"))
                elif f.resolve() not in seen:
                    seen.add(f.resolve())
                    files.append(f)
        elif path.is_file():
            if path.resolve() not in seen:
                seen.add(path.resolve())
                files.append(path)
        else:
            skipped.append(Skipped(str(path), "no such file or directory"))
    return files, skipped


def load_paths(paths: list[str | Path], max_bytes: int) -> Loaded:
    """Load every supported file under `paths`; never raises for a bad file. Document ids are
    unique in the result: a record whose `id` an earlier file has is skipped with the reason."""
    files, skipped = discover(paths)
    docs: list[Document] = []
    collections: list[Collection] = []
    owner: dict[str, Path] = {}  # document id -> the file it was loaded from
    for f in files:
        try:
            found = load_file(f, max_bytes, skipped, collections)
        except LoadError as e:
            skipped.append(Skipped(str(f), str(e)))
            continue
        for doc in found:
            if owner.setdefault(doc.id, f) == f:
                docs.append(doc)
            else:
                skipped.append(Skipped(str(f), f"id {doc.id!r} already used in {owner[doc.id]}"))
    return Loaded(docs, skipped, collections, {d.id: str(owner[d.id].resolve()) for d in docs})


def load_file(path: Path, max_bytes: int, skipped: list[Skipped] | None = None,
              collections: list[Collection] | None = None) -> list[Document]:
    """Documents in one file. Raises LoadError with the reason when it cannot be read.
    Bad or repeated records inside a .jsonl file or a .json list are appended to `skipped`
    instead; a .json or .jsonl file that was read is appended to `collections`."""
    suffix = suffix_of(path)
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(SUPPORTED)}")
    if suffix in (".warc", ".warc.gz"):  # streamed record by record; the size cap is per record
        return warc_documents(path, file_id_for(path), max_bytes, skipped if skipped is not None else [])
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(f"too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB; raise ASSISTANT_MAX_FILE_MB)")
        data = path.read_bytes()
    except OSError as e:
        raise LoadError(f"cannot read: {e.strerror or e}") from None
    if not data.strip():
        raise LoadError("empty file")
    source = str(path.resolve())
    if suffix == ".pdf":
        return [make_document(pdf_text(data), source, file_id_for(path), title=None)]
    text = decode(data)
    if suffix in (".rss", ".atom", ".xml"):
        return feed_documents(data, text, source, file_id_for(path), skipped if skipped is not None else [])
    if suffix in (".html", ".htm"):
        return [html_document(text, source, file_id_for(path))]
    if suffix in (".json", ".jsonl"):
        docs, collection = json_documents(text, path, source, skipped if skipped is not None else [])
        if collections is not None:
            collections.append(collection)
        return docs
    if suffix in (".md", ".markdown"):
        text = visible_markdown(text)  # an HTML comment is invisible to readers, so it is not article text
    return [make_document(text, source, file_id_for(path), title=None)]


def suffix_of(path: Path) -> str:
    """The file type: its lower-case suffix, with ".warc.gz" as one."""
    name = path.name.lower()
    return ".warc.gz" if name.endswith(".warc.gz") else path.suffix.lower()
