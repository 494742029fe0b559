"""Checks on text that users type (questions, topics) before anything is looked up."""
from __future__ import annotations

from assistant.core.errors import InvalidQuestion
from assistant.core.text import INVALID_UNICODE, has_lone_surrogate


def one_line(text: str | None, what: str, limit: int, hint: str) -> str:
    """`text` with its whitespace collapsed; InvalidQuestion when it is empty, too long or
    not valid Unicode (a lone surrogate)."""
    text = " ".join((text or "").split())
    if has_lone_surrogate(text):
        raise InvalidQuestion(f"the {what} contains {INVALID_UNICODE}: remove that character and send it again")
    if not text:
        raise InvalidQuestion(f"the {what} is empty: {hint}")
    if len(text) > limit:
        raise InvalidQuestion(f"the {what} is longer than {limit} characters: shorten it")
    return text
