"""Date and outlet filters (assistant.retrieve.filters) through the real pipeline: embedded Chroma,
BM25 and `Assistant.retrieve`/`ask`. A filtered question never sees an article outside
the filter, however selective the filter is."""
from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.core.errors import InvalidFilter
from assistant.retrieve.filters import Filters

OUTLETS = ["Elden Gazette", "Coastal Herald", "Bay Times", "Valley Ledger"]
TOPICS = ["harbor bridge repairs", "ferry timetable", "council budget vote", "market hall roof",
          "school choir contest", "tram line plan", "orchard harvest", "library opening hours"]
START = date(2025, 1, 1)


def _corpus(path: Path, n: int = 48, seed: int = 7) -> dict[str, dict]:
    """`n` short articles on overlapping topics, with random days in the first half of 2025,
    random outlets, and every sixth one undated or without an outlet."""
    rng = random.Random(seed)
    rows = {}
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        row = {"id": f"a{i:02d}", "title": f"Report {i} on the {topic}",
               "text": f"Port Elden news about the {topic}. Officials gave figure {rng.randint(10, 999)} "
                       f"for the {topic} on the day, and residents of Port Elden discussed the {topic} at length."}
        if i % 6 != 5:
            row["published"] = (START + timedelta(days=rng.randrange(180))).isoformat()
        if i % 6 != 4:
            row["outlet"] = rng.choice(OUTLETS)
        rows[row["id"]] = row
    path.write_text("\n".join(json.dumps(r) for r in rows.values()) + "\n", encoding="utf-8")
    return rows


@pytest.fixture(scope="module")
def news(tmp_path_factory):
    root = tmp_path_factory.mktemp("filters")
    rows = _corpus(root / "articles.jsonl")
    bot = Assistant(index=root / "index")
    report = bot.ingest([root / "articles.jsonl"])
    assert len(report.added) == len(rows)
    return bot, rows


def _passes(row: dict, f: Filters) -> bool:
    day = date.fromisoformat(row["published"]) if "published" in row else None
    if day is None:
        if f.dated:
            return False
    else:
        if f.since and day < f.since or f.upper and day > f.upper:
            return False
    return f.outlet is None or row.get("outlet", "").casefold() == f.outlet


def test_random_filters_never_leak_and_find_what_matches(news):
    bot, rows = news
    rng = random.Random(20250304)
    for trial in range(30):
        a, b = sorted(rng.randrange(-10, 190) for _ in range(2))
        kwargs = {}
        if rng.random() < 0.7:
            kwargs["since"] = (START + timedelta(days=a)).isoformat()
        if rng.random() < 0.7:
            kwargs["until"] = (START + timedelta(days=b)).isoformat()
        if rng.random() < 0.4:
            kwargs["outlet"] = rng.choice(OUTLETS).upper() if rng.random() < 0.5 else rng.choice(OUTLETS)
        if rng.random() < 0.3:
            kwargs["as_of"] = (START + timedelta(days=rng.randrange(0, 190))).isoformat()
        try:
            f = Filters.parse(**kwargs)
        except InvalidFilter:
            continue  # as_of before since: an empty range, refused
        question = f"What happened with the {rng.choice(TOPICS)}?"
        got = bot.retrieve(question, top_k=8, **kwargs)
        allowed = {i for i, r in rows.items() if f is None or _passes(r, f)}
        assert {p.doc_id for p in got} <= allowed, (trial, kwargs)
        assert len(got) == min(8, len(allowed)), (trial, kwargs)  # however selective: never starved


def test_a_filter_matching_one_article_finds_it_for_an_unrelated_question(news):
    bot, rows = news
    row = next(r for r in rows.values() if "published" in r and "outlet" in r)
    same_day = [r for r in rows.values() if r.get("published") == row["published"] and r.get("outlet") == row["outlet"]]
    got = bot.retrieve("completely unrelated words about volcanoes", top_k=5, since=row["published"],
                       until=row["published"], outlet=row["outlet"].lower())
    assert {p.doc_id for p in got} == {r["id"] for r in same_day}
    assert all(p.published == row["published"] and p.outlet == row["outlet"] for p in got)


def test_as_of_alone_keeps_undated_articles_and_a_range_drops_them(news):
    bot, rows = news
    undated = {i for i, r in rows.items() if "published" not in r}
    got = bot.retrieve("Port Elden news", top_k=50, as_of="2025-12-31")
    assert undated <= {p.doc_id for p in got}
    got = bot.retrieve("Port Elden news", top_k=50, since="2024-01-01")
    assert not undated & {p.doc_id for p in got}


def test_ask_applies_filters_and_citations_carry_date_and_outlet(news):
    bot, rows = news
    answer = bot.ask("What figure did officials give for the ferry timetable?", outlet="bay times")
    assert answer.passages and all(p.outlet == "Bay Times" for p in answer.passages)
    for c in answer.citations:
        assert c.outlet == "Bay Times" and c.published == rows[c.doc_id].get("published") and c.also_in == ()


@pytest.mark.parametrize("kwargs", [{"since": "yesterday-ish"}, {"until": "2025-13-45"}, {"as_of": "soon"},
                                    {"since": "2025-03-10", "until": "2025-03-01"}, {"outlet": 42}])
def test_bad_filters_raise_a_typed_error_naming_the_fix(news, kwargs):
    bot, _ = news
    with pytest.raises(InvalidFilter) as e:
        bot.ask("What happened?", **kwargs)
    assert any(word in str(e.value) for word in ("YYYY-MM-DD", "swap", "outlet"))


def test_where_clauses():
    assert Filters.parse() is None
    f = Filters.parse(since="2025-03-01", outlet=" Reuters ")
    assert f.where() == {"$and": [{"day": {"$gte": date(2025, 3, 1).toordinal()}}, {"outlet": {"$eq": "reuters"}}]}
    assert Filters.parse(as_of="March 4, 2025").where() == {"day": {"$lte": date(2025, 3, 4).toordinal()}}
    until = Filters.parse(until="2025-03-04")
    assert until.where() == {"$and": [{"day": {"$gte": 1}}, {"day": {"$lte": date(2025, 3, 4).toordinal()}}]}
    assert not until.allows(0, None) and Filters.parse(as_of="2025-03-04").allows(0, None)


def test_an_index_written_before_the_filter_keys_still_works_and_repair_adds_them(tmp_path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    news = Path(__file__).parent / "data" / "news" / "dated.jsonl"
    index = tmp_path / "index"
    Assistant(index=index).ingest([news])
    client = chromadb.PersistentClient(path=str(index), settings=ChromaSettings(anonymized_telemetry=False))
    chunks = client.get_collection("articles")
    ids = chunks.get(include=[])["ids"]
    chunks.update(ids=ids, metadatas=[{"day": None, "outlet": None} for _ in ids])  # as an older version wrote them
    assert all("day" not in m for m in chunks.get(include=["metadatas"])["metadatas"])

    old = Assistant(index=index)
    assert not old.ask("How much did the harbor bridge repairs cost?").refused
    got = old.retrieve("ship models whaling museum", since="2025-03-10", until="2025-03-20")
    assert {p.doc_id for p in got} <= {"harbor-2", "harbor-3"}  # no leak; the dense side cannot see old chunks' dates
    old.repair()
    repaired = Assistant(index=index)
    got = repaired.retrieve("ship models whaling museum", since="2025-03-10", until="2025-03-20", outlet="Elden Gazette")
    assert [p.doc_id for p in got] == ["harbor-3"]
