"""`assistant eval-news`: the news QA gold set over HaluEval's CNN/DailyMail articles is
well-formed, and the runner builds its distractor corpus and reports per question type."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from assistant.core.errors import ConfigError
from assistant.evaluation import newsqa
from assistant.evaluation.runner import load_gold

GOLD = ROOT / "evals" / "news_gold.jsonl"
STOP = set("a an the of in on at to for from by with and or is are was were be been did do does what which who whom "
           "whose when where why how many much long old it its his her their he she they this that as after before "
           "into about than any each s".split())


@pytest.fixture(scope="module")
def raw() -> list[dict]:
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def articles(raw: list[dict]) -> dict[int, str]:
    return newsqa.read_articles(1, max(r["article_line"] for r in raw))


def _terms(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP}


def _sentence(doc: str, quote: str) -> str:
    """The sentence(s) of `doc` holding `quote`."""
    i = doc.index(quote)
    j = i + len(quote)
    starts = [m.end() for m in re.finditer(r"[.!?]['\"’”]?\s+", doc[:i])]
    a = starts[-1] if starts else 0
    m = re.search(r"[.!?]['\"’”]?(\s|$)", doc[max(j - 1, a):])
    return doc[a:max(j - 1, a) + m.end()] if m else doc[a:]


def test_gold_set_shape(raw: list[dict]):
    items = load_gold(GOLD)  # the evaluator accepts it
    assert len(items) == len(raw) >= 110
    kinds = {r["type"] for r in raw}
    assert kinds == {"single-article", "paraphrase", "multi-sentence", "unanswerable"}
    lines = {r["article_line"] for r in raw}
    assert len(lines) >= 32 and all(1 <= n <= newsqa.LAST_LINE for n in lines)
    by_split = {s: {r["article_line"] for r in raw if r["split"] == s} for s in ("dev", "test")}
    assert by_split["dev"].isdisjoint(by_split["test"]) and by_split["dev"] | by_split["test"] == lines
    assert max(by_split["dev"]) <= 4000 < min(by_split["test"])  # dev lines 1-4,000, test 4,001-5,000
    assert 0.2 <= sum(r["split"] == "test" for r in raw) / len(raw) <= 0.3
    assert 0.2 <= sum(r["type"] == "unanswerable" for r in raw) / len(raw) <= 0.3
    assert sum(r["type"] == "multi-sentence" for r in raw) >= 15
    assert {i.split for i in items} == {"dev", "test"}


def test_evidence_is_exact_text_of_the_named_article(raw: list[dict], articles: dict[int, str]):
    for r in raw:
        doc = articles[r["article_line"]]
        if r["type"] == "unanswerable":
            assert not r["answers"] and not r["evidence"] and not r["facts"], r["id"]
            continue
        assert r["answers"] and r["facts"] and r["evidence"], r["id"]
        for e in r["evidence"]:
            assert e["doc"] == newsqa.doc_id(r["article_line"]), r["id"]
            assert e["quote"] in doc, (r["id"], e["quote"])
        for fact in r["facts"]:  # what an answer must contain is in the article
            assert fact.lower() in doc.lower(), (r["id"], fact)
        if r["type"] == "multi-sentence":
            assert len(r["evidence"]) >= 2, r["id"]


def test_most_answerable_questions_are_asked_in_other_words(raw: list[dict], articles: dict[int, str]):
    """Overlap = share of a question's content terms (stop words out, 5-letter stems) found in
    the sentences that hold its evidence. At least half the answerable questions must reuse at
    most half of their terms, and those labelled paraphrase must reuse fewer than the rest."""
    overlap = {}
    for r in raw:
        if r["type"] != "unanswerable":
            q = _terms(r["question"])
            evidence = " ".join(_sentence(articles[r["article_line"]], e["quote"]) for e in r["evidence"])
            overlap[r["id"]] = len(q & _terms(evidence)) / len(q)
    low = sum(v <= 0.5 for v in overlap.values()) / len(overlap)
    assert low >= 0.5, low
    kind = {r["id"]: r["type"] for r in raw}
    para = [v for i, v in overlap.items() if kind[i] == "paraphrase"]
    rest = [v for i, v in overlap.items() if kind[i] == "single-article"]
    assert len(para) >= len(overlap) / 2 - 1 and sum(para) / len(para) < sum(rest) / len(rest) - 0.15


def test_articles_past_line_5000_are_never_read():
    with pytest.raises(ConfigError, match="1-5000"):
        newsqa.read_articles(4990, 5001)


def test_smoke_run_selects_gold_articles_plus_n_others():
    assert newsqa.select_lines({7, 30}, 100, 3) == [1, 2, 3, 7, 30]
    assert newsqa.select_lines({2}, 5, None) == [1, 2, 3, 4, 5]


def test_runner_indexes_the_corpus_once_and_reports_by_type(raw: list[dict], tmp_path: Path):
    picks = [next(r for r in raw if r["split"] == "dev" and r["type"] == t)
             for t in ("paraphrase", "multi-sentence", "unanswerable")]
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(json.dumps(r) + "\n" for r in picks), encoding="utf-8")
    out = tmp_path / "run"
    result = newsqa.run_news(out, split="dev", gold=sample, limit_articles=20)
    corpus = result["run"]["corpus"]
    gold_lines = {r["article_line"] for r in picks}
    assert corpus["documents"] == 20 + len(gold_lines) and corpus["added"] == corpus["documents"]
    ids = [json.loads(line)["id"] for line in (out / newsqa.CORPUS_NAME).read_text().splitlines()]
    assert {newsqa.doc_id(n) for n in gold_lines} <= set(ids) and len(ids) == len(set(ids))
    assert set(result["by_type"]) == {"paraphrase", "multi-sentence", "unanswerable"}
    for t, v in result["by_type"].items():
        assert v["n"] == 1 and 0.0 <= v["right"] <= 1.0 and 0.0 <= v["refused"] <= 1.0, t
    assert result["run"]["items"] == 3 and result["metrics"]["retrieval"]["n"] == 2
    report = json.loads((out / "report.json").read_text())
    assert report["by_type"] == result["by_type"] and (out / "report.md").is_file()

    run = subprocess.run([sys.executable, "-m", "assistant", "eval-news", str(sample), "--out", str(out),
                          "--limit-articles", "20", "--split", "test"], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert run.returncode == 1 and "no test questions" in run.stderr  # the sample holds dev questions only
    again = newsqa.run_news(out, split="all", gold=sample, limit_articles=20)
    assert again["run"]["corpus"]["added"] == 0 and again["run"]["corpus"]["unchanged"] == corpus["documents"]


def test_removal_mode_restores_every_passage(tmp_path: Path):
    from assistant import Assistant
    from assistant.evaluation.halueval import run_removal

    results = run_removal(1, 4, tmp_path)
    assert results["questions"] == 4 and 0.0 <= results["refusal_rate"] <= 1.0
    assert results["refusal_rate"] + results["answered_with_right_answer"] <= 1.0
    assert len(Assistant(index=tmp_path / "index").documents()) == results["documents"]
