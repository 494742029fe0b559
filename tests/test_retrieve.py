"""Hybrid retrieval: score fusion, its weight setting, and numbers as searchable terms."""
import json
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.core.errors import ConfigError
from assistant.core.settings import Settings
from assistant.index.bm25 import KeywordIndex
from assistant.retrieve.hybrid import DENSE_WEIGHT, fuse


def test_fuse_weighs_normalised_bm25_against_cosine():
    dense, sparse = [("a", 0.9), ("b", 0.5)], [("b", 10.0), ("c", 5.0)]
    got = fuse(dense, sparse, 0.2)
    assert got == pytest.approx({"a": 0.18, "b": 0.8 + 0.1, "c": 0.4})
    assert fuse(dense, [], 1.0) == pytest.approx({"a": 0.9, "b": 0.5})  # dense alone keeps its order
    assert max(fuse([], sparse, 0.0), key=fuse([], sparse, 0.0).get) == "b"


def test_fusion_weight_is_a_setting_with_the_tuned_default():
    assert Settings.load(env={}).fusion_weight == DENSE_WEIGHT == 0.2
    assert Settings.load(env={"ASSISTANT_FUSION_WEIGHT": "0.5"}).fusion_weight == 0.5
    with pytest.raises(ConfigError, match="ASSISTANT_FUSION_WEIGHT"):
        Settings.load(env={"ASSISTANT_FUSION_WEIGHT": "1.5"})


def test_numbers_are_single_searchable_terms():
    index = KeywordIndex()
    index.add([("a", "h", [("a-0", "The strike stranded 1,200 passengers in 2025.")]),
               ("b", "h", [("b-0", "Fees rose by 1 per cent and 200 boats protested.")]),
               ("c", "h", [("c-0", "Flight 9525 crashed in the Alps.")])])
    assert [cid for cid, _ in index.search("1200 passengers", 3)][0] == "a-0"
    assert [cid for cid, _ in index.search("1,200", 3)] == ["a-0"]  # not "1" and "200"
    assert [cid for cid, _ in index.search("9525", 3)] == ["c-0"]
    assert [cid for cid, _ in index.search("2025", 3)] == ["a-0"]


def test_hybrid_finds_an_article_by_its_number(tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(6):
        (folder / f"f{i}.txt").write_text(f"Flight report {i}\n\nFlight {9520 + i} landed safely in Kirkwall on "
                                          f"Tuesday with {100 + i} passengers.\n", encoding="utf-8")
    bot = Assistant(index=tmp_path / "index")
    bot.ingest([folder])
    assert "Flight 9525" in bot.retrieve("What happened to flight 9525?", top_k=1)[0].text


def test_a_read_of_more_documents_than_the_cache_holds_returns_every_chunk(tmp_path: Path):
    rows = [json.dumps({"id": f"d{i}", "title": f"Doc {i}", "text": f"Report {i} from the harbour town of Vale."})
            for i in range(300)]
    (tmp_path / "many.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    bot = Assistant(index=tmp_path / "index")
    bot.ingest([tmp_path / "many.jsonl"])
    store = bot.store
    refs = bot.keyword().locate(bot.keyword().ids)
    store._doc_cache.clear()  # a cold read, as in a new process
    got = store.read(refs)
    assert len(refs) == 300 and {c.doc_id for c in got} == {f"d{i}" for i in range(300)}
    assert all(c.text.startswith("Report ") for c in got)


def test_soft_coverage_credits_a_near_synonym_and_rerank_uses_it(tmp_path: Path):
    from assistant.retrieve.rerank import soft_coverage

    q = "How many soldiers were killed near the river?"
    died = "Four soldiers died near the river on Monday. The army said so."
    marched = "Four soldiers marched near the river on Monday. The army said so."
    exact = "Four soldiers were killed near the river on Monday."
    cov = soft_coverage(q, [died, marched, exact, ""], lambda t: 1.0)
    assert cov[2] == pytest.approx(1.0) and cov[0] > cov[1] and cov[3] == 0.0
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(marched, encoding="utf-8")
    (folder / "b.txt").write_text(died, encoding="utf-8")
    bot = Assistant(index=tmp_path / "index", rerank_weight=1.0)
    bot.ingest([folder])
    hits = bot.retrieve(q, top_k=2)
    assert [h.text for h in hits][0].startswith("Four soldiers died") and len(hits) == 2
    assert hits[0].score > hits[1].score
    with pytest.raises(ConfigError, match="ASSISTANT_RERANK_WEIGHT"):
        Settings.load(env={"ASSISTANT_RERANK_WEIGHT": "-1"})
