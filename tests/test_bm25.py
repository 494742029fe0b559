"""The incremental BM25 index: segments, replacement, deletion, merging and its cache on
disk behave exactly like an index built once from the final texts; and it follows writes
made by another Assistant (another process's view) by indexing only what changed."""
import math
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from assistant.core.text import terms
from assistant.index.bm25 import K1, B, KeywordIndex

WORDS = ("harbour cod tonnes fleet minister budget rail strike court ruling drought wheat price "
         "election senate vote storm flood bridge museum painting theft vaccine trial hospital").split()


def corpus(seed: int, n_docs: int) -> dict[str, list[tuple[str, str]]]:
    rng = np.random.default_rng(seed)
    docs = {}
    for d in range(n_docs):
        chunks = []
        for c in range(int(rng.integers(1, 4))):
            words = rng.choice(WORDS, size=int(rng.integers(5, 30)))
            chunks.append((f"d{d}-{seed}-{c}", " ".join(words) + "."))
        docs[f"d{d}"] = chunks
    return docs


QUERIES = ["cod harbour tonnes", "court ruling on the rail strike", "storm flood bridge", "wheat price drought",
           "vaccine trial hospital", "museum painting theft", "zebra"]


def results(index: KeywordIndex) -> list[list[tuple[str, float]]]:
    return [[(cid, round(score, 4)) for cid, score in index.search(q, 10)] for q in QUERIES]


def test_incremental_changes_equal_a_fresh_build(tmp_path: Path):
    first, second = corpus(1, 30), corpus(2, 30)
    grown = KeywordIndex()
    grown.add((d, "h1", chunks) for d, chunks in first.items())
    grown.add((d, "h2", second[d]) for d in ["d3", "d4", "d5"])    # replaced documents
    grown.remove(["d7", "d8"])                                       # deleted documents
    grown.add((f"x{d}", "h3", [(f"x{cid}", t) for cid, t in chunks]) for d, chunks in second.items() if d < "d2")
    final = {**first, "d3": second["d3"], "d4": second["d4"], "d5": second["d5"]}
    del final["d7"], final["d8"]
    final.update({f"x{d}": [(f"x{cid}", t) for cid, t in chunks] for d, chunks in second.items() if d < "d2"})
    fresh = KeywordIndex()
    fresh.add((d, "h", chunks) for d, chunks in final.items())

    assert len(grown.segments) == 3 and grown.size == fresh.size == sum(len(c) for c in final.values())
    assert sorted(grown.ids) == sorted(fresh.ids)
    assert results(grown) == results(fresh) and any(results(fresh))
    assert grown.idf("cod") == pytest.approx(fresh.idf("cod"))
    grown.compact()
    assert len(grown.segments) == 1 and len(grown.row_ids) == fresh.size
    assert results(grown) == results(fresh)
    assert grown.save(tmp_path / "bm25")
    loaded = KeywordIndex.load(tmp_path / "bm25")
    assert loaded is not None and results(loaded) == results(fresh)


def test_scores_follow_the_bm25_formula():
    index = KeywordIndex()
    texts = {"a": "cod cod harbour", "b": "harbour fleet fleet fleet minister", "c": "budget vote"}
    index.add((d, "h", [(d + "-0", t)]) for d, t in texts.items())
    lens = {d: len(terms(t)) for d, t in texts.items()}
    avgdl = sum(lens.values()) / 3
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # "harbour" is in two of three chunks
    expect = {d: idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * lens[d] / avgdl)) for d, tf in (("a", 1), ("b", 1))}
    got = dict(index.search("harbour", 5))
    assert set(got) == {"a-0", "b-0"}
    assert got["a-0"] == pytest.approx(expect["a"], rel=1e-5) and got["b-0"] == pytest.approx(expect["b"], rel=1e-5)


def test_many_small_additions_are_merged_and_a_torn_cache_is_ignored(tmp_path: Path):
    index = KeywordIndex()
    docs = corpus(3, 40)
    for d, chunks in docs.items():
        index.add([(d, "h", chunks)])
    assert len(index.segments) <= 9 and index.size == sum(len(c) for c in docs.values())
    fresh = KeywordIndex()
    fresh.add((d, "h", c) for d, c in docs.items())
    assert results(index) == results(fresh)
    index.save(tmp_path / "bm25")
    (tmp_path / "bm25" / "manifest.json").write_text('{"format": 2, "segments": ["seg-gone"]')
    assert KeywordIndex.load(tmp_path / "bm25") is None


def _articles(folder: Path, n: int, start: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        (folder / f"n{i:04d}.txt").write_text(
            f"Harbour report number {i}\n\nThe harbour of town {i} landed {100 + i} tonnes of cod this week, "
            f"the port authority said. Fishers in town {i} expect a busy season. The mayor of town {i} "
            f"opened a new pier on Tuesday.\n", encoding="utf-8")


@pytest.mark.slow
def test_worker_ingest_matches_in_process_ingest(tmp_path: Path):
    folder = tmp_path / "docs"
    _articles(folder, 240)  # above the size at which the worker process is used
    parallel = Assistant(index=tmp_path / "p", ingest_workers=1)
    inline = Assistant(index=tmp_path / "i", ingest_workers=0)
    seen: list[str] = []
    report = parallel.ingest([folder], on_document=lambda d, s: seen.append(s))
    assert len(report.added) == 240 and not report.skipped and seen == ["added"] * 240
    assert len(inline.ingest([folder]).added) == 240
    assert sorted(parallel.store.chunk_ids()) == sorted(inline.store.chunk_ids())
    assert parallel.keyword().size == len(parallel.store.chunk_ids()) == report.chunks_added
    answer = parallel.ask("How many tonnes of cod did the harbour of town 123 land?")
    assert not answer.refused and "223 tonnes" in answer.answer
    assert parallel.retrieve("town 123 cod")[0].text == inline.retrieve("town 123 cod")[0].text
    again = Assistant(index=tmp_path / "p", ingest_workers=1).ingest([folder])
    assert len(again.unchanged) == 240 and not again.added


def test_bm25_follows_another_writer_by_indexing_only_the_change(tmp_path: Path):
    folder = tmp_path / "docs"
    _articles(folder, 12)
    reader = Assistant(index=tmp_path / "index")
    reader.ingest([folder])
    before = reader.keyword()
    rows = len(before.row_ids)
    _articles(folder, 1, start=500)
    writer = Assistant(index=tmp_path / "index")
    added = writer.ingest([folder])
    assert len(added.added) == 1 and len(added.unchanged) == 12
    after = reader.keyword()  # the writer's saved index, whose stamp matches the store's
    assert after.stamp == reader.store.stamp() and after.size == rows + added.chunks_added
    _articles(folder, 1, start=600)
    more = writer.ingest([folder])
    import shutil
    shutil.rmtree(writer.index.cache_dir)  # no saved copy (as for a client of a shared Chroma server)
    caught = reader.keyword()
    assert len(caught.row_ids) == rows + added.chunks_added + more.chunks_added
    assert reader.retrieve("town 500 cod harbour")[0].text.count("town 500") >= 1
    writer.delete(added.added[0])
    writer.delete(more.added[0])
    assert reader.keyword().size == rows and not any("town 500" in p.text for p in reader.retrieve("town 500"))


def test_a_copy_saved_in_an_older_format_is_rebuilt_from_the_store(tmp_path: Path):
    """A BM25 copy written by an older tokenizer ("1,200" was two terms) is never loaded: the
    format check makes `load` return None and the index re-syncs every document from Chroma."""
    import hashlib
    import json
    import re

    from assistant.core.text import word_terms
    from assistant.index import bm25 as keyword

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Ferry Strike\n\nThe ferry strike left 1,200 passengers stranded in Kirkwall.\n")
    (folder / "b.txt").write_text("Harbour Fees\n\nThe harbour raised fees by 1 per cent and 200 boats protested.\n")
    Assistant(index=tmp_path / "index").ingest([folder])
    bot = Assistant(index=tmp_path / "index")
    store, cache = bot.store, bot.index.cache_dir

    def old_terms(text: str) -> str:  # the format-4 tokenizer: digits split at every comma
        return " ".join(t for w in re.findall(r"[\w][\w'’\-]*", text) for t in word_terms(w))

    def save_old_copy(fmt: int) -> None:
        stale = KeywordIndex()
        grouped: dict[str, list] = {}
        hashes = {}
        for cid, doc, h, text, a, b in store.chunk_texts(sorted(store.doc_hashes())):
            grouped.setdefault(doc, []).append((cid, old_terms(text), a, b))
            hashes[doc] = h
        stale.add(((d, hashes[d], c) for d, c in grouped.items()), tokenized=True)
        stale.stamp = store.stamp()
        import shutil
        shutil.rmtree(cache)
        assert stale.save(cache)
        outer = json.loads((cache / "manifest.json").read_text())
        body = json.dumps(json.loads(outer["body"]) | {"format": fmt}, sort_keys=True)
        (cache / "manifest.json").write_text(json.dumps({"body": body,
                                                          "sha256": hashlib.sha256(body.encode()).hexdigest()}))

    save_old_copy(keyword.FORMAT)  # control: a same-format copy with the current stamp is trusted as is
    assert "1200" not in Assistant(index=tmp_path / "index").keyword().vocab
    save_old_copy(keyword.FORMAT - 1)
    assert KeywordIndex.load(cache) is None
    fresh = Assistant(index=tmp_path / "index")
    index = fresh.keyword()
    assert "1200" in index.vocab and index.size == len(store.chunk_ids())
    assert fresh.retrieve("1,200 passengers", top_k=1)[0].text.count("1,200") == 1
    assert json.loads(json.loads((cache / "manifest.json").read_text())["body"])["format"] == keyword.FORMAT
    assert KeywordIndex.load(cache) is not None  # the rebuilt copy was saved
