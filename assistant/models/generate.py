"""Generators behind one protocol: each streams a draft answer with `[n]` markers.

`extractive` (built in, no model, in extractive.py) and `openai` (any OpenAI-compatible
chat endpoint: OpenAI, vLLM, Ollama, llama.cpp's server, LM Studio). This module also
holds the two other LLM calls: follow-up condensation and the support judge."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence

from assistant.core import errors
from assistant.core.data import Passage, Usage
from assistant.core.tokens import count_tokens
from assistant.models.prompts import load_prompt


@dataclass(frozen=True)
class StreamEnd:
    """The last item of a generator's stream: why it stopped. `complete` is False when the
    model hit its token limit or the stream was cut before the model finished."""

    finish_reason: str | None
    complete: bool


class Generator(Protocol):
    """Streams a draft answer for a question from numbered passages: text deltas, then
    optionally a Usage and a StreamEnd."""

    name: str
    model: str | None

    def fit(self, question: str, passages: Sequence[Passage],
            history: Sequence[tuple[str, str]] = ()) -> list[Passage]: ...

    def stream(self, question: str, passages: Sequence[Passage],
               history: Sequence[tuple[str, str]] = ()) -> Iterator[str | Usage | StreamEnd]: ...


@dataclass
class OpenAIGenerator:
    """Chat completions through the `openai` client, streamed, with the passages fitted
    into `context_tokens` (in rank order, deterministically).

    `timeout` is the per-read limit in seconds (the client's own default is 10 minutes);
    `retries` covers connection errors, 408/409/429 (honouring Retry-After) and 5xx.
    `price_in`/`price_out` are USD per million prompt/completion tokens, for the cost."""

    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    retries: int = 2
    context_tokens: int = 3000
    max_tokens: int = 400
    price_in: float | None = None
    price_out: float | None = None
    name: str = "openai"
    # A draft is kept only when it states the extractive short answer (for an open question
    # the extractive answer is given): for a model too small to be trusted over the
    # evidence selection (see facade.stream).
    must_agree: bool = False
    # A refusal of the model gives way to the extractive answer when the reader answers: for
    # a small model that says "the articles don't say" with the answer in front of it.
    defers_refusal: bool = False
    system_prompt: str = "answer"  # the template in prompts/ holding the system rules
    _client: Any = field(default=None, init=False, repr=False)

    def client(self) -> Any:
        import openai

        if self._client is None:
            # The client's own timeout type (`openai.Timeout`), never an `httpx` object: openai 3
            # moved to httpx2 and rejects the other library's types.
            self._client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key or "not-needed",
                                         timeout=openai.Timeout(self.timeout, connect=min(5.0, self.timeout)),
                                         max_retries=self.retries)
        return self._client

    # -- prompt -------------------------------------------------------------------------------
    def _fixed(self, question: str, history: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
        msgs = [{"role": "system", "content": load_prompt(self.system_prompt)}]
        for q, a in history[-3:]:
            msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        return msgs

    def fit(self, question: str, passages: Sequence[Passage],
            history: Sequence[tuple[str, str]] = ()) -> list[Passage]:
        """The leading passages that fit the context budget left after the system prompt,
        history, question and room for the answer. Deterministic: rank order, whole passages."""
        fixed = sum(count_tokens(m["content"]) + 4 for m in self._fixed(question, history))
        budget = self.context_tokens - fixed - count_tokens(load_prompt("sources")) - count_tokens(question)
        kept: list[Passage] = []
        for i, p in enumerate(passages, start=1):
            cost = count_tokens(_block(i, p)) + 2
            if cost > budget:
                break
            budget -= cost
            kept.append(p)
        if not kept and passages:
            raise errors.ContextTooLong(f"not even one passage fits ASSISTANT_LLM_CONTEXT_TOKENS="
                                        f"{self.context_tokens}: raise it or shorten the chat")
        return kept

    def messages(self, question: str, passages: Sequence[Passage],
                 history: Sequence[tuple[str, str]] = ()) -> list[dict[str, str]]:
        """The chat messages: system rules, recent history, then numbered sources and the question."""
        blocks = [_block(i, p) for i, p in enumerate(passages, start=1)]
        user = load_prompt("sources").format(sources="\n\n".join(blocks), question=question)
        return self._fixed(question, history) + [{"role": "user", "content": user}]

    # -- calls --------------------------------------------------------------------------------
    def stream(self, question: str, passages: Sequence[Passage],
               history: Sequence[tuple[str, str]] = ()) -> Iterator[str | Usage | StreamEnd]:
        import openai

        msgs = self.messages(question, passages, history)
        text: list[str] = []
        usage: Usage | None = None
        finish: str | None = None
        cut = False
        try:
            resp = self.client().chat.completions.create(
                model=self.model, messages=msgs, stream=True, temperature=0, max_tokens=self.max_tokens,
                stream_options={"include_usage": True})
            for event in resp:
                if event.choices:
                    choice = event.choices[0]
                    if choice.delta and choice.delta.content:
                        text.append(choice.delta.content)
                        yield choice.delta.content
                    finish = choice.finish_reason or finish
                if getattr(event, "usage", None):
                    u = event.usage
                    usage = Usage(u.prompt_tokens, u.completion_tokens, u.total_tokens)
        except openai.APIError as e:
            if not text:
                raise translate(e, self.base_url, self.model) from None
            cut = True
        except Exception as e:  # noqa: BLE001 - narrowed to transport errors just below
            if not is_transport_error(e):
                raise
            if not text:
                raise errors.ModelUnavailable(f"model service unavailable: the connection failed before any answer "
                                              f"({type(e).__name__}); try again") from None
            cut = True
        if usage is None:  # the server sent no usage: count it ourselves (cl100k estimate)
            p = sum(count_tokens(m["content"]) + 4 for m in msgs)
            c = count_tokens("".join(text))
            usage = Usage(p, c, p + c)
        yield self._priced(usage)
        yield StreamEnd(finish, complete=not cut and finish == "stop")

    def complete(self, messages: list[dict[str, str]], max_tokens: int = 200) -> tuple[str, Usage]:
        """One non-streamed chat completion (condensation, judging)."""
        import openai

        try:
            resp = self.client().chat.completions.create(model=self.model, messages=messages, temperature=0,
                                                         max_tokens=max_tokens)
        except openai.APIError as e:
            raise translate(e, self.base_url, self.model) from None
        u = resp.usage
        usage = Usage(u.prompt_tokens, u.completion_tokens, u.total_tokens) if u else Usage()
        return (resp.choices[0].message.content or "").strip(), self._priced(usage)

    def _priced(self, u: Usage) -> Usage:
        if self.price_in is None and self.price_out is None:
            return u
        cost = (u.prompt_tokens * (self.price_in or 0) + u.completion_tokens * (self.price_out or 0)) / 1e6
        return Usage(u.prompt_tokens, u.completion_tokens, u.total_tokens, round(cost, 6))

    def condense(self, question: str, history: Sequence[tuple[str, str]]) -> tuple[str, Usage]:
        """A standalone version of a follow-up question, written by the model from the chat."""
        chat = "\n".join(f"User: {q}\nAssistant: {a}" for q, a in history[-3:])
        prompt = load_prompt("condense").format(history=chat, question=question)
        text, usage = self.complete([{"role": "user", "content": prompt}], max_tokens=80)
        line = text.strip().splitlines()[0].strip().strip('"') if text.strip() else ""
        line = re.sub(r"^(standalone question|question)\s*:\s*", "", line, flags=re.I)
        # A model that answers instead of rewriting (or returns nothing) keeps the original.
        return (line if 3 <= len(line) <= 2 * len(question) + 300 else question), usage

    def judge(self, sentence: str, passage: str) -> float:
        """1.0 when the model says the passage supports the sentence, else 0.0."""
        prompt = load_prompt("judge").format(passage=passage, sentence=sentence)
        text, _ = self.complete([{"role": "user", "content": prompt}], max_tokens=5)
        return 1.0 if re.match(r"\W*(supported|yes)\b", text, re.I) else 0.0


def _block(i: int, p: Passage) -> str:
    """One numbered source: title, then outlet and date when known (so the model can order
    and date the parts of an answer drawn from several articles), then the passage."""
    when = ", ".join(x for x in (p.outlet, (p.published or "")[:10]) if x)
    return f"[{i}] {p.title}" + (f" ({when})" if when else "") + f"\n{p.text}"


def is_transport_error(e: BaseException) -> bool:
    """True for a connection that broke mid-stream: an OSError, or an error of the HTTP library
    under the `openai` client (`httpx`/`httpcore` in openai 1-2, `httpx2` in openai 3), which the
    client does not wrap once the stream is open."""
    module = type(e).__module__ or ""
    return isinstance(e, OSError) or module.split(".")[0].startswith(("httpx", "httpcore", "h11"))


def translate(e: Exception, base_url: str | None, model: str) -> errors.ModelError:
    """Map an `openai` exception to our typed error with a one-line, key-free message."""
    import openai

    # Messages name the setting to fix, never its value: no URL, key or path reaches a user.
    where = "the configured endpoint" if base_url else "the OpenAI API"
    if isinstance(e, openai.APITimeoutError):
        return errors.ModelUnavailable(f"model service unavailable: {where} timed out; try again or raise ASSISTANT_LLM_TIMEOUT")
    if isinstance(e, openai.APIConnectionError):
        return errors.ModelUnavailable(f"model service unavailable: {where} is unreachable; check ASSISTANT_LLM_BASE_URL")
    if isinstance(e, openai.AuthenticationError):
        return errors.AuthenticationFailed(f"{where} rejected the API key; check ASSISTANT_LLM_API_KEY")
    if isinstance(e, openai.NotFoundError):
        return errors.ModelNotFound(f"the model is not known to {where}; check ASSISTANT_LLM_MODEL")
    if isinstance(e, openai.RateLimitError):
        return errors.RateLimited(f"{where} is rate limiting; wait and try again")
    if isinstance(e, openai.BadRequestError) and re.search(r"context|too long|maximum.*tokens", str(e), re.I):
        return errors.ContextTooLong("the prompt is too long for the model; lower ASSISTANT_TOP_K "
                                     "or ASSISTANT_LLM_CONTEXT_TOKENS")
    if isinstance(e, openai.APIStatusError) and e.status_code >= 500:
        return errors.ModelUnavailable(f"model service unavailable ({where} answered HTTP {e.status_code}); try again shortly")
    status = getattr(e, "status_code", None)
    return errors.ModelError(f"{where} failed ({type(e).__name__}"
                             f"{f', HTTP {status}' if status else ''}); check the model settings")
