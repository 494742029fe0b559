"""Relative dates in a news sentence ("on Wednesday", "last week", "two days ago",
"on March 4") resolved against the article's published date, so a quote can show
"on Wednesday = Wed 2025-03-05" beside it.

Rules (simple on purpose; news is mostly written in the past tense):
- today/tonight/this morning = the published day; yesterday/last night = the day before;
  tomorrow = the day after.
- A bare weekday ("on Monday", "Monday's vote") is the most recent such day on or before the
  published date, unless its clause is in the future tense ("will", "is due to", "is
  expected to", "plans to", "scheduled for"...): then the next such day on or after it.
  The tense is the first tense marker in the phrase's clause (split at , ; : and "that").
  "last Monday" is strictly before, "next Monday" strictly after, "this Monday" is in the
  published day's week (weeks run Monday to Sunday).
- last/this/next week, month, year and weekend are calendar ranges; "earlier this month"
  runs from the 1st to the day before publication, "later this week" from the day after to
  Sunday; "the past week/month/year" ends on the published day.
- "N days ago" is a day; "N weeks/months/years ago" is the calendar week/month/year that
  far back.
- A month and day without a year ("March 4", "4 March", "Jan. 5") is in the published year,
  or the year before when that would be more than a week after publication (a future
  clause keeps the next occurrence instead). A month name alone counts only after a
  preposition or "last/this/next" ("in May", "last March"), so "Theresa May said" and
  "March on" are not dates. Anything that carries a year ("in 2019", "March 4, 2019") is
  already absolute and gets no hint.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
_ABBR = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
         "nov": 11, "dec": 12}
_NUMS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a few": 3}
GRACE_DAYS = 7

_MONTH_RE = "|".join(m.capitalize() for m in MONTHS)
_ABBR_RE = "|".join(a.capitalize() for a in _ABBR)
_NUM_RE = r"\d{1,3}|" + "|".join(sorted(_NUMS, key=len, reverse=True))
_I = re.IGNORECASE
_PATTERNS = [
    ("day", re.compile(r"\b(yesterday|today|tomorrow|tonight|last night|this (?:morning|afternoon|evening))\b", _I)),
    ("ago", re.compile(rf"\b({_NUM_RE})\s+(day|week|month|year)s?\s+ago\b", _I)),
    ("period", re.compile(r"\b(?:(earlier|later) this|(last|this|next|past))\s+(week|month|year|weekend)\b", _I)),
    ("weekday", re.compile(r"\b(?:(on|last|this|next)\s+)?(" + "|".join(WEEKDAYS) + r")(?!s\b)"
                           r"(?:\s+(morning|afternoon|evening|night))?\b", _I)),
    ("month_day", re.compile(rf"\b(?:on\s+)?({_MONTH_RE}|(?:{_ABBR_RE})\.?)\s+(\d{{1,2}})(?:st|nd|rd|th)?\b"
                             r"(?!\d|,?\s*\d{4}|\s*(?:p\.?m|a\.?m|per|%))")),
    ("day_month", re.compile(rf"\b(?:on\s+)?(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b"
                             r"(?!,?\s*\d{4})")),
    ("month", re.compile(rf"\b((?i:in|last|this|next|early|late|mid-|since|until|by|during|from|end of))\s*"
                         rf"({_MONTH_RE})\b(?!,?\s*\d)")),
]
_FUTURE = re.compile(r"\b(?:will|shall|won't|'ll|is|are|was|were) (?:due|expected|scheduled|set|going) to\b|"
                     r"\bwill\b|\bshall\b|\bwon't\b|'ll\b|\b(?:due|scheduled|set) (?:to|for|on)\b|"
                     r"\bplans? to\b|\bupcoming\b|\bnext\b", _I)
_PAST = re.compile(r"\b(?:said|says|told|was|were|had|has|have|did|came|went|took|began|made|met)\b|\b\w+ed\b", _I)
_CLAUSE = re.compile(r"[,;:()\u2014]|\bthat\b|\bbut\b")


@dataclass(frozen=True)
class DateHint:
    """A relative-date phrase at `sentence[start:end]` and what it means: one day (`date`)
    or an inclusive range (`start_date`..`end_date`); all ISO dates."""

    text: str
    start: int
    end: int
    label: str
    date: str | None = None
    start_date: str | None = None
    end_date: str | None = None

    @property
    def first_day(self) -> str:
        """The day itself, or the first day of the range (what a timeline sorts by)."""
        return self.date or self.start_date or ""


def parse_published(published: str | None) -> date | None:
    """The date of an ISO 8601 date or timestamp ("2025-03-05", "2025-03-05T10:00:00Z"); None if unparseable."""
    if not published:
        return None
    try:
        return date.fromisoformat(published.strip()[:10])
    except ValueError:
        return None


def hints(sentence: str, published: str | None) -> list[DateHint]:
    """Every relative-date phrase in `sentence` resolved against `published`, in order of
    appearance; [] when `published` is missing or unparseable."""
    pub = parse_published(published)
    if pub is None:
        return []
    found: list[DateHint] = []
    taken: list[tuple[int, int]] = []
    matches = [(m, kind) for kind, rx in _PATTERNS for m in rx.finditer(sentence)]
    for m, kind in sorted(matches, key=lambda x: (-(x[0].end() - x[0].start()), x[0].start())):
        if any(m.start() < b and a < m.end() for a, b in taken):
            continue
        hint = _resolve(kind, m, sentence, pub)
        if hint is not None:
            found.append(hint)
            taken.append((m.start(), m.end()))
    return sorted(found, key=lambda h: h.start)


def date_hint(sentence: str, published: str | None) -> str | None:
    """One short string to show beside a quote, e.g. "on Wednesday = Wed 2025-03-05"
    (at most two phrases, joined by "; "); None when there is nothing to resolve."""
    found = hints(sentence, published)
    return "; ".join(f"{h.text} = {h.label}" for h in found[:2]) or None


def _resolve(kind: str, m: re.Match[str], sentence: str, pub: date) -> DateHint | None:
    g = [x.lower() if x else x for x in m.groups()]
    if kind == "day":
        word = g[0]
        offset = {"yesterday": -1, "last night": -1, "tomorrow": 1}.get(word, 0)
        if word == "today" and sentence[max(0, m.start() - 4):m.start()].lower() == "usa ":
            return None
        return _day(m, pub + timedelta(days=offset))
    if kind == "ago":
        n, unit = _NUMS.get(g[0]) or int(g[0]), g[1]
        if unit == "day":
            return _day(m, pub - timedelta(days=n))
        if unit == "week":
            return _range(m, *_week(pub - timedelta(weeks=n)))
        if unit == "month":
            y, mo = _add_months(pub.year, pub.month, -n)
            return _range(m, *_month(y, mo))
        return _range(m, date(pub.year - n, 1, 1), date(pub.year - n, 12, 31))
    if kind == "period":
        return _period(m, g[0], g[1], g[2], pub)
    if kind == "weekday":
        return _weekday(m, g[0], WEEKDAYS.index(g[1]), sentence, pub)
    if kind in ("month_day", "day_month"):
        mon, day = (g[0], g[1]) if kind == "month_day" else (g[1], g[0])
        month = MONTHS.index(mon) + 1 if mon in MONTHS else _ABBR[mon.rstrip(".")]
        return _month_day(m, month, int(day), sentence, pub)
    return _month_name(m, g[0], MONTHS.index(g[1]) + 1, sentence, pub)


def _day(m: re.Match[str], d: date) -> DateHint:
    return DateHint(m.group(0), m.start(), m.end(), f"{d:%a} {d.isoformat()}", date=d.isoformat())


def _range(m: re.Match[str], a: date, b: date, label: str | None = None) -> DateHint:
    if label is None:
        label = f"{a.isoformat()} to {b.isoformat()}"
    return DateHint(m.group(0), m.start(), m.end(), label, start_date=a.isoformat(), end_date=b.isoformat())


def _week(d: date) -> tuple[date, date]:
    monday = d - timedelta(days=d.weekday())
    return monday, monday + timedelta(days=6)


def _month(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    k = year * 12 + month - 1 + n
    return k // 12, k % 12 + 1


def _period(m: re.Match[str], edge: str | None, rel: str | None, unit: str, pub: date) -> DateHint | None:
    if unit == "weekend":
        sat = _week(pub)[0] + timedelta(days=5 + {"last": -7, "next": 7}.get(rel or "", 0))
        return _range(m, sat, sat + timedelta(days=1))
    if rel == "past":
        days = {"week": 7, "month": 30, "year": 365}[unit]
        return _range(m, pub - timedelta(days=days), pub)
    if unit == "week":
        a, b = _week(pub + timedelta(weeks={"last": -1, "next": 1}.get(rel or "", 0)))
    elif unit == "month":
        y, mo = _add_months(pub.year, pub.month, {"last": -1, "next": 1}.get(rel or "", 0))
        a, b = _month(y, mo)
    else:
        y = pub.year + {"last": -1, "next": 1}.get(rel or "", 0)
        a, b = date(y, 1, 1), date(y, 12, 31)
    if edge == "earlier":
        a, b = a, pub - timedelta(days=1)
    elif edge == "later":
        a, b = pub + timedelta(days=1), b
    if b < a:
        return None
    if edge is None and unit == "month":
        return _range(m, a, b, f"{a:%b %Y}")
    if edge is None and unit == "year":
        return _range(m, a, b, str(a.year))
    return _range(m, a, b)


def _weekday(m: re.Match[str], rel: str | None, wd: int, sentence: str, pub: date) -> DateHint:
    back, ahead = (pub.weekday() - wd) % 7, (wd - pub.weekday()) % 7
    if rel == "last":
        d = pub - timedelta(days=back or 7)
    elif rel == "next":
        d = pub + timedelta(days=ahead or 7)
    elif rel == "this":
        d = _week(pub)[0] + timedelta(days=wd)
    else:
        d = pub + timedelta(days=ahead) if is_future(sentence, m.start(), m.end()) else pub - timedelta(days=back)
    return _day(m, d)


def _month_day(m: re.Match[str], month: int, day: int, sentence: str, pub: date) -> DateHint | None:
    try:
        d = date(pub.year, month, day)
    except ValueError:
        return None
    if is_future(sentence, m.start(), m.end()):
        if d < pub - timedelta(days=GRACE_DAYS):
            d = _replace_year(d, pub.year + 1)
    elif d > pub + timedelta(days=GRACE_DAYS):
        d = _replace_year(d, pub.year - 1)
    return None if d is None else _day(m, d)


def _replace_year(d: date, year: int) -> date | None:
    try:
        return d.replace(year=year)
    except ValueError:  # 29 February
        return None


def _month_name(m: re.Match[str], prep: str, month: int, sentence: str, pub: date) -> DateHint:
    if prep == "this":
        year = pub.year
    elif prep == "last":
        year = pub.year if month < pub.month else pub.year - 1
    elif prep == "next" or prep in ("until", "by") or is_future(sentence, m.start(), m.end()):
        year = pub.year if month >= pub.month else pub.year + 1
        if prep == "next" and month == pub.month:
            year += 1
    else:
        year = pub.year if month <= pub.month else pub.year - 1
    a, b = _month(year, month)
    return _range(m, a, b, f"{a:%b %Y}")


def is_future(sentence: str, start: int, end: int) -> bool:
    """Whether the clause around `sentence[start:end]` is in the future tense: its first
    tense marker (or the next clause's, when the phrase stands alone like "On Monday,")
    is a future one."""
    cuts = [0] + [c.end() for c in _CLAUSE.finditer(sentence)] + [len(sentence)]
    a = max((c for c in cuts if c <= start), default=0)
    b = min((c for c in cuts if c >= end), default=len(sentence))
    clause = sentence[a:start] + " " + sentence[end:b]
    if not re.search(r"[A-Za-z]{3,}", clause.replace(" on ", " ")):
        nxt = min((c for c in cuts if c > b), default=len(sentence))
        clause = sentence[b:nxt]
    fut, past = _FUTURE.search(clause), _PAST.search(clause)
    if fut is None:
        return False
    return past is None or fut.start() <= past.start()
