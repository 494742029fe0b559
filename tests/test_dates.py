"""Date normalisation (assistant.core.dates): what articles, pages and feeds write, as ISO 8601."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from assistant.core.dates import day, normalize, parse_day
from assistant.core.errors import InvalidFilter


@pytest.mark.parametrize("raw, iso", [
    ("2025-03-04", "2025-03-04"),
    ("March 4, 2025", "2025-03-04"),
    ("4 March 2025", "2025-03-04"),
    ("Mar. 4, 2025", "2025-03-04"),
    ("March 4th, 2025", "2025-03-04"),
    ("Published: March 4, 2025", "2025-03-04"),
    ("2025/03/04", "2025-03-04"),
    ("Tue, 04 Mar 2025 10:00:00 GMT", "2025-03-04T10:00:00+00:00"),
    ("Tue, 04 Mar 2025 10:00:00 +0100", "2025-03-04T10:00:00+01:00"),
    ("2025-03-04T10:00:00Z", "2025-03-04T10:00:00+00:00"),
    ("2025-03-04T10:00:00.123+05:30", "2025-03-04T10:00:00+05:30"),
    ("2025-03-04 10:00", "2025-03-04T10:00:00"),
    ("2025-03-04T00:00:00", "2025-03-04"),  # midnight without a zone: a day, no time known
    (1741082400, "2025-03-04T10:00:00+00:00"),
    ("1741082400", "2025-03-04T10:00:00+00:00"),
    (1741082400000, "2025-03-04T10:00:00+00:00"),  # milliseconds
    (date(2025, 3, 4), "2025-03-04"),
    (datetime(2025, 3, 4, 10, tzinfo=timezone.utc), "2025-03-04T10:00:00+00:00"),
])
def test_normalize(raw, iso):
    assert normalize(raw) == iso


@pytest.mark.parametrize("raw", [None, "", "   ", "soon", "March 2025", "0001-01-01", "9999-12-31", True, [2025],
                                 "2025-13-45", "31/12/2025", -99999999999999])
def test_unreadable_or_implausible_dates_are_none(raw):
    assert normalize(raw) is None


def test_day_numbers_and_filter_dates():
    assert day("2025-03-04T23:30:00-05:00") == date(2025, 3, 4).toordinal()  # the date as the article gives it
    assert day(None) is None and day("garbage") is None
    assert parse_day("March 4, 2025", "since") == date(2025, 3, 4) and parse_day(" ", "since") is None
    with pytest.raises(InvalidFilter, match="until 'next week' is not a date: use YYYY-MM-DD"):
        parse_day("next week", "until")
