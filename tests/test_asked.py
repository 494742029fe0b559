"""What a question asks for, from spaCy's parse, and which spans answer it (answer/asked.py):
the answer must be of the asked type and attached to the asked noun or verb."""
from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.answer import asked
from assistant.models.nlp import Parser


@pytest.fixture(scope="module")
def parse():
    return Parser().parse


def spans(parse, question: str, sentence: str) -> list[str]:
    what = asked.read_question(parse(question))
    return [sentence[a:b] for a, b in asked.answer_spans(what, parse(sentence))]


@pytest.mark.parametrize("question, kind, focus", [
    ("How many patients are enrolled in the trial?", "count", "patient"),
    ("How many of the leaflets did the council print?", "count", "leaflet"),
    ("How much money will the state save?", "money", "money"),
    ("What fee would Smith owe?", "money", "fee"),
    ("What share of its waste did Stratford recycle?", "percent", "share"),
    ("What is his weekly salary at the club?", "money", "salary"),
])
def test_the_parse_finds_the_type_and_the_focus(parse, question, kind, focus):
    what = asked.read_question(parse(question))
    assert (what.kind, what.focus) == (kind, focus)


def test_questions_the_parse_sets_no_condition_for(parse):
    for q in ("How many times did he score?", "Why was the match stopped?",
              "Who made the android and where was it shown?", "Who was born first, Ann or Bob?",
              "Where did Russia get ammunition from?"):
        assert asked.read_question(parse(q)) == asked.NOTHING


def test_a_number_about_another_noun_does_not_answer(parse):
    s = "The trial has enrolled 1,200 patients across 40 hospitals, in a country of 60 million people."
    assert spans(parse, "How many patients are enrolled?", s) == ["1,200"]
    s = "About 3 million tourists visit the island each year, and a 34-year-old victim was found."
    assert spans(parse, "How many tourists visit the island?", s) == ["About 3 million"]
    s = "Each bottle sold for $40 at the auction."
    assert spans(parse, "How many bottles were sold?", s) == []  # a price is not a count of bottles


def test_money_must_be_attached_to_what_was_asked(parse):
    assert spans(parse, "What fee would Monaco receive?", "The fee was £63 million, the club said.") == ["£63 million"]
    assert spans(parse, "How much did it cost to build?", "It cost $5 million to build the robot.") == ["$5 million"]
    assert spans(parse, "What fee would Monaco receive?", "Reuters, the news agency, reported it on Monday.") == []
    assert spans(parse, "How much did it cost to build?", "Its maker is worth 5 percent more than Reuters.") == []


def test_the_reader_refuses_when_no_span_is_attached(tmp_path):
    """The failure the patterns make: "how many patients" answered with a country's population,
    because the window holds the word and a number. The parse refuses."""
    articles = tmp_path / "a.txt"
    articles.write_text("Clinical trial widens\n\nThe hospital trial of the new drug, which is recruiting patients, "
                        "began in Norway, a country of 5.4 million people. Doctors said the trial of the new drug "
                        "would report in the spring.\n", encoding="utf-8")
    parsed = Assistant(index=tmp_path / "p", reader="parse")
    parsed.ingest([articles])
    rules = Assistant(index=tmp_path / "p", reader="rules")
    question = "How many patients are enrolled in the hospital trial of the new drug?"
    assert "5.4 million" in rules.ask(question).answer  # the patterns: the wrong number
    assert parsed.ask(question).refused
