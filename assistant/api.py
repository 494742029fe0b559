"""`assistant api`: an HTTP API that any OpenAI client can use, as a thin layer over the
`Assistant` facade (like the CLI and the UI; no pipeline stage is re-implemented here).

`create_app(Assistant | Settings | None)` builds the FastAPI app; `app_from_env()` is the
factory `uvicorn` calls in each worker process. Routes: /v1/chat/completions, /v1/models,
/v1/answers, /v1/documents, /v1/jobs/{id}, /healthz, /metrics."""
from __future__ import annotations

import contextlib
import inspect
import logging
import threading
import time
import uuid
from typing import Any, AsyncIterator

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import errors, openai_format
from .api_guard import ApiError, BodyLimit, Gate, HostGuard, KeyCheck, allowed_hosts, error_body, from_assistant_error, make_redactor
from .api_metrics import ApiMetrics, RequestMetrics
from .api_documents import DocumentRoutes
from .facade import Assistant
from .settings import Settings
from .types import Answer, to_dict

log = logging.getLogger("assistant.api")
DEFAULT_MODEL = "news-assistant"
FILTERS = ("since", "until", "outlet", "as_of")


class ChatMessage(BaseModel):
    """One OpenAI chat message (other fields are accepted and ignored)."""

    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The Chat Completions request; sampling parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = DEFAULT_MODEL
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    top_k: int | None = Field(None, ge=1, le=50)
    since: str | None = None
    until: str | None = None
    outlet: str | None = None
    as_of: str | None = None


class AnswerRequest(BaseModel):
    """`POST /v1/answers`: a question, an optional history of (question, answer) pairs, filters."""

    model_config = ConfigDict(extra="forbid")
    question: str
    history: list[tuple[str, str]] = Field(default_factory=list)
    model: str = DEFAULT_MODEL
    top_k: int | None = Field(None, ge=1, le=50)
    since: str | None = None
    until: str | None = None
    outlet: str | None = None
    as_of: str | None = None


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


def create_app(target: Assistant | Settings | None = None, host: str | None = None) -> FastAPI:
    """The API app over an Assistant (or one built from `Settings`, or from the environment).
    `host` is the address it will listen on (default `settings.api_host`): with no key file
    it must be a loopback address, unless ASSISTANT_API_AUTH=off."""
    bot = target if isinstance(target, Assistant) else Assistant(settings=target or Settings.load())
    service = Service(bot, host or bot.settings.api_host)
    documents = DocumentRoutes(service)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await anyio.to_thread.run_sync(documents.jobs.shutdown)  # a running ingest finishes first

    app = FastAPI(title="News assistant API", version="1", lifespan=lifespan,
                  summary="OpenAI-compatible answers with checked citations")
    app.state.service = service
    _add_error_handlers(app, service)
    _add_middleware(app, service)
    _add_answer_routes(app, service)
    documents.add_to(app)
    log.warning("assistant api: %s", service.gate.describe())
    return app


def app_from_env() -> FastAPI:
    """The app for `uvicorn --factory` (every worker process): settings from the environment."""
    for noisy in ("chromadb", "httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return create_app(Settings.load())


def _add_middleware(app: FastAPI, service: Service) -> None:
    origins = [o.strip() for o in service.settings.api_cors_origins.split(",") if o.strip()]
    if origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(BodyLimit, max_bytes=int(service.settings.api_max_body_mb * 1_000_000))
    app.add_middleware(KeyCheck, gate=service.gate, redact=service.redact)  # before any body is read
    app.add_middleware(HostGuard, hosts=allowed_hosts(service.host, service.settings.api_allowed_hosts), origins=origins)
    app.add_middleware(RequestMetrics, metrics=service.metrics)


def _add_error_handlers(app: FastAPI, service: Service) -> None:
    def send(e: ApiError) -> JSONResponse:
        return JSONResponse(e.body(), status_code=e.status_code, headers=e.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        if isinstance(e, ApiError):
            return send(e)
        message = "not found: see /docs for the routes" if e.status_code == 404 else str(e.detail)
        return JSONResponse(error_body(e.status_code, message, None), status_code=e.status_code, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"invalid request: {where or 'body'}: {first.get('msg', 'malformed')}"
        return send(ApiError(400, message, "invalid_request"))

    @app.exception_handler(errors.AssistantError)
    async def assistant_error(request: Request, e: errors.AssistantError) -> JSONResponse:
        return send(from_assistant_error(e, service.redact))

    @app.exception_handler(Exception)
    async def bug(request: Request, e: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return send(ApiError(500, "internal error: the server log has the details", "internal_error"))


def _add_answer_routes(app: FastAPI, service: Service) -> None:
    @app.post("/v1/chat/completions", dependencies=[service.auth("read")], tags=["answers"])
    async def chat_completions(body: ChatRequest, request: Request) -> Response:
        """OpenAI Chat Completions: earlier messages are the conversation; `stream` sends SSE."""
        messages = [m.model_dump() for m in body.messages]
        question, history = openai_format.split_messages(messages)
        filters = {k: getattr(body, k) for k in FILTERS}
        answer = await service.answer(body.model, question, history, body.top_k, filters)
        cid, created, base = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), str(request.base_url)
        prompt = " ".join([q + " " + a for q, a in history] + [question])
        if not body.stream:
            return JSONResponse(openai_format.completion(answer, body.model, cid, created, base, prompt))
        return StreamingResponse(_sse(openai_format.chunks(answer, body.model, cid, created, base, prompt)),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/v1/models", dependencies=[service.auth("read")], tags=["answers"])
    def list_models() -> dict[str, Any]:
        """The model names: `news-assistant` is the configured backend; others pick one."""
        return {"object": "list", "data": [_model(m, g) for m, g in service.models().items()]}

    @app.get("/v1/models/{model}", dependencies=[service.auth("read")], tags=["answers"])
    def get_model(model: str) -> dict[str, Any]:
        """One model."""
        generator = service.models().get(model)
        if generator is None:
            raise ApiError(404, f"the model {model!r} does not exist: GET /v1/models lists them", "model_not_found")
        return _model(model, generator)

    @app.get("/v1/timeline", dependencies=[service.auth("read")], tags=["answers"])
    async def timeline(topic: str, since: str | None = None, until: str | None = None, outlet: str | None = None,
                       as_of: str | None = None, limit: int = 30) -> dict[str, Any]:
        """Dated events about `topic` across articles, oldest first (`assistant timeline`):
        `{"object": "list", "data": [{date, dated_by, doc_id, title, outlet, published, quote,
        start, end, date_hint, also_in}]}`."""
        if not 1 <= limit <= 200:
            raise ApiError(400, "limit must be between 1 and 200", "invalid_limit")
        lines = await service.run(lambda: service.bot.timeline(topic, since=since, until=until, outlet=outlet,
                                                               as_of=as_of, limit=limit))
        return {"object": "list", "data": to_dict(lines)}

    @app.post("/v1/answers", dependencies=[service.auth("read")], tags=["answers"])
    async def answers(body: AnswerRequest) -> dict[str, Any]:
        """The `assistant ask --json` object (sources shown as file names or URLs)."""
        filters = {k: getattr(body, k) for k in FILTERS}
        answer = await service.answer(body.model, body.question, body.history, body.top_k, filters)
        return openai_format.answer_object(answer)


def _model(name: str, generator: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "news-assistant", "backend": generator}


async def _sse(chunks: Any) -> AsyncIterator[bytes]:
    import json

    for chunk in chunks:
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode("utf-8")
    yield b"data: [DONE]\n\n"
