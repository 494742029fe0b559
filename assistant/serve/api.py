"""`assistant api`: an HTTP API that any OpenAI client can use, as a thin layer over the
`Assistant` facade (like the CLI and the UI; no pipeline stage is re-implemented here).

`create_app(Assistant | Settings | None)` builds the FastAPI app; `app_from_env()` is the
factory `uvicorn` calls in each worker process. Routes: /v1/chat/completions, /v1/models,
/v1/answers, /v1/documents, /v1/jobs/{id}, /healthz, /metrics."""
from __future__ import annotations

import contextlib
import logging
import time
import uuid
from typing import Any, AsyncIterator

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.core import errors
from assistant.core.data import to_dict
from assistant.core.settings import Settings
from assistant.facade import Assistant
from assistant.serve import openai_format
from assistant.serve.api_access import (
    ApiError,
    BodyLimit,
    HostGuard,
    KeyCheck,
    allowed_hosts,
    error_body,
    from_assistant_error,
)
from assistant.serve.api_documents import DocumentRoutes
from assistant.serve.api_metrics import RequestMetrics
from assistant.serve.api_service import DEFAULT_MODEL, FILTERS, Service

log = logging.getLogger("assistant.serve.api")


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
