"""News-native answers over a real index: one story told by two outlets (a wire story and a
re-headlined, re-paragraphed, trimmed copy), `also_in` on citations, relative-date hints,
one passage per story in retrieval, `docs list --json` story groups, and the timeline."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import Assistant

STORIES = Path(__file__).parent / "data" / "news" / "stories" / "stories.jsonl"
VOTE_Q = "How did the council vote on opening the dam lock?"


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    bot = Assistant(index=tmp_path_factory.mktemp("news") / "index")
    report = bot.ingest([STORIES])
    assert len(report.added) == 4
    return bot


def test_copies_of_one_story_share_a_story_id_and_others_do_not(bot):
    story = {d.id: d.story for d in bot.documents()}
    assert story["wire-elden"] == story["harbor-copy"] == "wire-elden"  # named by the earliest published copy
    assert len({story["wire-elden"], story["festival"], story["dam-update"]}) == 3
    assert (bot.index.stories_path).exists()  # grouped at ingest and saved beside the index


def test_retrieval_keeps_one_document_per_story_at_the_top(bot):
    passages = bot.retrieve(VOTE_Q, top_k=3)
    docs = [p.doc_id for p in passages]
    assert docs[0] in {"wire-elden", "harbor-copy"}
    assert docs[1] not in {"wire-elden", "harbor-copy"}  # the copy is pushed down, not shown twice in a row
    assert [p.rank for p in passages] == [1, 2, 3]


def test_a_citation_lists_the_other_outlet_printing_the_sentence_and_resolves_its_relative_date(bot):
    answer = bot.ask(VOTE_Q)
    assert not answer.refused
    vote = next(c for c in answer.citations if "voted 7 to 2" in c.quote)
    other = "harbor-copy" if vote.doc_id == "wire-elden" else "wire-elden"
    assert [a["doc_id"] for a in vote.also_in] == [other]
    assert vote.also_in[0]["outlet"] in {"Harbor Post", "Elden Gazette"} and vote.also_in[0]["published"]
    # Published Wed 5 or Thu 6 March: "On Monday" is the Monday before, 3 March.
    assert vote.date_hint and "2025-03-03" in vote.date_hint and "Monday" in vote.date_hint
    assert vote.published and vote.outlet


def test_a_sentence_only_one_outlet_prints_has_no_also_in(bot):
    answer = bot.ask("How much will the repairs to the upper gate cost according to the council?")
    wire_only = [c for c in answer.citations if "4.2 million" in c.quote]  # the copy was trimmed before it
    assert wire_only and all(c.doc_id == "wire-elden" and c.also_in == () for c in wire_only)


def test_timeline_is_in_date_order_with_one_line_per_sentence(bot):
    lines = bot.timeline("council")
    dated = [e.date for e in lines if e.date]
    assert dated == sorted(dated) and len(lines) >= 4
    assert lines[0].doc_id == "festival"  # published 2025-03-01, the oldest
    vote = next(e for e in lines if "voted 7 to 2" in e.quote)
    assert vote.date == "2025-03-03" and vote.dated_by == "sentence"  # "On Monday", before the 5 March article
    assert vote.also_in  # both outlets print it: one line
    quotes = [" ".join(e.quote.split()) for e in lines]
    assert len(quotes) == len(set(quotes))
    doc = {i: bot.document(i) for i in {e.doc_id for e in lines}}
    for e in lines:
        assert doc[e.doc_id].text[e.start:e.end] == e.quote
    march = bot.timeline("council", until="2025-03-31")
    assert march and all(e.published and e.published <= "2025-03-31" for e in march)


def test_timeline_refuses_an_empty_topic(bot):
    from assistant.core.errors import InvalidQuestion

    with pytest.raises(InvalidQuestion):
        bot.timeline("   ")


def test_cli_timeline_and_docs_list_json(bot, capsys):
    from assistant.cli import main

    index = str(bot.settings.index_path)
    assert main(["timeline", "council", "--index", index, "--json", "--since", "2025-03-02"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["published"] >= "2025-03-02" for r in rows) and "festival" not in {r["doc_id"] for r in rows}
    assert main(["timeline", "council", "--index", index]) == 0
    out = capsys.readouterr().out
    assert "“" in out and "2025-" in out
    assert main(["docs", "list", "--json", "--index", index]) == 0
    docs = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert docs["harbor-copy"]["story"] == docs["wire-elden"]["story"] and docs["festival"]["outlet"] == "Elden Gazette"
    assert docs["wire-elden"]["published"] == "2025-03-05"


def test_two_dated_articles_with_different_figures_are_both_shown_with_their_dates(bot):
    answer = bot.ask("How much will the repairs to the dam's upper gate cost?")
    assert not answer.refused
    differ = [s for s in answer.sentences if s.text.startswith("Reports differ")]
    assert differ, answer.answer
    text = differ[0].text
    assert "4.2 million euros" in text and "5.1 million euros" in text
    assert "2025-03-05" in text and "2025-04-10" in text  # both dates, the older first is not required
    extra = next(c for c in answer.citations if c.n == differ[0].citations[0])
    assert bot.document(extra.doc_id).text[extra.start:extra.end] == extra.quote
    assert f"[{extra.n}]" in answer.answer


def test_undated_articles_get_no_conflict_note(tmp_path):
    rows = [{"id": "a", "title": "Flood toll", "text": "The flood killed 12 people in the valley, officials said."},
            {"id": "b", "title": "Flood toll rises", "text": "Officials said the flood killed 15 people in the valley."}]
    f = tmp_path / "undated.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    bot = Assistant(index=tmp_path / "index")
    bot.ingest([f])
    answer = bot.ask("How many people did the flood kill?")
    assert not any(s.text.startswith("Reports differ") for s in answer.sentences)


def test_an_llm_sees_each_sources_outlet_and_date_and_is_asked_to_order_by_date(bot):
    from fake_openai import FakeOpenAI

    with FakeOpenAI() as fake:
        llm = Assistant(index=bot.settings.index_path, generator="openai", llm_model="fake-model",
                        llm_base_url=fake.url, llm_api_key="sk-test")
        llm.ask(VOTE_Q)
        messages = fake.chat_requests()[0]["messages"]
    system, user = messages[0]["content"], messages[-1]["content"]
    assert "date order" in system and "different figures" in system
    assert "(Elden Gazette, 2025-03-05)" in user or "(Harbor Post, 2025-03-06)" in user


def test_an_answer_from_several_dated_articles_is_put_in_date_order():
    from assistant.core.data import Answer, Citation, Sentence
    from assistant.news.annotate import in_date_order

    def cite(n, doc, day):
        return Citation(n=n, doc_id=doc, title=doc, source=doc, chunk_id=f"{doc}-0", quote=f"q{n}", start=0, end=2,
                        published=day)

    answer = Answer(question="q", answer="Later toll is 15 [1]. Early toll was 12 [2].", refused=False,
                    citations=(cite(1, "late", "2025-03-09"), cite(2, "early", "2025-03-02")),
                    sentences=(Sentence("Later toll is 15", (1,), True, 0.9), Sentence("Early toll was 12", (2,), True, 0.9)),
                    passages=())
    ordered = in_date_order(answer)
    assert ordered.answer == "Early toll was 12 [1] Later toll is 15 [2]"
    assert [(c.n, c.doc_id) for c in ordered.citations] == [(1, "early"), (2, "late")]
    assert [s.citations for s in ordered.sentences] == [(1,), (2,)]
    one_article = Answer(question="q", answer="x", refused=False, citations=(cite(1, "a", "2025-03-09"),),
                         sentences=(Sentence("A", (1,), True, 1.0), Sentence("B", (1,), True, 1.0)), passages=())
    assert in_date_order(one_article) is one_article
