"""RSS 2.0 / RSS 1.0 / Atom feed files: each item an article.

feedparser reads the feed (from bytes we pass it: it never opens a URL or a path); each
item's full content (`content:encoded`, Atom `content`) or else its summary goes through
our own defended HTML extractor, so the stored text and its offsets are ours. Title, link
(-> `url`), published/updated (-> `published`) come from the item, the feed's title is
the `outlet`. Items without text are skipped with the reason; the rest load."""
from __future__ import annotations

import hashlib
import io
import re
from calendar import timegm
from typing import Any

from assistant.core import dates
from assistant.core.data import Document, Skipped
from assistant.core.errors import LoadError
from assistant.ingest.documents import make_document
from assistant.ingest.html_text import extract_html

MAX_ITEM_CHARS = 2_000_000
_FEED_ROOT = re.compile(r"<(rss|feed|rdf:rdf)\b", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def is_feed(text: str) -> bool:
    """True when `text` is an RSS or Atom document (its root element, within the first 4 KB)."""
    return bool(_FEED_ROOT.search(text[:4096]))


def feed_documents(data: bytes, text: str, source: str, file_id: str, skipped: list[Skipped]) -> list[Document]:
    """The articles of a feed file. Raises LoadError when it is not a feed or holds no item;
    bad items are appended to `skipped` as `item <n>: <reason>`."""

    if not is_feed(text):
        raise LoadError("an XML file that is not an RSS or Atom feed (no <rss>, <feed> or <rdf:RDF> root): "
                        "save articles as .html, .txt or .jsonl")
    import feedparser

    parsed = feedparser.parse(io.BytesIO(data))
    if not parsed.entries:
        why = f" ({type(parsed.get('bozo_exception')).__name__})" if parsed.get("bozo") else ""
        raise LoadError(f"a feed with no items{why}")
    outlet = _clean(parsed.feed.get("title"))
    docs: list[Document] = []
    first: dict[str, int] = {}
    for n, entry in enumerate(parsed.entries, start=1):
        try:
            body = _body(entry)
            url = entry.get("link") if isinstance(entry.get("link"), str) else None
            key = entry.get("id") or url or hashlib.sha256(body.encode("utf-8")).hexdigest()
            doc_id = f"{file_id}-{hashlib.sha1(str(key).encode('utf-8')).hexdigest()[:12]}"
            doc = make_document(body, url or f"{source}#{n}", doc_id, _clean(entry.get("title")),
                                _published(entry), url, outlet)
        except LoadError as e:
            skipped.append(Skipped(source, f"item {n}: {e}"))
            continue
        m = first.setdefault(doc.id, n)
        if m != n:
            skipped.append(Skipped(source, f"item {n}: the same id or link as item {m}"))
            continue
        docs.append(doc)
    return docs


def _body(entry: Any) -> str:
    """The item's text: the longest full content, else the summary; HTML through our extractor."""
    parts = [c for c in entry.get("content", []) if isinstance(c, dict) and isinstance(c.get("value"), str)]
    best = max(parts, key=lambda c: len(c["value"]), default=None)
    value, kind = (best["value"], best.get("type", "")) if best else (entry.get("summary") or "", "")
    if not isinstance(value, str) or not value.strip():
        raise LoadError("no content or summary in it")
    if len(value) > MAX_ITEM_CHARS:
        raise LoadError(f"{len(value):,} characters, longer than any article (limit {MAX_ITEM_CHARS:,})")
    if "html" in kind or _TAG.search(value):
        value = extract_html(value).text
    return value


def _published(entry: Any) -> str | None:
    """The item's own date as written (keeps its offset), else feedparser's parsed UTC time."""
    for key in ("published", "updated", "created"):
        found = dates.normalize(entry.get(key))
        if found:
            return found
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            return dates.normalize(timegm(parsed))
    return None


def _clean(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return " ".join(_TAG.sub(" ", value).split())[:300] or None
