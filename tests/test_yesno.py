"""Yes/no questions comparing two things (answer/yesno.py): the reader reads each thing's
defining sentence and answers Yes or No only when those sentences decide it."""
from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.answer import yesno
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
