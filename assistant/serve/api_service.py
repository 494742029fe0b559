"""The state one API worker process serves from (`Service`): the Assistant and its
per-model variants, the key gate, the answer queue and the metrics. The routes of
`api` and `api_documents` both take it."""
from __future__ import annotations

import inspect
import threading
from typing import Any

import anyio
from fastapi import Depends, Request

from assistant.core.data import Answer
from assistant.facade import Assistant
from assistant.serve.api_access import ApiError, Gate, make_redactor
from assistant.serve.api_metrics import ApiMetrics

DEFAULT_MODEL = "news-assistant"
FILTERS = ("since", "until", "outlet", "as_of")


class Service:
    """The state one worker process serves from: the Assistant and its per-model variants,
    the key gate, the answer queue and the metrics."""

    def __init__(self, bot: Assistant, host: str) -> None:
        self.bot, self.settings, self.host = bot, bot.settings, host
        self.gate = Gate(self.settings, host)
        self.redact = make_redactor(self.settings)
        self.metrics = ApiMetrics()
        self.slots = anyio.CapacityLimiter(self.settings.api_concurrency)
        self._variants: dict[str, Assistant] = {}
        self._lock = threading.Lock()
        self._filters = set(inspect.signature(Assistant.ask).parameters) & set(FILTERS)

    def models(self) -> dict[str, str]:
        """Model name -> answer backend, for the backends this server can use."""
        out = {DEFAULT_MODEL: self.settings.generator, "news-assistant-extractive": "extractive"}
        if self.settings.llm_model:
            out["news-assistant-openai"] = "openai"
        if self.settings.generator == "local":
            out["news-assistant-local"] = "local"
        return out

    def assistant_for(self, model: str) -> Assistant:
        """The Assistant behind a model name (variants share the index and embedder)."""
        generator = self.models().get(model)
        if generator is None:
            raise ApiError(404, f"the model {model!r} does not exist: GET /v1/models lists them", "model_not_found")
        if generator == self.settings.generator:
            return self.bot
        with self._lock:
            if generator not in self._variants:
                self._variants[generator] = self.bot.variant(generator=generator)
            return self._variants[generator]

    def auth(self, scope: str) -> Any:
        """A route dependency: the request's key must be valid, have `scope` and be under its
        rate. `KeyCheck` has normally checked it before the body was read; this checks again
        only if the middleware judged the route by another scope (never twice otherwise)."""
        def check(request: Request) -> None:
            if request.scope.get("news_assistant.scope") == scope:
                return
            client = request.client.host if request.client else "unknown"
            self.gate.check(request.headers.get("authorization"), client, scope)
        return Depends(check)

    async def answer(self, model: str, question: str, history: list[tuple[str, str]], top_k: int | None,
                     filters: dict[str, str | None]) -> Answer:
        """Run the pipeline in a worker thread, at most `api_concurrency` at once; 503 when
        `api_queue_size` requests are already waiting."""
        bot = self.assistant_for(model)
        given = {k: v for k, v in filters.items() if v is not None}
        if set(given) - self._filters:
            raise ApiError(400, f"filters {', '.join(sorted(set(given) - self._filters))} are not supported by this "
                                "server's assistant version", "unsupported_filter")
        result = await self.run(lambda: bot.ask(question, history=history, top_k=top_k, **given))
        self.metrics.record(result, model)
        return result

    async def run(self, work: Any) -> Any:
        """`work()` in a worker thread, at most `api_concurrency` at once; 503 when
        `api_queue_size` calls are already waiting."""
        if self.slots.statistics().tasks_waiting >= self.settings.api_queue_size:
            raise ApiError(503, "the server is busy (too many questions waiting): retry shortly", "server_busy",
                           {"Retry-After": "1"})
        return await anyio.to_thread.run_sync(work, limiter=self.slots)
