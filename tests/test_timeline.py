"""Timelines over a small dated fixture: order, dedup across outlets, topic selection and
conflicting figures."""
from __future__ import annotations

from assistant.news.timeline import Item, conflicting_figures, figures, mentions_topic, timeline, topic_items

# 2025-03-05 is a Wednesday.
ARTICLES = {
    "ap-1": ("2025-03-05", "AP",
             "Factory fire kills 12 in Lyon\n\n"
             "A fire at a chemical factory in Lyon killed 12 people on Tuesday, officials said. "
             "Firefighters battled the blaze for six hours before bringing it under control. "
             "The city's mayor ordered nearby schools to close. "
             "Separately, the city council approved a new tram line."),
    "paper-1": ("2025-03-06", "Le Courrier",
                "Lyon mourns after factory blaze\n\n"
                "Firefighters battled the blaze for six hours before bringing it under control. "
                "The death toll from the factory fire rose to 15 people, the prefecture said yesterday. "
                "An inquiry into the fire will open next Monday."),
    "ap-2": ("2025-03-10", "AP",
             "Owner of Lyon factory charged\n\n"
             "Prosecutors charged the owner of the Lyon factory over the fire last week. "
             "Inspectors had warned about faulty wiring at the factory two years ago."),
    "blog": (None, "Blog",
             "The factory fire in Lyon raised questions about industrial safety."),
}


def items(topic: str = "factory fire") -> list[Item]:
    out: list[Item] = []
    for doc_id, (published, outlet, text) in ARTICLES.items():
        out.extend(topic_items(doc_id, text, topic, published, outlet))
    return out


def test_topic_items_pick_mentions_with_exact_offsets() -> None:
    published, outlet, text = ARTICLES["ap-1"]
    got = topic_items("ap-1", text, "factory fire", published, outlet)
    assert [i.text for i in got] == ["Factory fire kills 12 in Lyon",
                                     "A fire at a chemical factory in Lyon killed 12 people on Tuesday, officials said."]
    assert all(text[i.start:i.end] == i.text for i in got)
    assert mentions_topic("Firefighters battled the blaze.", "fire") is False  # "firefighters" is another word
    assert mentions_topic("Firefighters battled three fires.", "fire")         # stemmed: fires ~ fire
    assert mentions_topic("The blaze spread to a factory.", "factory fire")    # half the topic's terms
    assert not mentions_topic("The tram line was approved.", "factory fire")
    assert not mentions_topic("Anything at all.", "the of and")


def test_events_in_date_order_with_relative_dates_resolved() -> None:
    events = timeline(items())
    got = [(e.date, e.doc_id, e.dated_by) for e in events]
    assert got == [
        ("2023-01-01", "ap-2", "sentence"),   # "two years ago" -> 2023
        ("2025-03-03", "ap-2", "sentence"),   # "last week" -> week of Mon 3 March
        ("2025-03-04", "ap-1", "sentence"),   # "on Tuesday"
        ("2025-03-05", "ap-1", "published"),  # the headline; same day: earlier published first
        ("2025-03-05", "paper-1", "sentence"),  # "yesterday" in the 6 March paper
        ("2025-03-06", "paper-1", "published"),
        ("2025-03-10", "paper-1", "sentence"),  # "next Monday" (published 6 March, before ap-2)
        ("2025-03-10", "ap-2", "published"),
        (None, "blog", None),                   # undated: kept, last
    ]
    tuesday = events[2]
    assert tuesday.date_hint == "on Tuesday = Tue 2025-03-04" and tuesday.outlet == "AP"
    assert ARTICLES["ap-1"][2][tuesday.start:tuesday.end] == tuesday.quote


def test_the_same_sentence_from_several_outlets_is_one_event() -> None:
    events = timeline(items("blaze"))
    battled = [e for e in events if e.quote.startswith("Firefighters battled")]
    assert len(battled) == 1
    assert (battled[0].doc_id, battled[0].also_in, battled[0].date) == ("ap-1", ("paper-1",), "2025-03-05")
    # Plain tuples work too, and the earliest published copy wins whatever the input order.
    rows = [(i.doc_id, i.published, i.outlet, i.text, i.start, i.end) for i in reversed(items("blaze"))]
    assert [e.doc_id for e in timeline(rows) if e.quote.startswith("Firefighters")] == ["ap-1"]


def test_topic_filter_inside_timeline() -> None:
    all_sentences = [Item("ap-1", "2025-03-05", "AP", s, 0, len(s)) for s in
                     ("The tram line was approved.", "The factory fire was put out.")]
    assert [e.quote for e in timeline(all_sentences, topic="factory fire")] == ["The factory fire was put out."]


def test_conflicting_death_tolls_are_reported_with_dates() -> None:
    conflicts = conflicting_figures(items())
    assert len(conflicts) == 1
    c = conflicts[0]
    assert c.unit == "people"
    assert (c.first.doc_id, c.first.value, c.first.date) == ("ap-1", 12.0, "2025-03-04")
    assert (c.second.doc_id, c.second.value, c.second.date) == ("paper-1", 15.0, "2025-03-05")
    text = ARTICLES["paper-1"][2]
    assert text[c.second.start:c.second.end] == "15 people"


def test_figures_skip_years_times_and_days_and_need_shared_context() -> None:
    s = "In 2019 at 3 pm on March 4, some 40 people were injured and 3.5 million barrels spilled, up 12%."
    got = [(f.value, f.unit) for f in figures(Item("x", "2025-03-05", None, s, 0, len(s)))]
    assert got == [(40.0, "people"), (3_500_000.0, "barrels"), (12.0, "percent")]
    injured = Item("a", "2025-03-05", None, "Some 40 people were injured in the crash.", 0, 41)
    killed = Item("b", "2025-03-06", None, "The crash killed 12 people, police said.", 0, 40)
    assert conflicting_figures([injured, killed]) == []
    same_value = Item("c", "2025-03-06", None, "Twelve people were killed in the crash.", 0, 39)
    assert conflicting_figures([killed, same_value]) == []
    same_doc = Item("b", "2025-03-06", None, "Earlier reports said 10 people were killed.", 50, 93)
    assert conflicting_figures([killed, same_doc]) == []
