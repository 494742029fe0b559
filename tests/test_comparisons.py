"""Questions that compare two named things: yes/no ("Are A and B both P?", answer/yesno.py)
and two options ("Who was born first, A or B?", answer/choice.py). The reader reads each
thing's defining sentence (answer/named.py) and answers only when those sentences decide it."""
from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.answer import choice, yesno
from assistant.models.nlp import Parser

# Two glued paragraphs, as knowledge passages and scraped pages often are.
BANDS = ("The Lanterns is a Canadian indie rock band formed in 1997 in Vancouver.Red Harbour is an American rock "
         "band that formed in Nashville, Tennessee, in 1999. Its debut album sold well.")
FILMS = ("Skyline is a 2009 American animated film produced by Northlight Studios. "
         "The Quiet Shore is a 2009 Turkish drama film directed by Ayla Demir.")


@pytest.fixture(scope="module")
def parse():
    return Parser().parse


@pytest.mark.parametrize("question, first, second, kind", [
    ("Are both The Lanterns and Red Harbour American rock bands?", "The Lanterns", "Red Harbour", "both"),
    ("Are The Lanterns and Red Harbour both rock bands?", "The Lanterns", "Red Harbour", "both"),
    ("Were Skyline and The Quiet Shore released in the same year?", "Skyline", "The Quiet Shore", "same"),
])
def test_the_two_things_and_what_is_asked_of_them(question, first, second, kind):
    c = yesno.read_comparison(question, [BANDS, FILMS])
    assert (c.first, c.second, c.kind) == (first, second, kind)


def test_where_the_second_name_ends_is_read_from_the_passages():
    c = yesno.read_comparison("Are both The Lanterns and Red Harbour American rock bands?", [BANDS])
    assert c.predicate == "American rock bands"  # not "Red Harbour American" + "rock bands"


def test_not_a_comparison():
    for q in ("Did Red Harbour form in 1999?", "Who formed Red Harbour?", "Are The Lanterns Canadian?"):
        assert yesno.read_comparison(q, [BANDS]) is None


def test_both_yes_no_and_no_verdict():
    assert yesno.decide("Are The Lanterns and Red Harbour both rock bands?", [BANDS]).answer == "Yes"
    # "American" is stated of one and not the other: the distinguishing word
    assert yesno.decide("Are both The Lanterns and Red Harbour American rock bands?", [BANDS]).answer == "No"
    # neither sentence says "famous": the evidence decides nothing
    assert yesno.decide("Are The Lanterns and Red Harbour both famous?", [BANDS]) is None


def test_each_thing_is_read_from_its_own_sentence():
    """The glued paragraphs are split: "American" in Red Harbour's sentence is not The Lanterns'."""
    verdict = yesno.decide("Are The Lanterns and Red Harbour both American?", [BANDS])
    assert verdict.answer == "No"
    (_, a, b), (_, c, d) = verdict.evidence
    assert BANDS[a:b].startswith("The Lanterns is a Canadian") and BANDS[a:b].endswith("Vancouver.")
    assert BANDS[c:d].startswith("Red Harbour is an American")


def test_same_year_and_same_nationality(parse):
    assert yesno.decide("Were Skyline and The Quiet Shore released in the same year?", [FILMS]).answer == "Yes"
    assert yesno.decide("Are Skyline and The Quiet Shore of the same nationality?", [FILMS], parse).answer == "No"
    # a nationality needs the parse; without it there is no verdict
    assert yesno.decide("Are Skyline and The Quiet Shore of the same nationality?", [FILMS]) is None


def test_same_state_is_not_decided_by_the_country_both_are_in(parse):
    text = ("Mesa Field is an airport in Phoenix, Arizona, United States. "
            "Pine Field is an airport in Reno, Nevada, United States.")
    assert yesno.decide("Are Mesa Field and Pine Field located in the same state?", [text], parse).answer == "No"


def test_the_answer_leads_with_the_verdict_and_cites_both_sentences(tmp_path):
    (tmp_path / "a.txt").write_text("Red Harbour\n\n" + BANDS.replace(".Red", ". Red") + "\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Skyline\n\n" + FILMS + "\n", encoding="utf-8")
    bot = Assistant(index=tmp_path / "i")
    bot.ingest([tmp_path / "a.txt", tmp_path / "b.txt"])
    answer = bot.ask("Are both The Lanterns and Red Harbour American rock bands?")
    assert not answer.refused
    assert answer.answer.startswith("No [")
    quotes = [c.quote for c in answer.citations]
    assert any(q.startswith("The Lanterns is a Canadian indie rock band") for q in quotes)
    assert any(q.startswith("Red Harbour is an American rock band") for q in quotes)
    for c in answer.citations:  # span-exact
        assert bot.document(c.doc_id).text[c.start:c.end] == c.quote
    yes = bot.ask("Were Skyline and The Quiet Shore released in the same year?")
    assert yes.answer.startswith("Yes [")


# Questions that offer two options (answer/choice.py).
PEOPLE = ("Ada Brennan (12 March 188904 June 1961) was an Irish poet and teacher. "
          "Tom Okafor (born 3 May 1950) is a Nigerian novelist from Lagos.")


@pytest.mark.parametrize("question, pick", [
    ("Who was born first, Ada Brennan or Tom Okafor?", "Ada Brennan"),
    ("Who was born first Ada Brennan or Tom Okafor?", "Ada Brennan"),  # no comma: the passages say where A starts
    ("Who is younger, Ada Brennan or Tom Okafor?", "Tom Okafor"),
    ("Which writer was a novelist from Lagos, Ada Brennan or Tom Okafor?", "Tom Okafor"),
    ("Which writer, Ada Brennan or Tom Okafor, was an Irish poet?", "Ada Brennan"),
    ("Is Ada Brennan or Tom Okafor the Irish poet?", "Ada Brennan"),
])
def test_the_option_the_defining_sentences_pick(question, pick):
    assert choice.decide(question, [PEOPLE]).answer == pick


def test_a_year_with_a_lost_dash_is_still_the_first_year():
    """"188904 June 1961": the birth year is 1889, not 1961."""
    assert choice.decide("Who is older, Ada Brennan or Tom Okafor?", [PEOPLE]).answer == "Ada Brennan"


def test_no_pick_when_the_sentences_do_not_decide():
    assert choice.decide("Who won more prizes, Ada Brennan or Tom Okafor?", [PEOPLE]) is None  # a count
    assert choice.decide("Which writer was a teacher or a poet?", [PEOPLE]) is None  # no two named options
    assert choice.decide("Who was born first, Ada Brennan or Mary Quinn?", [PEOPLE]) is None  # Quinn not found


def test_the_answer_names_the_pick_first(tmp_path):
    (tmp_path / "a.txt").write_text("Two writers\n\n" + PEOPLE + "\n", encoding="utf-8")
    bot = Assistant(index=tmp_path / "i")
    bot.ingest([tmp_path / "a.txt"])
    answer = bot.ask("Who was born first, Ada Brennan or Tom Okafor?")
    assert answer.answer.startswith("Ada Brennan [")
    assert {c.quote.split(" (")[0] for c in answer.citations} >= {"Ada Brennan", "Tom Okafor"}
