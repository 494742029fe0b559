"""Prompt templates, read from the `prompts/` directory (files, not code)."""
from __future__ import annotations

from pathlib import Path

from .errors import ConfigError

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "prompts"


def load_prompt(name: str, directory: Path | None = None) -> str:
    """The text of `prompts/<name>.md`; ConfigError names the missing file."""
    path = (directory or DEFAULT_DIR) / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        raise ConfigError(f"prompt template prompts/{name}.md is missing; restore it from the repository") from None
