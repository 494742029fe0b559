"""Load files into Documents: .txt .md .html .pdf .json .jsonl, RSS/Atom feeds (.rss .atom .xml) and
WARC web archives (.warc .warc.gz). Unreadable files are skipped with a reason."""
from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Iterator

from . import dates
from .article import shape
from .errors import LoadError
from .html_text import extract_html, visible_markdown
from .news_meta import page_meta
from .text import INVALID_UNICODE, has_lone_surrogate
from .types import Document, Skipped

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".json", ".jsonl", ".rss", ".atom", ".xml",
             ".warc", ".warc.gz")


@dataclass(frozen=True)
class Loaded:
    """Documents found in some paths, and what was skipped and why."""

    documents: list[Document]
    skipped: list[Skipped]
    collections: list["Collection"] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)  # document id -> the file it was loaded from (resolved)


@dataclass(frozen=True)
class Collection:
    """A .jsonl or .json file that was read: the ids of the records it holds now, so that
    the documents it made earlier and no longer holds can be removed on re-ingest.
    A record without an `id` is identified by its text: `<file_id>-<12 hex of content hash>`."""

    source: str
    file_id: str
    ids: frozenset[str]
    complete: bool  # False when a record could not be read: its identity is unknown

    def stale(self, indexed: Iterable[str]) -> list[str]:
        """The `indexed` document ids this file made (content ids, and the line-number ids
        of older versions) that it no longer holds. Empty unless every record was read:
        nothing is removed on the strength of a file we could not read in full.
        Ids that records set themselves are never stale: they may have moved to another file."""
        if not self.complete:
            return []
        made = re.compile(re.escape(self.file_id) + r"(?:-[0-9a-f]{12}|-L[0-9]+|-[0-9]+)?")
        return sorted(i for i in indexed if i not in self.ids and made.fullmatch(i))


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
        from .warc import warc_documents

        return warc_documents(path, _file_id(path), max_bytes, skipped if skipped is not None else [])
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
        return [make_document(_pdf_text(data), source, _file_id(path), title=None)]
    text = decode(data)
    if suffix in (".rss", ".atom", ".xml"):
        from .feeds import feed_documents

        return feed_documents(data, text, source, _file_id(path), skipped if skipped is not None else [])
    if suffix in (".html", ".htm"):
        return [html_document(text, source, _file_id(path))]
    if suffix in (".json", ".jsonl"):
        docs, collection = _json_documents(text, path, source, skipped if skipped is not None else [])
        if collections is not None:
            collections.append(collection)
        return docs
    if suffix in (".md", ".markdown"):
        text = visible_markdown(text)  # an HTML comment is invisible to readers, so it is not article text
    return [make_document(text, source, _file_id(path), title=None)]


def suffix_of(path: Path) -> str:
    """The file type: its lower-case suffix, with ".warc.gz" as one."""
    name = path.name.lower()
    return ".warc.gz" if name.endswith(".warc.gz") else path.suffix.lower()


def html_document(markup: str, source: str, doc_id: str, url: str | None = None, published: str | None = None,
                  outlet: str | None = None) -> Document:
    """One HTML page: text from our own defended extractor, metadata (title, date, outlet,
    URL) from the page (`news_meta`); `url`, `published`, `outlet` are fallbacks for what
    the page does not say. Raises LoadError."""
    page = extract_html(markup)
    meta = page_meta(markup, page)
    return make_document(page.text, source, doc_id, meta.headline or page.title or meta.title,
                         meta.published or dates.normalize(published),
                         meta.url or url, meta.outlet or outlet)


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


MAX_RECORD_CHARS = 2_000_000  # one JSONL line or record text: far longer than any article


def _json_documents(text: str, path: Path, source: str,
                    skipped: list[Skipped]) -> tuple[list[Document], Collection]:
    """The articles of a .jsonl file (one per line) or a .json file (one object or a list)."""
    file_id = _file_id(path)
    if path.suffix.lower() == ".jsonl":
        return _record_set(_lines(text), "line", file_id, source, ":", skipped)
    data = _parse(text, "invalid JSON ({0} at line {1})")
    if isinstance(data, list):
        if not data:
            raise LoadError("an empty JSON list: no articles in it")
        return _record_set(enumerate(data, start=1), "record", file_id, source, "#", skipped)
    doc = _record_document(data, source, file_id, default_id=file_id)  # the file is the article
    return [doc], Collection(source, file_id, frozenset({doc.id}), True)


def _lines(text: str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value or the LoadError saying why not) for each non-blank line.
    Lines end at a newline only: JSON strings may hold U+2028 and other breaks str.splitlines splits on."""
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        if len(line) > MAX_RECORD_CHARS:
            yield n, LoadError(f"{len(line):,} characters, longer than any article (limit {MAX_RECORD_CHARS:,})")
            continue
        try:
            yield n, _parse(line, "invalid JSON ({0} at column {2})")
        except LoadError as e:
            yield n, e


def _parse(text: str, invalid: str) -> Any:
    """json.loads, with each way it fails as a LoadError; `invalid` formats (msg, line, column)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise LoadError(invalid.format(e.msg, e.lineno, e.colno)) from None
    except RecursionError:
        raise LoadError("JSON nested too deeply: not an article") from None
    except ValueError:  # an integer of more than 4300 digits
        raise LoadError("JSON number too long to read: not an article") from None


def _record_set(records: Iterable[tuple[int, Any]], unit: str, file_id: str, source: str, sep: str,
                skipped: list[Skipped]) -> tuple[list[Document], Collection]:
    """Documents of numbered records (`unit` names one: line, record). A bad record, or one
    whose id an earlier record has, is skipped with `<unit> <n>: <reason>`; the rest load."""
    docs: list[Document] = []
    first: dict[str, int] = {}  # document id -> number of the record that has it
    complete = True
    for n, record in records:
        try:
            if isinstance(record, LoadError):
                raise record
            doc = _record_document(record, f"{source}{sep}{n}", file_id)
        except LoadError as e:
            complete = False
            skipped.append(Skipped(source, f"{unit} {n}: {e}"))
            continue
        m = first.setdefault(doc.id, n)
        if m != n:
            what = "the same text as" if _record_id(record) is None else f"id {doc.id!r} already used on"
            skipped.append(Skipped(source, f"{unit} {n}: {what} {unit} {m}"))
            continue
        docs.append(doc)
    return docs, Collection(source, file_id, frozenset(first), complete)


def _record_document(record: Any, source: str, file_id: str, default_id: str | None = None) -> Document:
    """One JSON article. Its id is its own `id`, else `default_id`, else `<file_id>-<12 hex of
    content hash>`: never its position, so adding or moving records keeps the others' ids."""
    if not isinstance(record, dict):
        raise LoadError(f"a JSON article must be an object with a 'text' field, not {_kind(record)}")
    key = next((k for k in ("text", "content", "body") if record.get(k)), "text")
    text = record.get(key)
    if not isinstance(text, str):
        raise LoadError(f"JSON article has no 'text' string ({key!r} is {_kind(text)})")
    if len(text) > MAX_RECORD_CHARS:
        raise LoadError(f"text of {len(text):,} characters, longer than any article (limit {MAX_RECORD_CHARS:,})")
    if "<" in text and re.search(r"</?(p|div|br|script|span|a)\b", text, re.IGNORECASE):
        text = extract_html(text).text
    doc_id = _record_id(record) or default_id
    url = next((v for k in ("url", "link") if isinstance(v := record.get(k), str) and v.strip()), None)
    published = next((p for k in _DATE_KEYS if (p := dates.normalize(record.get(k)))), None)
    title = record.get("title") if isinstance(record.get("title"), str) else None
    doc = make_document(text, url or source, doc_id or file_id, title, published, url, _outlet(record))
    return doc if doc_id else replace(doc, id=f"{file_id}-{doc.content_hash[:12]}")


_DATE_KEYS = ("published", "date", "published_at", "publishedAt", "datePublished", "pubDate", "timestamp")


def _outlet(record: dict[str, Any]) -> str | None:
    """The outlet a JSON article names: `outlet`, `source_name`, `site_name`, or the `name`
    of a `source` object (the NewsAPI shape)."""
    for key in ("outlet", "source_name", "site_name", "sitename", "publisher", "source"):
        value = record.get(key)
        if isinstance(value, dict):
            value = value.get("name")
        if isinstance(value, str) and value.strip() and (key != "source" or "/" not in value):
            return " ".join(value.split())[:200]
    return None


def _record_id(record: dict[str, Any]) -> str | None:
    """The id a record sets itself (a string or a number), or None."""
    raw = record.get("id")
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise LoadError(f"'id' is {_kind(raw)}: use a string or a number")
    return _slug(str(raw))


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


# Zero-width and bidirectional-control characters: invisible to a reader, so they can hide
# or reorder text an article would show; removed before anything is indexed.
_SPACE = re.compile(r"\s+")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u061c\u00ad]")


def make_document(text: str, source: str, doc_id: str, title: str | None,
                  published: str | None = None, url: str | None = None, outlet: str | None = None) -> Document:
    """A Document of `text` (invisible characters removed, title and body span derived).
    Raises LoadError for binary, empty or mostly unprintable text."""
    if "\x00" in text:
        raise LoadError("binary content (NUL bytes), not text")
    if any(has_lone_surrogate(v) for v in (text, title, url, outlet, source) if v):
        raise LoadError(f"{INVALID_UNICODE} in its text or fields: fix the record's escapes")
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
        outlet=_INVISIBLE.sub("", outlet).strip() or None if outlet else None,
    )


def _file_id(path: Path) -> str:
    digest = hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:6]
    return f"{_slug(path.stem)[:48]}-{digest}"


def _slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("-") or "doc"
