"""Relative dates resolved against the published date (2025-03-05 is a Wednesday)."""
from __future__ import annotations

import pytest

from assistant.news.reldates import date_hint, hints, is_future, parse_published

WED = "2025-03-05"


def one(sentence: str, published: str | None = WED):
    found = hints(sentence, published)
    assert len(found) == 1, found
    h = found[0]
    assert sentence[h.start:h.end] == h.text
    return h


@pytest.mark.parametrize("sentence, phrase, day", [
    ("The prosecutor said on Wednesday that he was not aware of any video.", "on Wednesday", "2025-03-05"),
    ("The minister resigned on Monday.", "on Monday", "2025-03-03"),
    ("Police said the man was arrested on Thursday.", "on Thursday", "2025-02-27"),
    ("Wednesday's vote was delayed.", "Wednesday", "2025-03-05"),
    ("He spoke on Sunday night after the match.", "on Sunday night", "2025-03-02"),
    ("The vote will take place on Friday.", "on Friday", "2025-03-07"),
    ("On Monday, the council will vote on the plan.", "On Monday", "2025-03-10"),
    ("The summit is due to open on Thursday.", "on Thursday", "2025-03-06"),
    ("The talks, scheduled for Saturday, were welcomed.", "Saturday", "2025-03-08"),
    ("He said on Monday that he will resign.", "on Monday", "2025-03-03"),
    ("Leaders will meet on Wednesday.", "on Wednesday", "2025-03-05"),
    ("The deal was signed last Monday.", "last Monday", "2025-03-03"),
    ("The deal was signed last Wednesday.", "last Wednesday", "2025-02-26"),
    ("Talks resume next Monday.", "next Monday", "2025-03-10"),
    ("Talks resume next Wednesday.", "next Wednesday", "2025-03-12"),
    ("The match is this Friday.", "this Friday", "2025-03-07"),
    ("The results came this Monday.", "this Monday", "2025-03-03"),
    ("It happened yesterday.", "yesterday", "2025-03-04"),
    ("The shop opens today.", "today", "2025-03-05"),
    ("Voting ends tomorrow.", "tomorrow", "2025-03-06"),
    ("Shots were fired last night.", "last night", "2025-03-04"),
    ("The body was found two days ago.", "two days ago", "2025-03-03"),
    ("He left 10 days ago.", "10 days ago", "2025-02-23"),
    ("A day ago nobody knew.", "A day ago", "2025-03-04"),
    ("The fire broke out on March 4.", "on March 4", "2025-03-04"),
    ("The fire broke out on 4 March.", "on 4 March", "2025-03-04"),
    ("He was born on the 4th of March.", "on the 4th of March", "2025-03-04"),
    ("The attack happened on Dec. 25.", "on Dec. 25", "2024-12-25"),
    ("Protests began on March 9.", "on March 9", "2025-03-09"),   # within a week after publication: same year
    ("Protests began on March 20.", "on March 20", "2024-03-20"),  # later: last year's
    ("The trial will open on March 20.", "on March 20", "2025-03-20"),
    ("The election will be held on January 10.", "on January 10", "2026-01-10"),
])
def test_single_days(sentence: str, phrase: str, day: str) -> None:
    h = one(sentence)
    assert (h.text, h.date, h.start_date) == (phrase, day, None)


@pytest.mark.parametrize("sentence, phrase, start, end", [
    ("Police arrested him last week.", "last week", "2025-02-24", "2025-03-02"),
    ("Prices rose this week.", "this week", "2025-03-03", "2025-03-09"),
    ("Talks continue next week.", "next week", "2025-03-10", "2025-03-16"),
    ("Sales fell last month.", "last month", "2025-02-01", "2025-02-28"),
    ("The company said earlier this month it would cut jobs.", "earlier this month", "2025-03-01", "2025-03-04"),
    ("Hearings resume later this week.", "later this week", "2025-03-06", "2025-03-09"),
    ("Profits doubled last year.", "last year", "2024-01-01", "2024-12-31"),
    ("The law takes effect this year.", "this year", "2025-01-01", "2025-12-31"),
    ("The river flooded last weekend.", "last weekend", "2025-03-01", "2025-03-02"),
    ("It flooded three weeks ago.", "three weeks ago", "2025-02-10", "2025-02-16"),
    ("The plant closed two months ago.", "two months ago", "2025-01-01", "2025-01-31"),
    ("They married five years ago.", "five years ago", "2020-01-01", "2020-12-31"),
    ("Unemployment rose in the past week.", "past week", "2025-02-26", "2025-03-05"),
    ("In May, prices rose sharply.", "In May", "2024-05-01", "2024-05-31"),
    ("Prices rose in February.", "in February", "2025-02-01", "2025-02-28"),
    ("The deal collapsed last March.", "last March", "2024-03-01", "2024-03-31"),
    ("The plant will reopen in June.", "in June", "2025-06-01", "2025-06-30"),
])
def test_ranges(sentence: str, phrase: str, start: str, end: str) -> None:
    h = one(sentence)
    assert (h.text, h.date, h.start_date, h.end_date) == (phrase, None, start, end)
    assert h.first_day == start


@pytest.mark.parametrize("sentence", [
    "Theresa May said she would stand down.",
    "May said the talks had failed.",
    "Mrs May met the Queen.",
    "Thousands march on the capital.",
    "March on Washington was a turning point.",
    "The war began in 2019.",
    "The attack happened on March 4, 2019.",
    "It rained in May 2019.",
    "He told USA Today about the plan.",
    "Shops are closed on Sundays.",
    "Prices may rise.",
    "The rate rose 5 per cent.",
])
def test_no_false_hints(sentence: str) -> None:
    assert hints(sentence, WED) == []


def test_several_phrases_in_order_and_one_short_hint() -> None:
    s = "He was arrested on Monday and charged yesterday, police said last week."
    assert [h.text for h in hints(s, WED)] == ["on Monday", "yesterday", "last week"]
    assert date_hint(s, WED) == "on Monday = Mon 2025-03-03; yesterday = Tue 2025-03-04"
    assert date_hint("The prosecutor spoke on Wednesday.", WED) == "on Wednesday = Wed 2025-03-05"
    assert date_hint("Sales fell last month.", WED) == "last month = Feb 2025"
    assert date_hint("Profits doubled last year.", WED) == "last year = 2024"
    assert date_hint("Nothing dated here.", WED) is None


@pytest.mark.parametrize("published", [None, "", "not a date", "2025-13-40"])
def test_no_published_date_no_hints(published: str | None) -> None:
    assert hints("It happened on Monday.", published) == []
    assert date_hint("It happened on Monday.", published) is None


def test_published_timestamps_and_year_ends() -> None:
    assert parse_published("2025-03-05T23:10:00Z").isoformat() == WED
    assert one("It happened yesterday.", "2025-01-01").date == "2024-12-31"
    assert one("Sales fell last month.", "2025-01-15").start_date == "2024-12-01"
    assert one("Talks resume next month.", "2024-12-15").end_date == "2025-01-31"
    assert one("The fire broke out on Dec. 30.", "2025-01-02").date == "2024-12-30"
    assert one("It will open on Jan. 3.", "2024-12-30").date == "2025-01-03"
    assert hints("It happened on February 29.", "2025-03-05") == []  # no such day in 2025


def test_tense_of_the_clause() -> None:
    s = "Officials said on Monday that the bridge will reopen on Friday."
    assert [h.date for h in hints(s, WED)] == ["2025-03-03", "2025-03-07"]
    assert is_future("The summit is expected to open on Friday.", 34, 43)
    assert not is_future("The summit opened on Friday.", 21, 30)
