"""Building one `Document` from text or an HTML page, shared by every format reader
(`load`, `records`, `pdf`, `feeds`, `warc`): invisible characters removed, title and body
span derived, content hash, metadata; and decoding of raw bytes to text."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from assistant.core import dates
from assistant.core.data import Document
from assistant.core.errors import LoadError
from assistant.core.text import INVALID_UNICODE, has_lone_surrogate
from assistant.ingest.article import shape
from assistant.ingest.html_text import extract_html
from assistant.ingest.news_meta import page_meta

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


def file_id_for(path: Path) -> str:
    digest = hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:6]
    return f"{slug(path.stem)[:48]}-{digest}"


def slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("-") or "doc"
