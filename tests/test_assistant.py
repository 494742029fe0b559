"""Integration: the seeds in a real embedded Chroma index, asked through the public API."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TERRITORY_Q

from assistant import Answer, Assistant, to_dict
from assistant.core.errors import EmbedderMismatch, IndexNotFound, InvalidQuestion

SEED_QUESTIONS = [
    (TERRITORY_Q, "502 square kilometers", "000_"),
    ("How many people did the recent attack on Kyiv kill?", "31 people", "000_"),
    ("Who is Samuel Charap?", "senior political scientist at the Rand Corporation", "003_"),
    ("What did Gabuev say the 30-day ceasefire looks like?", "looks like a trap", "003_"),
    ("How much of Kursk did Ukraine seize last summer?", "more than 1,000 sq km", "003_"),
    ("How much in Russian central bank assets remain frozen abroad?", "$300 billion", "000_"),
    ("How long is the frontline?", "2,000km frontline", "003_"),
    ("Where did Russia get ammunition from?", "North Korea", "000_"),
]


def _doc_text(bot: Assistant, doc_id: str) -> str:
    return bot.document(doc_id).text


@pytest.mark.parametrize("question,fact,doc_prefix", SEED_QUESTIONS)
def test_seed_questions_cite_exact_spans_that_hold_the_answer(bot: Assistant, question: str, fact: str, doc_prefix: str):
    answer = bot.ask(question)
    assert not answer.refused
    assert fact in answer.answer
    assert answer.citations and all(s.supported and s.citations for s in answer.sentences)
    holding = [c for c in answer.citations if fact in c.quote]
    assert holding and holding[0].doc_id.startswith(doc_prefix)
    for c in answer.citations:
        assert _doc_text(bot, c.doc_id)[c.start:c.end] == c.quote
        assert f"[{c.n}]" in answer.answer
    source_file = Path(holding[0].source).read_text(encoding="utf-8")
    assert source_file[holding[0].start:holding[0].end] == holding[0].quote


@pytest.mark.parametrize("question", ["What is the capital of Australia?", "Who won the 2018 FIFA World Cup?",
                                      "What is the boiling point of water in Fahrenheit?"])
def test_out_of_corpus_questions_are_refused(bot: Assistant, question: str):
    answer = bot.ask(question)
    assert answer.refused and answer.citations == () and answer.answer.startswith("The articles don't say")


def test_boilerplate_is_not_answerable(bot: Assistant):
    for p in bot.ask("Read the full article here", top_k=10).passages:
        assert "Read the full article" not in p.text and "Read More About" not in p.text


def test_stream_yields_text_then_the_answer(bot: Assistant):
    items = list(bot.stream(TERRITORY_Q))
    assert isinstance(items[-1], Answer)
    assert all(isinstance(i, str) for i in items[:-1]) and len(items) >= 2
    assert set(items[-1].timings_ms) >= {"retrieve", "generate", "cite", "total"}


def test_follow_up_uses_previous_question(bot: Assistant):
    first = bot.ask("Who is Samuel Charap?")
    follow = bot.ask("What did he say about the leverage?", history=[("Who is Samuel Charap?", first.answer)])
    assert not follow.refused and "leverage is to keep the fighting" in follow.answer


def test_passages_carry_scores_and_top_k(bot: Assistant):
    answer = bot.ask(TERRITORY_Q, top_k=3)
    assert [p.rank for p in answer.passages] == [1, 2, 3]
    assert all(p.score > 0 for p in answer.passages)
    assert any(p.dense_score is not None for p in answer.passages) and any(p.bm25_score for p in answer.passages)


def test_bad_questions_and_empty_index(tmp_path: Path, bot: Assistant):
    with pytest.raises(InvalidQuestion):
        bot.ask("   ")
    with pytest.raises(IndexNotFound, match="assistant ingest"):
        Assistant(index=tmp_path / "empty").ask(TERRITORY_Q)


def test_reingest_adds_nothing_and_changed_file_replaces_chunks(tmp_path: Path, seeds_copy: Path):
    bot = Assistant(index=tmp_path / "idx")
    first = bot.ingest([seeds_copy])
    assert len(first.added) == 2 and first.chunks_added > 0
    ids_before = set(bot.store.chunk_ids())
    again = bot.ingest([seeds_copy])
    assert again.added == () and again.updated == () and len(again.unchanged) == 2
    assert set(bot.store.chunk_ids()) == ids_before
    f = seeds_copy / "000_27f29ae969c6fbd6.txt"
    f.write_text(f.read_text(encoding="utf-8").replace("502 square", "777 square"), encoding="utf-8")
    changed = bot.ingest([seeds_copy])
    assert len(changed.updated) == 1 and len(changed.unchanged) == 1
    (doc,) = [d for d in bot.documents() if d.id == changed.updated[0]]
    stored = [c for c in bot.store.chunks() if c.doc_id == doc.id]
    assert len(stored) == doc.chunks and all(c.id.startswith(doc.content_hash[:16]) for c in stored)
    answer = bot.ask(TERRITORY_Q)
    assert "777 square" in answer.answer and "502" not in answer.answer


def test_delete_and_bm25_consistency_across_instances(tmp_path: Path, seeds_copy: Path):
    index = tmp_path / "idx"
    bot = Assistant(index=index)
    bot.ingest([seeds_copy])
    first_ids = [d.id for d in bot.documents()]
    victim = next(d for d in first_ids if d.startswith("003_"))
    bot.delete(victim)
    assert [d.id for d in bot.documents()] == [d for d in first_ids if d != victim] and len(first_ids) == 2
    other = Assistant(index=index)  # a "restart": BM25 must agree with Chroma
    assert len(other.keyword().ids) == len(other.store.chunk_ids())
    assert other.ask("Who is Samuel Charap?").refused
    bot.ingest([seeds_copy])  # re-adding restores it, and the other instance notices
    assert not other.ask("Who is Samuel Charap?").refused


def test_embedder_mismatch_is_refused_with_a_rebuild_hint(seeded_index: Path):
    with pytest.raises(EmbedderMismatch, match="--rebuild"):
        Assistant(index=seeded_index, embedder="wordllama:64").documents()


def test_rebuild_switches_embedder(tmp_path: Path, seeds_copy: Path):
    Assistant(index=tmp_path / "idx").ingest([seeds_copy])
    other = Assistant(index=tmp_path / "idx", embedder="wordllama:64")
    with pytest.raises(EmbedderMismatch):
        other.documents()
    other.rebuild()
    assert other.documents() == [] and len(other.ingest([seeds_copy]).added) == 2
    assert "502 square kilometers" in other.ask(TERRITORY_Q).answer


def test_bad_file_is_skipped_and_nothing_indexed_is_lost(tmp_path: Path, seeds_copy: Path):
    bot = Assistant(index=tmp_path / "idx")
    bot.ingest([seeds_copy])
    (tmp_path / "junk.txt").write_bytes(b"\x00\xff\x00binary")
    (tmp_path / "empty.md").write_text("")
    report = bot.ingest([tmp_path / "junk.txt", tmp_path / "empty.md"])
    assert len(report.skipped) == 2 and report.added == ()
    assert len(bot.documents()) == 2 and not bot.ask(TERRITORY_Q).refused


def test_second_process_sees_same_documents_and_answer(bot: Assistant, seeded_index: Path):
    code = ("import json,sys; from assistant import Assistant, to_dict; b=Assistant(index=sys.argv[1]);"
            "print(json.dumps({'docs':[d.id for d in b.documents()],'answer':b.ask(sys.argv[2]).answer}))")
    out = subprocess.run([sys.executable, "-c", code, str(seeded_index), TERRITORY_Q],
                         capture_output=True, text=True, timeout=120, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["docs"] == [d.id for d in bot.documents()]
    assert got["answer"] == bot.ask(TERRITORY_Q).answer
    assert json.dumps(to_dict(bot.ask(TERRITORY_Q)))  # serializable
