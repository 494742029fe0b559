"""Recency (assistant.retrieve.recency): "latest" questions prefer the newest of several dated
versions of a story; other questions rank exactly as without it; `as_of` is the
reference day and hides later articles. Over tests/data/news/recency in a real index."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.retrieve.recency import Recency, wants_recent

DATA = Path(__file__).parent / "data" / "news" / "recency"
QUESTIONS = [json.loads(line) for line in (DATA / "questions.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    bot = Assistant(index=tmp_path_factory.mktemp("recency") / "index")
    bot.ingest([DATA / "stories.jsonl"])
    return bot


def test_recency_words():
    for q in ("What is the latest toll?", "Who leads now?", "What is the rate currently?", "news this week",
              "the most recent figures", "newest numbers", "as of today"):
        assert wants_recent(q), q
    for q in ("How many people died in the flood?", "What did the council know?", "Who won the race?"):
        assert not wants_recent(q), q


def test_factors_decay_by_age_from_the_newest_relevant_candidate():
    day = date(2025, 3, 10).toordinal()
    rec = Recency({"new": day, "week": day - 7, "old": day - 70, "undated": 0, "offtopic": day + 30}, half_life=7)
    docs = {c: c for c in ("new", "week", "old", "undated", "offtopic")}
    f = rec.factors(docs, {"new": 1.0, "week": 0.9, "old": 0.8, "undated": 0.7, "offtopic": 0.1})
    assert f["new"] == 1.0 and f["week"] == pytest.approx(0.5) and f["old"] == pytest.approx(0.5 ** 10)
    assert f["undated"] == pytest.approx(0.5) and f["offtopic"] == 1.0  # irrelevant: not the reference
    assert Recency({"a": 0}, 7).factors({"x": "a"}, {"x": 1.0}) == {"x": 1.0}  # nothing dated: no decay


def test_latest_questions_prefer_the_newest_version(bot):
    newest = sum(bot.retrieve(q["question"], top_k=5)[0].doc_id == q["newest"] for q in QUESTIONS)
    without = sum(bot.variant(recency_half_life=0.0).retrieve(q["question"], top_k=5)[0].doc_id == q["newest"]
                  for q in QUESTIONS)
    assert newest >= 7 and newest > without  # 7/8 with the default half-life, 5/8 without (README)


def test_plain_questions_rank_exactly_as_without_recency(bot):
    off = bot.variant(recency_half_life=0.0)
    for q in QUESTIONS:
        assert [(p.chunk_id, p.score) for p in bot.retrieve(q["plain"])] == \
               [(p.chunk_id, p.score) for p in off.retrieve(q["plain"])], q["plain"]


def test_as_of_is_the_reference_and_hides_later_articles(bot):
    got = bot.retrieve("What is the latest death toll from the Marrow Creek flood?", as_of="2025-04-04")
    assert got[0].doc_id == "flood-2"  # the newest version published by then
    assert all(p.published is None or p.published <= "2025-04-04" for p in got)


def test_the_answer_names_each_cited_articles_date(bot):
    from assistant.cli.shared import format_answer

    answer = bot.ask("How much of the Ashridge wildfire is contained as of today?")
    assert not answer.refused and "60 percent" in answer.answer
    assert answer.citations[0].published == "2025-06-12" and answer.citations[0].outlet == "Valley Ledger"
    assert "(published 2025-06-12, Valley Ledger)" in format_answer(answer)
