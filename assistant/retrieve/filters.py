"""Date and outlet filters on retrieval: `since`, `until`, `outlet`, `as_of`.

Both retrieval sides apply the same filter. The dense side passes `Filters.where()` to
Chroma, matched on each chunk record's `day` (publication date ordinal, 0 = undated) and
`outlet` (case-folded) keys; the BM25 side keeps only rows of the documents
`Filters.allowed(store.facets())` returns (computed from the document records); passages
are checked once more against that set before they are returned, so a filtered question
never sees an article outside the filter, however selective the filter is.

Rules: `since`/`until` are inclusive days, and exclude undated documents. `as_of` drops
everything published after that day; alone it keeps undated documents (they may well have
been published by then, and `as_of` asks "what had been published by then"); with
`since` or `until` they are excluded as by any date range. `outlet` is a case-insensitive
exact name. Chunks written before these keys existed match no date or outlet filter
(the dense side cannot see their dates): `assistant repair` rewrites them with the keys."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

from assistant.core.dates import parse_day
from assistant.core.errors import InvalidFilter
from assistant.core.text import INVALID_UNICODE, has_lone_surrogate
from assistant.index.store import outlet_key


@dataclass(frozen=True)
class Filters:
    """A validated filter; build it with `Filters.parse`."""

    since: date | None = None
    until: date | None = None
    outlet: str | None = None  # case-folded
    as_of: date | None = None

    @classmethod
    def parse(cls, since: Any = None, until: Any = None, outlet: Any = None, as_of: Any = None) -> "Filters | None":
        """The filter for these values (dates as text, `date`s or epoch seconds), or None
        when none is given. Raises InvalidFilter for an unreadable date, an empty range or
        an outlet that is not text."""
        if outlet is not None and not isinstance(outlet, str):
            raise InvalidFilter("outlet must be the outlet's name as text, e.g. \"Reuters\"")
        for name, value in (("since", since), ("until", until), ("outlet", outlet), ("as_of", as_of)):
            if isinstance(value, str) and has_lone_surrogate(value):
                raise InvalidFilter(f"{name} contains {INVALID_UNICODE}: remove that character")
        f = cls(parse_day(since, "since"), parse_day(until, "until"), outlet_key(outlet) if outlet else None,
                parse_day(as_of, "as_of"))
        if f.since and f.upper and f.since > f.upper:
            raise InvalidFilter(f"since {f.since} is after {'as_of' if f.upper != f.until else 'until'} {f.upper}: "
                                "nothing can match; swap or widen the dates")
        return None if f == cls() else f

    @property
    def upper(self) -> date | None:
        """The last day allowed: the earlier of `until` and `as_of`."""
        bounds = [d for d in (self.until, self.as_of) if d is not None]
        return min(bounds) if bounds else None

    @property
    def dated(self) -> bool:
        """Whether undated documents are excluded (a `since` or `until` was given)."""
        return self.since is not None or self.until is not None

    def bounds(self) -> tuple[int | None, int | None]:
        """(lowest, highest) allowed day number; an undated document has day 0."""
        low = self.since.toordinal() if self.since else (1 if self.dated else None)
        return low, self.upper.toordinal() if self.upper else None

    def allows(self, day: int, outlet: str | None) -> bool:
        """Whether a document of this day number (0 = undated) and case-folded outlet passes."""
        low, high = self.bounds()
        if low is not None and day < low:
            return False
        if high is not None and day > high:
            return False
        return self.outlet is None or outlet == self.outlet

    def where(self) -> dict[str, Any] | None:
        """The Chroma `where` clause on chunk records (None when nothing is filtered)."""
        low, high = self.bounds()
        clauses: list[dict[str, Any]] = []
        if low is not None:
            clauses.append({"day": {"$gte": low}})
        if high is not None:
            clauses.append({"day": {"$lte": high}})
        if self.outlet is not None:
            clauses.append({"outlet": {"$eq": self.outlet}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def allowed(self, facets: Mapping[str, tuple[int, str | None]]) -> set[str]:
        """The ids of the documents that pass, from `store.facets()`."""
        return {d for d, (day, outlet) in facets.items() if self.allows(day, outlet)}

    def describe(self) -> dict[str, str | None]:
        """The filter as plain values (ISO dates), for reports and answers."""
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {"since": iso(self.since), "until": iso(self.until), "outlet": self.outlet, "as_of": iso(self.as_of)}
