"""`assistant`: the command line. One module per command group registers its sub-commands."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Sequence

from assistant.cli import ask_cmds, eval_cmds, index_cmds, serve_cmds
from assistant.core.errors import AssistantError

GROUPS = (index_cmds, ask_cmds, eval_cmds, serve_cmds)
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
                        "local (Qwen2.5-1.5B, or ASSISTANT_LOCAL_MODEL, in llama.cpp's server on 127.0.0.1; needs `make local-llm`)")
    g.add_argument("--local", dest="generator", action="store_const", const="local",
                   help="shorthand for --generator local")
    g.add_argument("--model", dest="llm_model", metavar="NAME", help="LLM model name for --generator openai")
    g.add_argument("--base-url", dest="llm_base_url", metavar="URL", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1")
    g.add_argument("--policy", dest="answer_policy", choices=["refuse", "warn"],
                   help="when most sentences of an LLM answer are unsupported: refuse (default) or show with a warning")

    news = argparse.ArgumentParser(add_help=False)
    f = news.add_argument_group("filters (both retrieval sides; undated articles match no --since/--until)")
    f.add_argument("--since", metavar="DATE", help="only articles published on or after DATE (YYYY-MM-DD)")
    f.add_argument("--until", metavar="DATE", help="only articles published on or before DATE")
    f.add_argument("--outlet", metavar="NAME", help="only articles of this outlet (case-insensitive exact name)")
    f.add_argument("--as-of", dest="as_of", metavar="DATE",
                   help="answer as of DATE: nothing published after it (undated articles kept unless --since/--until)")

    parser = argparse.ArgumentParser(
        prog="assistant", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Ask questions about news articles; every answer sentence cites an exact span of an article.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for group in GROUPS:
        group.register(sub, common, news)
    return parser


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
        commands = {name: cmd for group in GROUPS for name, cmd in group.COMMANDS.items()}
        return commands[args.command](args)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        os.umask(mask)  # a caller of main() in-process gets its own umask back
