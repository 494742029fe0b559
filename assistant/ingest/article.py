"""Shape raw article text: a sensible title, and the body span without site boilerplate."""
from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.core.text import sentence_spans

# Lines that start the site furniture at the end of an article: everything from there is dropped.
_TAIL = re.compile(
    r"^[ \t]*(read more about|read the full article|read more\s*:|related articles?\s*:?$|related\s*:"
    r"|more on this story|subscribe (?:to|now)|sign up for|share this article|click here to"
    r"|follow us on|copyright\b|©|all rights reserved|additional reporting by)",
    re.IGNORECASE | re.MULTILINE,
)
# A photo caption or credit line directly under the headline.
_CAPTION = re.compile(
    r"\((?:courtesy|photo|image|picture|credit|source|file photo)\b[^)]*\)\s*$"
    r"|\b(?:getty images|reuters/|ap photo|afp via|photograph:)",
    re.IGNORECASE,
)
_MAX_TITLE = 90


@dataclass(frozen=True)
class Shape:
    """Title and the (start, end) of the article body inside the text."""

    title: str
    body_start: int
    body_end: int


def shape(text: str, title: str | None = None) -> Shape:
    """Derive a title (unless given) and the body span of `text`.

    A short first line without final punctuation is the headline; caption lines
    right under it are skipped; trailing site boilerplate ("Read More About:",
    "Read the full article here", ...) in the last third is cut off."""
    end = _body_end(text)
    start = _skip_blank(text, 0)
    first_end = _line_end(text, start)
    first = text[start:first_end].strip()
    headline = first.lstrip("#").strip() if _is_headline(first) and first_end < end else None
    if headline and (title is None or _same(title, headline)):
        start = _skip_blank(text, first_end)
        while start < end:
            line_end = _line_end(text, start)
            if not _CAPTION.search(text[start:line_end]) or line_end - start > 400:
                break
            start = _skip_blank(text, line_end)
    if start >= end:  # nothing but a headline: keep everything
        start, end = 0, len(text)
    return Shape(title=(title or headline or _title_from_body(text, start, end)).strip(),
                 body_start=start, body_end=end)


def _body_end(text: str) -> int:
    floor = int(len(text) * 0.6)
    for m in _TAIL.finditer(text):
        if m.start() >= floor:
            end = m.start()
            while end > 0 and text[end - 1].isspace():
                end -= 1
            return end
    end = len(text)
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end


def _is_headline(line: str) -> bool:
    if line.startswith("# "):
        return True
    n_words = len(line.split())
    return 2 <= n_words <= 25 and len(line) <= 160 and not line.rstrip("\"'”’").endswith((".", "!", ":", ";", ","))


def _same(a: str, b: str) -> bool:
    norm = lambda s: re.sub(r"\W+", " ", s).strip().lower()  # noqa: E731
    return norm(a) == norm(b)


def _skip_blank(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _line_end(text: str, pos: int) -> int:
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl


def _title_from_body(text: str, start: int, end: int) -> str:
    spans = sentence_spans(text, start, min(end, start + 4 * _MAX_TITLE))  # only the first sentence matters
    if not spans:
        return "Untitled"
    sentence = " ".join(text[spans[0][0]:spans[0][1]].split()).rstrip(".")
    if len(sentence) <= _MAX_TITLE:
        return sentence
    cut = sentence.rfind(" ", 0, _MAX_TITLE)
    return sentence[: cut if cut > 20 else _MAX_TITLE].rstrip(",;: ") + "…"
