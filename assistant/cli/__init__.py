"""The command line: `main` is the `assistant` entry point."""
from assistant.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
