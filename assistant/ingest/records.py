"""JSON and JSONL files: one article per object (or per line), identified by its `id` or,
without one, by its file and text. A file owns its records (`Collection`)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Iterator

from assistant.core import dates
from assistant.core.data import Document, Skipped
from assistant.core.errors import LoadError
from assistant.ingest.documents import file_id_for, make_document, slug
from assistant.ingest.html_text import extract_html


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


MAX_RECORD_CHARS = 2_000_000  # one JSONL line or record text: far longer than any article


def json_documents(text: str, path: Path, source: str,
                    skipped: list[Skipped]) -> tuple[list[Document], Collection]:
    """The articles of a .jsonl file (one per line) or a .json file (one object or a list)."""
    file_id = file_id_for(path)
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
    return slug(str(raw))


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)
