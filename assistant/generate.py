"""Generators behind one protocol: each streams a draft answer with `[n]` markers.

`extractive` (built in, no model) and `openai` (any OpenAI-compatible chat endpoint:
OpenAI, vLLM, Ollama, llama.cpp's server, LM Studio)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence

import tiktoken

from . import errors
from .chunk import ENCODING
from .prompts import load_prompt
from .types import Passage, Usage


class Generator(Protocol):
    """Streams a draft answer for a question from numbered passages; may end with a Usage."""

    name: str
    model: str | None

    def stream(self, question: str, passages: Sequence[Passage],
               history: Sequence[tuple[str, str]] = ()) -> Iterator[str | Usage]: ...


@dataclass
class OpenAIGenerator:
    """Chat completions through the `openai` client, streamed, with the passages fitted
    into `context_tokens` (in rank order, deterministically)."""

    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    retries: int = 2
    context_tokens: int = 3000
    max_tokens: int = 400
    name: str = "openai"
    _client: Any = field(default=None, init=False, repr=False)

    def client(self) -> Any:
        import openai

        if self._client is None:
            self._client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key or "not-needed",
                                         timeout=self.timeout, max_retries=self.retries)
        return self._client

    def messages(self, question: str, passages: Sequence[Passage],
                 history: Sequence[tuple[str, str]] = ()) -> list[dict[str, str]]:
        """The chat messages: system rules, then numbered sources and the question."""
        enc = tiktoken.get_encoding(ENCODING)
        budget, blocks = self.context_tokens, []
        for i, p in enumerate(passages, start=1):
            block = f"[{i}] {p.title}\n{p.text}"
            cost = len(enc.encode(block, disallowed_special=()))
            if cost > budget:
                break
            budget -= cost
            blocks.append(block)
        user = load_prompt("sources").format(sources="\n\n".join(blocks), question=question)
        msgs = [{"role": "system", "content": load_prompt("answer")}]
        for q, a in history[-3:]:
            msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        return msgs + [{"role": "user", "content": user}]

    def stream(self, question: str, passages: Sequence[Passage],
               history: Sequence[tuple[str, str]] = ()) -> Iterator[str | Usage]:
        import openai

        try:
            resp = self.client().chat.completions.create(
                model=self.model, messages=self.messages(question, passages, history), stream=True,
                temperature=0, max_tokens=self.max_tokens, stream_options={"include_usage": True})
            for event in resp:
                if event.choices and event.choices[0].delta.content:
                    yield event.choices[0].delta.content
                if getattr(event, "usage", None):
                    u = event.usage
                    yield Usage(u.prompt_tokens, u.completion_tokens, u.total_tokens)
        except openai.APIError as e:
            raise translate(e, self.base_url, self.model) from None


def translate(e: Exception, base_url: str | None, model: str) -> errors.ModelError:
    """Map an `openai` exception to our typed error with a one-line, key-free message."""
    import openai

    where = base_url or "the OpenAI API"
    if isinstance(e, openai.APITimeoutError):
        return errors.ModelUnavailable(f"model service at {where} timed out; try again or raise ASSISTANT_LLM_TIMEOUT")
    if isinstance(e, openai.APIConnectionError):
        return errors.ModelUnavailable(f"model service at {where} is unreachable; check ASSISTANT_LLM_BASE_URL")
    if isinstance(e, openai.AuthenticationError):
        return errors.AuthenticationFailed(f"model service at {where} rejected the API key; check ASSISTANT_LLM_API_KEY")
    if isinstance(e, openai.NotFoundError):
        return errors.ModelNotFound(f"model {model!r} not found at {where}; check ASSISTANT_LLM_MODEL")
    if isinstance(e, openai.RateLimitError):
        return errors.RateLimited(f"model service at {where} is rate limiting; wait and try again")
    if isinstance(e, openai.BadRequestError) and "context" in str(e).lower():
        return errors.ContextTooLong(f"prompt too long for {model!r}; lower ASSISTANT_TOP_K")
    if isinstance(e, openai.APIStatusError) and e.status_code >= 500:
        return errors.ModelUnavailable(f"model service unavailable at {where} (HTTP {e.status_code}); try again shortly")
    return errors.ModelError(f"model service at {where} failed: {type(e).__name__}")
