"""The Chat Completions wire format for `assistant api`: turn OpenAI `messages` into a
question and its history, and an `Answer` into a completion (or stream chunks) whose
`[n]` markers carry `url_citation` annotations extended with the exact quote and span."""
from __future__ import annotations

import re
from typing import Any, Iterator, Sequence

from assistant.core.data import Answer, Citation, to_dict
from assistant.core.errors import InvalidQuestion
from assistant.core.tokens import count_tokens

_MARKER = re.compile(r"\[(\d+)\]")
_SENTENCE_END = re.compile(r"(?<=\])\s+|(?<=[.!?])\s+")


def split_messages(messages: Sequence[dict[str, Any]]) -> tuple[str, list[tuple[str, str]]]:
    """(question, history) from OpenAI messages: the last message must be the user's;
    earlier user/assistant turns become (question, answer) pairs; system and tool
    messages are ignored (the assistant's own rules apply)."""
    turns = [(m.get("role"), content_text(m.get("content"))) for m in messages]
    turns = [(r, c) for r, c in turns if r in ("user", "assistant")]
    if not turns or turns[-1][0] != "user":
        raise InvalidQuestion("the last message must be the user's question (role 'user')")
    history: list[tuple[str, str]] = []
    pending: str | None = None
    for role, text in turns[:-1]:
        if role == "user":
            pending = text if pending is None else f"{pending} {text}"
        elif pending is not None:
            history.append((pending, text))
            pending = None
    return turns[-1][1], history


def content_text(content: Any) -> str:
    """A message's text: a string, or the `text` of its text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def public_source(source: str) -> str:
    """A document's source as shown over HTTP: URLs as they are; a server path becomes its
    file name (with the record number of a JSONL line), so no directory leaks."""
    if source.startswith(("http://", "https://")):
        return source
    return re.split(r"[\\/]", source)[-1]


def citation_url(c: Citation, base_url: str) -> str:
    """The article's URL when it has one, else this API's document URL."""
    return c.source if c.source.startswith(("http://", "https://")) else f"{base_url}v1/documents/{c.doc_id}"


def annotations(answer: Answer, base_url: str) -> list[dict[str, Any]]:
    """One `url_citation` per `[n]` marker in the answer text, in text order, with
    `content[start_index:end_index] == "[n]"` and the citation's quote and document span."""
    by_n = {c.n: c for c in answer.citations}
    out = []
    for m in _MARKER.finditer(answer.answer):
        c = by_n.get(int(m.group(1)))
        if c is None:
            continue
        out.append({"type": "url_citation", "url_citation": {
            "start_index": m.start(), "end_index": m.end(), "url": citation_url(c, base_url), "title": c.title,
            "n": c.n, "quote": c.quote, "doc_id": c.doc_id, "chunk_id": c.chunk_id, "start": c.start, "end": c.end,
            "published": c.published, "outlet": c.outlet, "quote_has_link": c.quote_has_link}})
    return out


def usage(answer: Answer, prompt: str) -> dict[str, int]:
    """Token usage: the model's own count when an LLM answered; for the extractive answerer
    (no model tokens) the cl100k size of the question with its history and of the answer."""
    u = answer.usage
    if u.total_tokens:
        return {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens, "total_tokens": u.total_tokens}
    p, c = count_tokens(prompt), count_tokens(answer.answer)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def extension(answer: Answer) -> dict[str, Any]:
    """Our fields beside the standard ones: refusal type, confidence, backend, warning, timings."""
    return {"refused": answer.refused, "refusal": answer.refusal, "confidence": answer.confidence,
            "groundedness": answer.groundedness, "backend": answer.backend, "warning": answer.warning,
            "standalone_question": answer.standalone_question, "timings_ms": answer.timings_ms,
            "cost_usd": answer.usage.cost_usd}


def completion(answer: Answer, model: str, cid: str, created: int, base_url: str, prompt: str) -> dict[str, Any]:
    """A `chat.completion` object for a checked answer (a refusal is a normal message)."""
    message = {"role": "assistant", "content": answer.answer, "refusal": None,
               "annotations": annotations(answer, base_url)}
    return {"id": cid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(answer), "logprobs": None}],
            "usage": usage(answer, prompt), "system_fingerprint": None, "news_assistant": extension(answer)}


def chunks(answer: Answer, model: str, cid: str, created: int, base_url: str, prompt: str) -> Iterator[dict[str, Any]]:
    """`chat.completion.chunk` objects: the role, the checked text sentence by sentence, and
    a last chunk with the annotations, the finish reason and the usage."""
    base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": None}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}

    yield chunk({"role": "assistant", "content": ""})
    for piece in _pieces(answer.answer):
        yield chunk({"content": piece})
    yield chunk({"annotations": annotations(answer, base_url)}, _finish(answer), usage=usage(answer, prompt),
                news_assistant=extension(answer))


def _pieces(text: str) -> list[str]:
    """Text split after sentence ends and markers, keeping every character (joined == text)."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start:m.end()])
        start = m.end()
    if start < len(text):
        out.append(text[start:])
    return [p for p in out if p]


def _finish(answer: Answer) -> str:
    return "length" if answer.incomplete and not answer.refused else "stop"


def answer_object(answer: Answer) -> dict[str, Any]:
    """The `assistant ask --json` object, with sources shown as `public_source` does."""
    data = to_dict(answer)
    for item in data["citations"] + data["passages"]:
        item["source"] = public_source(item["source"])
    return data
