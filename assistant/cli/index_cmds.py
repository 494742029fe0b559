"""`assistant ingest`, `repair` and `docs`: building and inspecting the index."""
from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from assistant.cli.shared import format_report, make_assistant
from assistant.core.data import to_dict


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser, news: argparse.ArgumentParser) -> None:
    """Add this group's sub-commands to `sub`."""
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
    p = sub.add_parser("docs", parents=[common], help="list, show or delete indexed documents")
    dsub = p.add_subparsers(dest="docs_command", metavar="ACTION")
    d = dsub.add_parser("list", parents=[common], help="list documents (the default)")
    d.add_argument("--json", action="store_true")
    d = dsub.add_parser("show", parents=[common], help="print one document's text")
    d.add_argument("doc_id")
    d = dsub.add_parser("delete", parents=[common], help="remove a document and its chunks")
    d.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    p.add_argument("--json", action="store_true")


def cmd_ingest(args: argparse.Namespace) -> int:
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


COMMANDS = {"ingest": cmd_ingest, "repair": cmd_repair, "docs": cmd_docs}
