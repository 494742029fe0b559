"""Publication dates: normalise what articles, pages and feeds say into ISO 8601, and turn
dates into day numbers for filtering.

`normalize(value)` gives "YYYY-MM-DD" when only a day is known, or a full datetime
("YYYY-MM-DDTHH:MM:SS+01:00") when a time is known; None for anything it cannot read.
`day(published)` is the proleptic Gregorian ordinal of the date part (what chunk
records store as `day`; 0 there means undated)."""
from __future__ import annotations

import email.utils
import re
from datetime import date, datetime, timezone
from typing import Any

from assistant.core.errors import InvalidFilter

# Dates outside these years are typos or placeholders ("0001-01-01", "9999-12-31").
MIN_YEAR, MAX_YEAR = 1900, 2100
_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y", "%d %B, %Y",
            "%b. %d, %Y", "%Y/%m/%d", "%d.%m.%Y", "%Y%m%d", "%A, %B %d, %Y", "%a, %d %b %Y")
_FORMATS_TIME = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%B %d, %Y %H:%M", "%b %d, %Y %H:%M",
                 "%B %d, %Y %I:%M %p", "%b %d, %Y %I:%M %p")
_ORDINAL = re.compile(r"(\d)(st|nd|rd|th)\b", re.IGNORECASE)
_LABEL = re.compile(r"^(published|posted|updated|last updated|date|on)\s*:?\s*", re.IGNORECASE)


def normalize(value: Any) -> str | None:
    """ISO 8601 for a date given as ISO text, "March 4, 2025", "4 March 2025", RFC 2822
    ("Tue, 04 Mar 2025 10:00:00 GMT"), epoch seconds (or milliseconds), a `date` or a
    `datetime`; None when `value` is empty, unreadable or outside 1900-2100."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return _in_range(value) and value.isoformat() or None
    if isinstance(value, (int, float)):
        return _epoch(float(value))
    if not isinstance(value, str):
        return None
    text = _LABEL.sub("", " ".join(value.split()))[:80]
    if not text:
        return None
    if re.fullmatch(r"-?\d{9,13}(\.\d+)?", text):
        return _epoch(float(text))
    return _iso_text(text) or _rfc2822(text) or _formatted(text)


def day(published: str | None) -> int | None:
    """The day number (date ordinal) of an ISO `published` value, or None."""
    if not published:
        return None
    try:
        return date.fromisoformat(published[:10]).toordinal()
    except ValueError:
        return None


def parse_day(value: Any, name: str) -> date | None:
    """A filter date (`since`, `until`, `as_of`) as a `date`; None for an empty value.
    Raises InvalidFilter naming the option and the accepted forms."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    published = normalize(value)
    if published is None:
        raise InvalidFilter(f"{name} {value!r} is not a date: use YYYY-MM-DD (e.g. 2025-03-04), "
                            "\"March 4, 2025\" or an ISO 8601 datetime")
    return date.fromisoformat(published[:10])


def _in_range(d: date) -> bool:
    return MIN_YEAR <= d.year <= MAX_YEAR


def _iso(dt: datetime) -> str | None:
    if not _in_range(dt.date()):
        return None
    if dt.tzinfo is None and (dt.hour, dt.minute, dt.second) == (0, 0, 0):
        return dt.date().isoformat()  # a bare day written as midnight: no time is known
    return dt.replace(microsecond=0).isoformat()


def _epoch(seconds: float) -> str | None:
    if abs(seconds) > 1e11:  # milliseconds
        seconds /= 1000
    try:
        return _iso(datetime.fromtimestamp(seconds, timezone.utc))
    except (OverflowError, OSError, ValueError):
        return None


def _iso_text(text: str) -> str | None:
    if not re.match(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return d.isoformat() if _in_range(d) else None
        return _iso(datetime.fromisoformat(text.replace("z", "Z").replace(" ", "T", 1)))
    except ValueError:
        pass
    try:  # "2025-03-04T10:00:00 Europe/Paris" and the like: the day is sure
        d = date.fromisoformat(text[:10])
    except ValueError:
        return None
    return d.isoformat() if _in_range(d) else None


def _rfc2822(text: str) -> str | None:
    if not re.search(r"\d{1,2}:\d{2}", text) or not re.search(r"[A-Za-z]{3}", text):
        return None
    try:
        dt = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return _iso(dt) if dt is not None else None


def _formatted(text: str) -> str | None:
    clean = _ORDINAL.sub(r"\1", text).strip(" .")
    for fmt in _FORMATS_TIME + _FORMATS:
        try:
            dt = datetime.strptime(clean, fmt)
        except ValueError:
            continue
        return _iso(dt) if fmt in _FORMATS_TIME else (dt.date().isoformat() if _in_range(dt.date()) else None)
    return None
