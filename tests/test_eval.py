"""`assistant eval`: the gold format, the runner over the public API, reports, thresholds
and run comparison."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, TERRITORY_Q

from assistant import Assistant
from assistant.core.errors import ConfigError
from assistant.evaluation.runner import EvalConfig, check_thresholds, evaluate, load_gold

GOLD = [
    {"id": "t1", "type": "single-article", "question": TERRITORY_Q, "answers": ["502 square kilometers"],
     "facts": ["502"], "evidence": [{"doc": "000_27f29ae969c6fbd6.txt",
                                     "quote": "with Ukraine losing 502 square kilometers in July"}]},
    {"id": "t2", "type": "unanswerable", "question": "What is the capital of Australia?", "answers": []},
    {"id": "t3", "type": "follow-up", "turns": ["Who is Samuel Charap?"], "question": "What did he say about the leverage?",
     "answers": ["keep the fighting ongoing while they're talking"], "facts": ["leverage"],
     "evidence": [{"doc": "003_64c2f9a090f76fdc.txt", "quote": "the leverage is to keep the fighting ongoing"}]},
    {"id": "t4", "type": "single-article", "question": "How many people did the attack on Kyiv kill?",
     "answers": ["31 people"], "facts": ["31", "elephants"],  # an impossible fact: this one must fail
     "evidence": [{"doc": "000_27f29ae969c6fbd6.txt", "quote": "A recent attack on Kyiv killed 31 people"}]},
]


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(json.dumps(g) for g in GOLD) + "\n", encoding="utf-8")
    return path


def test_gold_validation_names_the_line(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok?", "answers": ["x"]}\n{"question": "q", "type": "nonsense"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.jsonl:2: type 'nonsense'"):
        load_gold(bad)
    bad.write_text('{"question": "q?", "type": "follow-up", "answers": ["x"]}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="turns"):
        load_gold(bad)


def test_runner_scores_every_section(bot: Assistant, gold: Path):
    report = evaluate(bot, load_gold(gold))
    m = report["metrics"]
    assert m["retrieval"]["n"] == 3 and m["retrieval"]["hit@k"] == 1.0
    assert m["refusals"] == {"precision": 1.0, "recall": 1.0, "false_refusal_rate": 0.0, "unanswerable": 1}
    assert m["citations"]["span_exactness"] == 1.0 and m["citations"]["recall"] == 1.0
    assert m["answers"]["fact_coverage"] == pytest.approx((1 + 1 + 0.5) / 3, abs=1e-3)
    assert report["failed"] == ["t4"]  # the impossible fact
    items = {r["id"]: r for r in report["items"]}
    assert items["t3"]["answer"] and "leverage" in items["t3"]["answer"]
    assert set(m["latency_ms"]) >= {"retrieve", "generate", "cite", "total"}
    assert items["t1"]["contains"] == 1.0 and items["t1"]["em"] == 0.0  # a sentence, not the bare span


def test_cli_writes_reports_and_fails_on_a_regression(seeded_index: Path, gold: Path, tmp_path: Path):
    config = tmp_path / "gate.toml"
    config.write_text('[thresholds.min]\n"retrieval.hit@k" = 0.9\n"answers.fact_coverage" = 0.99\n'
                      '[thresholds.max]\n"refusals.false_refusal_rate" = 0.0\n', encoding="utf-8")
    out = tmp_path / "run1"
    run = subprocess.run([sys.executable, "-m", "assistant", "eval", str(gold), "--index", str(seeded_index),
                          "--config", str(config), "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert run.returncode == 3, run.stderr
    assert "answers.fact_coverage" in run.stderr and "retrieval.hit@k" not in run.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["metrics"]["retrieval"]["hit@k"] == 1.0
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    assert "## failed questions (1)" in md and "t4" in md
    assert "<svg" in page and "How many people did the attack on Kyiv kill?" in page

    ok = tmp_path / "ok.toml"
    ok.write_text('[thresholds.min]\n"retrieval.hit@k" = 0.9\n', encoding="utf-8")
    again = subprocess.run([sys.executable, "-m", "assistant", "eval", str(gold), "--index", str(seeded_index),
                            "--config", str(ok), "--out", str(tmp_path / "run2"), "--top-k", "3"],
                           capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert again.returncode == 0, again.stderr
    cmp = subprocess.run([sys.executable, "-m", "assistant", "eval", "--compare", str(out), str(tmp_path / "run2")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert cmp.returncode == 0 and "| retrieval.hit@k | 1.000 | 1.000 | +0 |" in cmp.stdout


def test_thresholds_on_unknown_metrics_are_reported():
    problems = check_thresholds({"metrics": {"answers": {"f1": 0.5}}}, EvalConfig(minimum={"answers.f2": 0.1}))
    assert problems and "no such metric" in problems[0]


def test_seed_gold_set_passes_the_ci_gate(tmp_path: Path):
    """What CI runs: the shipped gold set on the seeds, with the shipped thresholds."""
    items = load_gold(ROOT / "evals" / "seeds_gold.jsonl")
    kinds = {i.type for i in items}
    assert len(items) >= 40 and kinds == {"single-article", "multi-article", "unanswerable", "paraphrase", "follow-up"}
    for item in items:  # every evidence quote is exact text of its seed
        for doc, quote in item.evidence:
            assert quote in (SEEDS / doc).read_text(encoding="utf-8"), (item.id, quote)
    run = subprocess.run([sys.executable, "-m", "assistant", "eval", "evals/seeds_gold.jsonl", "--config",
                          "evals/ci.toml", "--index", str(tmp_path / "index"), "--out", str(tmp_path / "run")],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["run"]["items"] == len(items) and report["metrics"]["errors"] == 0


class _Scripted:
    """A real assistant whose final answers are rewritten: `keep(passages)` picks the passages
    the answer was built from, `replies` maps a question to the answer text (None = refuse).
    Retrieving a second time fails: the evaluation must score the passages the answer carries."""

    def __init__(self, bot: Assistant, keep=lambda ps: ps, replies: dict | None = None) -> None:
        self._bot, self._keep, self._replies, self.settings = bot, keep, replies, bot.settings

    def document(self, doc_id: str):
        return self._bot.document(doc_id)

    def retrieve(self, *args, **kwargs):
        raise AssertionError("evaluate retrieved again instead of scoring answer.passages")

    def ask(self, question: str, history=()):
        import dataclasses

        answer = self._bot.ask(question, history=history)
        kept = [dataclasses.replace(p, rank=i) for i, p in enumerate(self._keep(list(answer.passages)), start=1)]
        answer = dataclasses.replace(answer, passages=tuple(kept))
        if self._replies is not None:
            text = self._replies[question]
            answer = dataclasses.replace(answer, answer=text or "", refused=text is None, citations=(), sentences=())
        return answer


def test_report_has_results_per_question_type(bot: Assistant, gold: Path):
    replies = {TERRITORY_Q: "Ukraine lost 502 square kilometers in July.", "What is the capital of Australia?": None,
               "Who is Samuel Charap?": "An analyst.", "What did he say about the leverage?": "The leverage is the war.",
               "How many people did the attack on Kyiv kill?": "It killed 31 people."}
    by_type = evaluate(_Scripted(bot, replies=replies), load_gold(gold))["by_type"]
    assert set(by_type) == {"single-article", "unanswerable", "follow-up"}
    assert by_type["single-article"]["n"] == 2 and by_type["single-article"]["right"] == 0.5  # t4 cannot be right
    assert by_type["single-article"]["refused"] == 0.0 and by_type["single-article"]["failed"] == 1
    assert by_type["unanswerable"] == {"n": 1, "right": 1.0, "refused": 1.0, "failed": 0}
    assert by_type["follow-up"]["right"] == 1.0 and by_type["follow-up"]["refused"] == 0.0
    replies["What is the capital of Australia?"] = "Canberra."
    replies[TERRITORY_Q] = None
    by_type = evaluate(_Scripted(bot, replies=replies), load_gold(gold))["by_type"]
    assert by_type["unanswerable"]["right"] == 0.0 and by_type["unanswerable"]["refused"] == 0.0
    assert by_type["single-article"]["right"] == 0.0 and by_type["single-article"]["refused"] == 0.5


def test_retrieval_metrics_score_the_passages_the_answer_used(bot: Assistant, gold: Path):
    items = [i for i in load_gold(gold) if i.id == "t1"]
    quote = items[0].evidence[0][1]

    def holds(p) -> bool:
        return quote in " ".join(p.text.split())

    passages = bot.ask(items[0].question).passages
    has = [holds(p) for p in passages]
    assert any(has) and not all(has)

    first = evaluate(_Scripted(bot, keep=lambda ps: sorted(ps, key=lambda p: not holds(p))), items)
    assert first["metrics"]["retrieval"]["hit@1"] == 1.0 and first["metrics"]["retrieval"]["mrr"] == 1.0
    without = evaluate(_Scripted(bot, keep=lambda ps: [p for p in ps if not holds(p)]), items)
    assert without["metrics"]["retrieval"]["hit@k"] == 0.0 and without["metrics"]["retrieval"]["mrr"] == 0.0
    last = evaluate(_Scripted(bot, keep=lambda ps: sorted(ps, key=holds)), items)
    assert last["metrics"]["retrieval"]["hit@1"] == 0.0 and last["metrics"]["retrieval"]["hit@k"] == 1.0
    assert last["metrics"]["retrieval"]["mrr"] == pytest.approx(1 / (len(has) - sum(has) + 1))
    assert [r["doc_id"] for r in without["items"][0]["retrieved"]] == [p.doc_id for p in passages if not holds(p)][:5]


def test_filters_from_the_config_and_per_question(tmp_path: Path):
    news = ROOT / "tests" / "data" / "news" / "dated.jsonl"
    config = tmp_path / "news.toml"
    config.write_text('[filters]\nsince = "2025-03-01"\n', encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(g) for g in [
        {"id": "n1", "question": "What happened to the tolls on the harbor bridge?", "answers": ["three dollars"]},
        {"id": "n2", "question": "What happened to the tolls on the harbor bridge?", "answers": ["three dollars"],
         "filters": {"outlet": "elden gazette"}}]) + "\n", encoding="utf-8")
    loaded = EvalConfig.load(config)
    assert loaded.filters == (("since", "2025-03-01"),)
    items = load_gold(gold)
    assert items[1].filters == (("outlet", "elden gazette"),)
    bot = Assistant(index=tmp_path / "index")
    bot.ingest([news])
    report = evaluate(bot, items, filters=loaded.filters)
    first, second = report["items"]
    assert first["retrieved"] and all(r["doc_id"] != "harbor-6" for r in first["retrieved"])  # February: filtered out
    assert {r["doc_id"] for r in second["retrieved"]} <= {"harbor-1", "harbor-3"}  # the Gazette, since March 1
    assert report["run"]["filters"] == {"since": "2025-03-01"}
    config.write_text('[filters]\nuntil = "someday"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        EvalConfig.load(config)
