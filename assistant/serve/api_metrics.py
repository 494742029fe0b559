"""Prometheus metrics of `assistant api`: requests, latency per route and per pipeline
stage, answers, refusals, tokens and cost. With several worker processes
(PROMETHEUS_MULTIPROC_DIR set by `assistant api --workers N`), /metrics sums them all."""
from __future__ import annotations

import os
import time
from typing import Any, Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from assistant.core.data import Answer

_STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ApiMetrics:
    """The metric families, registered in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("assistant_api_requests", "HTTP requests", ["route", "method", "status"], registry=r)
        self.latency = Histogram("assistant_api_request_seconds", "HTTP request latency (to the last byte)",
                                 ["route"], buckets=_STAGE_BUCKETS, registry=r)
        self.stages = Histogram("assistant_answer_stage_seconds", "Answer pipeline latency per stage",
                                ["stage"], buckets=_STAGE_BUCKETS, registry=r)
        self.answers = Counter("assistant_answers", "Answers given", ["backend", "model"], registry=r)
        self.refusals = Counter("assistant_refusals", "Answers that were refusals", ["reason"], registry=r)
        self.tokens = Counter("assistant_tokens", "Model tokens used", ["kind"], registry=r)
        self.cost = Counter("assistant_cost_usd", "Model cost in USD (when a price is configured)", registry=r)

    def record(self, answer: Answer, model: str) -> None:
        """Count one answer: per-stage timings, refusal, tokens and cost."""
        for stage, ms in answer.timings_ms.items():
            self.stages.labels(stage).observe(ms / 1000)
        self.answers.labels(answer.backend.split(" ")[0], model).inc()
        if answer.refused:
            self.refusals.labels(answer.refusal or "unknown").inc()
        self.tokens.labels("prompt").inc(answer.usage.prompt_tokens)
        self.tokens.labels("completion").inc(answer.usage.completion_tokens)
        if answer.usage.cost_usd:
            self.cost.inc(answer.usage.cost_usd)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type (all workers' values in multiprocess mode)."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RequestMetrics:
    """ASGI middleware: counts each request and times it to its last byte, labelled with the
    route template (`/v1/documents/{doc_id}`), never the raw path."""

    def __init__(self, app: Any, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - t0)
