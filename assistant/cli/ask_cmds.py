"""`assistant ask`, `timeline` and `chat`: questions from the terminal."""
from __future__ import annotations

import argparse
import json
import sys

from assistant.cli.shared import filters_of, format_answer, make_assistant
from assistant.core.data import to_dict
from assistant.core.errors import AssistantError
from assistant.retrieve.filters import Filters


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser, news: argparse.ArgumentParser) -> None:
    """Add this group's sub-commands to `sub`."""
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


def cmd_ask(args: argparse.Namespace) -> int:
    answer = make_assistant(args).ask(args.question, **filters_of(args))
    print(json.dumps(to_dict(answer), ensure_ascii=False, indent=2) if args.json else format_answer(answer))
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    entries = make_assistant(args).timeline(args.topic, limit=max(1, args.limit), **filters_of(args))
    if args.json:
        print(json.dumps(to_dict(entries), ensure_ascii=False, indent=2))
        return 0
    if not entries:
        print(f"nothing in the articles mentions {args.topic!r}" + (" within the filters" if any(filters_of(args).values())
                                                                   else ""))
    for e in entries:
        when = (e.date or "undated") + ("*" if e.dated_by == "sentence" else "")
        also = f" (also in {len(e.also_in)} more)" if e.also_in else ""
        print(f"{when:<12} {e.outlet or e.title[:30]}{also}\n    “{e.quote}” ({e.doc_id}, chars {e.start}-{e.end})")
    if any(e.dated_by == "sentence" for e in entries):
        print("* dated by the sentence itself (a relative date resolved against the article's date)")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    Filters.parse(**filters_of(args))  # a bad date fails once, before the conversation
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
            answer = bot.ask(question, history=history, **filters_of(args))
        except AssistantError as e:
            print(f"error: {e}", file=sys.stderr)
            continue
        print(format_answer(answer) + "\n")
        history.append((question, answer.answer))


COMMANDS = {"ask": cmd_ask, "timeline": cmd_timeline, "chat": cmd_chat}
