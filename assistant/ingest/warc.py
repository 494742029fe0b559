"""WARC web archives (.warc, .warc.gz): each HTML `response` record an article.

Records are streamed with warcio (the file is never read whole); each record's body is
read up to the per-file size cap and no further. Pages go through `load.html_document`
(our defended extractor for the text, the page's metadata for title, date and outlet);
the WARC headers fill what the page does not say: `WARC-Target-URI` is the URL, then
`WARC-Date` the date and the host the outlet. Non-HTML and non-2xx responses are counted
in one summary line; a bad HTML record is skipped with its reason; a damaged archive
keeps the pages read before the damage."""
from __future__ import annotations

import hashlib
import zlib
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from assistant.core.data import Document, Skipped
from assistant.core.errors import LoadError
from assistant.ingest.documents import html_document

_HTML = ("text/html", "application/xhtml+xml")


def warc_documents(path: Path, file_id: str, max_bytes: int, skipped: list[Skipped]) -> list[Document]:
    """The HTML pages of a WARC file. Raises LoadError when it cannot be opened or holds no page."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    source = str(path.resolve())
    _check_head(path)
    docs: list[Document] = []
    first: dict[str, int] = {}
    other: Counter[str] = Counter()
    n = 0
    try:
        with open(path, "rb") as f:
            for n, record in enumerate(ArchiveIterator(f), start=1):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                status = record.http_headers.get_statuscode() or ""
                kind = (record.http_headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
                if kind not in _HTML or not status.startswith("2"):
                    other[kind if status.startswith("2") else f"HTTP {status}"] += 1
                    continue
                try:
                    doc = _page(record, n, source, file_id, max_bytes)
                except (LoadError, ValueError, EOFError, zlib.error) as e:
                    skipped.append(Skipped(source, f"record {n}: {e}"))
                    continue
                m = first.setdefault(doc.id, n)
                if m != n:
                    skipped.append(Skipped(source, f"record {n}: the same URL as record {m}"))
                    continue
                docs.append(doc)
    except OSError as e:
        raise LoadError(f"cannot read: {e.strerror or e}") from None
    except (ArchiveLoadFailed, ValueError, EOFError, zlib.error) as e:
        skipped.append(Skipped(source, f"archive damaged after record {n}: {type(e).__name__}; "
                                       f"the {len(docs)} pages before it were read"))
    if other:
        what = ", ".join(f"{k or 'no type'}: {v}" for k, v in other.most_common(5))
        skipped.append(Skipped(source, f"{sum(other.values())} responses are not HTML pages ({what})"))
    if not docs:
        raise LoadError("no HTML pages in this WARC file")
    return docs


def _check_head(path: Path) -> None:
    """LoadError unless the file starts with a WARC record ("WARC/1.x"), gzipped or not:
    anything else would be read as a run of broken records, each warned about."""
    import gzip

    try:
        with open(path, "rb") as f:
            head = f.read(2)
            f.seek(0)
            if head == b"\x1f\x8b":
                with gzip.open(f) as g:
                    head = g.read(5)
            else:
                head = f.read(5)
    except OSError as e:
        raise LoadError(f"cannot read: {e.strerror or e}") from None
    except (EOFError, zlib.error, gzip.BadGzipFile):
        raise LoadError("not a WARC file (its gzip stream is damaged)") from None
    if head != b"WARC/":
        raise LoadError("not a WARC file (it does not start with a WARC/1.x record)")


def _page(record: object, n: int, source: str, file_id: str, max_bytes: int) -> Document:
    headers = record.rec_headers  # type: ignore[attr-defined]
    uri = (headers.get_header("WARC-Target-URI") or "").strip("<> ") or None
    body = record.content_stream().read(max_bytes + 1)  # type: ignore[attr-defined]
    if len(body) > max_bytes:
        raise LoadError(f"page larger than {max_bytes / 1e6:.1f} MB (raise ASSISTANT_MAX_FILE_MB)")
    if not body.strip():
        raise LoadError("empty page")
    if b"\x00" in body[:8192]:
        raise LoadError("binary content (NUL bytes), not an HTML page")
    charset = record.http_headers.get_header("Content-Type") or ""  # type: ignore[attr-defined]
    charset = charset.lower().partition("charset=")[2].split(";")[0].strip(" \"'") or "utf-8"
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    key = uri or hashlib.sha256(body).hexdigest()
    doc_id = f"{file_id}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:12]}"
    host = (urlsplit(uri).hostname or "") if uri else ""
    host = host[4:] if host.startswith("www.") else host
    return html_document(text, uri or f"{source}#{n}", doc_id, url=uri,
                         published=headers.get_header("WARC-Date"), outlet=host or None)
