"""Checks on text that users type (questions, topics) before anything is looked up."""
from __future__ import annotations

from assistant.core.errors import InvalidQuestion


def one_line(text: str | None, what: str, limit: int, hint: str) -> str:
    """`text` with its whitespace collapsed; InvalidQuestion when it is empty or too long."""
    text = " ".join((text or "").split())
    if not text:
        raise InvalidQuestion(f"the {what} is empty: {hint}")
    if len(text) > limit:
        raise InvalidQuestion(f"the {what} is longer than {limit} characters: shorten it")
    return text
