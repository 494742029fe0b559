"""Defences against hostile article text (indirect prompt injection).

- `is_instruction`: a sentence addressed to an AI assistant ("ignore previous
  instructions", "reply only ...", "append this link ..."). Such sentences are never
  evidence: the checker does not accept them as support and the extractive answerer
  never quotes them, so an answer that obeys them loses its citations.
- `strip_links`: Markdown images and links, and bare URLs, to hosts outside an allowlist
  are removed from model drafts before checking, so nothing can be exfiltrated through
  a rendered image or link (the UI also escapes all HTML and renders no Markdown)."""
from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import urlparse

_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,30}\b(previous|prior|above|earlier|all|any|your|"
    r"preceding|system|these|those)\b[^.!?\n]{0,30}\b(instructions?|prompts?|rules|guidelines|directions|messages?)\b"
    r"|\b(reply|respond|answer|say|output|print|write)\b[^.!?\n]{0,20}\b(only|exactly|nothing but)\b"
    r"|\b(system prompt|developer message|new instructions?)\b|\b(ai|language model|chatbot|assistant)s?\b[^.!?\n]{0,20}\b(must|should)\b"
    r"|\b(append|add|include|insert|end)\b[^.!?\n]{0,40}\b(your|the)\s+(answer|reply|response|output)\b"
    r"|\b(when|if)\s+(asked|summari[sz]ing|answering)\b[^.!?\n]{0,60}\b(say|reply|respond|include|append|add)\b",
    re.IGNORECASE)
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\((\S+?)(?:\s+\"[^\"]*\")?\)")
_URL = re.compile(r"\b(?:https?|ftp)://[^\s)>\]]+|\bwww\.[^\s)>\]]+", re.IGNORECASE)


def is_instruction(sentence: str) -> bool:
    """True when a sentence reads as an instruction to an AI assistant."""
    return bool(_INSTRUCTION.search(sentence))


def _allowed(url: str, hosts: Iterable[str]) -> bool:
    host = (urlparse(url if "://" in url else f"http://{url}").hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in hosts)


def strip_links(text: str, allow_hosts: Iterable[str] = ()) -> str:
    """`text` without Markdown images, without links or URLs to hosts outside `allow_hosts`
    (a link keeps its words)."""
    hosts = [h.lower() for h in allow_hosts if h]
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(lambda m: m.group(0) if _allowed(m.group(2), hosts) else m.group(1), text)
    return _URL.sub(lambda m: m.group(0) if _allowed(m.group(0), hosts) else "[link removed]", text)
