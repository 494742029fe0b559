"""News across articles: annotations (stories, dates, conflicting figures), timelines and
relative dates."""

from assistant.news.annotate import annotate, in_date_order, with_conflicts
from assistant.news.reldates import date_hint, hints, is_future, parse_published
from assistant.news.timeline import (
    Item,
    TimelineEntry,
    conflicting_figures,
    figures,
    mentions_topic,
    timeline,
    timeline_of,
    topic_items,
)

__all__ = [
    "Item",
    "TimelineEntry",
    "annotate",
    "conflicting_figures",
    "date_hint",
    "figures",
    "hints",
    "in_date_order",
    "is_future",
    "mentions_topic",
    "parse_published",
    "timeline",
    "timeline_of",
    "topic_items",
    "with_conflicts",
]
