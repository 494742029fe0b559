"""Load files into Documents: .txt .md .html .pdf .json .jsonl. Unreadable files are skipped with a reason."""
from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .article import shape
from .errors import LoadError
from .html_text import extract_html
from .types import Document, Skipped

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".json", ".jsonl")


@dataclass(frozen=True)
class Loaded:
    """Documents found in some paths, and what was skipped and why."""

    documents: list[Document]
    skipped: list[Skipped]


def discover(paths: list[str | Path]) -> tuple[list[Path], list[Skipped]]:
    """Expand directories (recursively, sorted) into supported files."""
    files: list[Path] = []
    skipped: list[Skipped] = []
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
                if f.suffix.lower() in SUPPORTED:
                    files.append(f)
                else:
                    skipped.append(Skipped(str(f), f"unsupported file type {f.suffix or '(none)'!r}"))
        elif path.is_file():
            files.append(path)
        else:
            skipped.append(Skipped(str(path), "no such file or directory"))
    return files, skipped


def load_paths(paths: list[str | Path], max_bytes: int) -> Loaded:
    """Load every supported file under `paths`; never raises for a bad file."""
    files, skipped = discover(paths)
    docs: list[Document] = []
    for f in files:
        try:
            docs.extend(load_file(f, max_bytes, skipped))
        except LoadError as e:
            skipped.append(Skipped(str(f), str(e)))
    return Loaded(docs, skipped)


def load_file(path: Path, max_bytes: int, skipped: list[Skipped] | None = None) -> list[Document]:
    """Documents in one file. Raises LoadError with the reason when it cannot be read.
    Bad records inside a .jsonl file are appended to `skipped` instead."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(SUPPORTED)}")
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
        return [_document(_pdf_text(data), source, _file_id(path), title=None)]
    text = decode(data)
    if suffix in (".html", ".htm"):
        page = extract_html(text)
        return [_document(page.text, source, _file_id(path), page.title, page.published, page.url)]
    if suffix == ".json":
        return _json_documents(text, path, source)
    if suffix == ".jsonl":
        return list(_jsonl_documents(text, path, source, skipped if skipped is not None else []))
    return [_document(text, source, _file_id(path), title=None)]


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or BOM-marked UTF-16 text; LoadError for binary or other encodings."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise LoadError("invalid UTF-16 text") from None
    if b"\x00" in data[:8192]:
        raise LoadError("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LoadError(f"not UTF-8 text (bad byte at offset {e.start}); re-save the file as UTF-8") from None


MAX_PDF_PAGES = 2000
MAX_TEXT_CHARS = 20_000_000


def _pdf_text(data: bytes) -> str:
    """Text of a PDF. pypdf caps each decompressed stream (a decompression bomb raises
    LimitReachedError); we also cap pages and the total text."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if len(reader.pages) > MAX_PDF_PAGES:
            raise LoadError(f"PDF has {len(reader.pages)} pages (more than {MAX_PDF_PAGES})")
        pages, size = [], 0
        for page in reader.pages:
            text = page.extract_text() or ""
            size += len(text)
            if size > MAX_TEXT_CHARS:
                raise LoadError("PDF text larger than 20 million characters: not an article")
            pages.append(text)
    except LimitReachedError:
        raise LoadError("PDF stream decompresses past the safety limit (a decompression bomb?)") from None
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError, MemoryError) as e:
        raise LoadError(f"unreadable PDF ({type(e).__name__})") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())


def _json_documents(text: str, path: Path, source: str) -> list[Document]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise LoadError(f"invalid JSON ({e.msg} at line {e.lineno})") from None
    records = data if isinstance(data, list) else [data]
    docs = []
    for i, record in enumerate(records):
        key = f"{source}#{i}" if len(records) > 1 else source
        docs.append(_record_document(record, path, key, f"{_file_id(path)}-{i}" if len(records) > 1 else _file_id(path)))
    return docs


def _jsonl_documents(text: str, path: Path, source: str, skipped: list[Skipped]) -> Iterator[Document]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{n}"
        try:
            yield _record_document(json.loads(line), path, where, f"{_file_id(path)}-L{n}")
        except json.JSONDecodeError as e:
            skipped.append(Skipped(where, f"invalid JSON ({e.msg})"))
        except LoadError as e:
            skipped.append(Skipped(where, str(e)))


def _record_document(record: Any, path: Path, source: str, default_id: str) -> Document:
    if not isinstance(record, dict):
        raise LoadError("a JSON article must be an object with a 'text' field")
    text = record.get("text") or record.get("content") or record.get("body")
    if not isinstance(text, str):
        raise LoadError("JSON article has no 'text' string")
    if "<" in text and re.search(r"</?(p|div|br|script|span|a)\b", text, re.IGNORECASE):
        text = extract_html(text).text
    doc_id = _slug(str(record["id"])) if record.get("id") not in (None, "") else default_id
    url = record.get("url") if isinstance(record.get("url"), str) else None
    published = record.get("published") or record.get("date") or record.get("published_at")
    title = record.get("title") if isinstance(record.get("title"), str) else None
    return _document(text, url or source, doc_id, title, str(published) if published else None, url)


# Zero-width and bidirectional-control characters: invisible to a reader, so they can hide
# or reorder text an article would show; removed before anything is indexed.
_SPACE = re.compile(r"\s+")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u061c\u00ad]")


def _document(text: str, source: str, doc_id: str, title: str | None,
              published: str | None = None, url: str | None = None) -> Document:
    if "\x00" in text:
        raise LoadError("binary content (NUL bytes), not text")
    text = _INVISIBLE.sub("", text)
    title = _INVISIBLE.sub("", title) if title else title
    if not text.strip():
        raise LoadError("no text in it")
    head = text[:5000]
    if not _SPACE.sub("", head).isprintable() and \
            sum(ch.isprintable() or ch.isspace() for ch in head) < 0.9 * len(head):
        raise LoadError("mostly unprintable characters: not an article")
    s = shape(text, title.strip() if title and title.strip() else None)
    return Document(
        id=doc_id, title=s.title, source=source, text=text,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        published=published, url=url, body_start=s.body_start, body_end=s.body_end,
    )


def _file_id(path: Path) -> str:
    digest = hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:6]
    return f"{_slug(path.stem)[:48]}-{digest}"


def _slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("-") or "doc"
