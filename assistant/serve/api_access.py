"""What stands in front of every `assistant api` route: errors in OpenAI's shape with the
right status, messages with no key, URL or index path in them, the request-size cap
(checked before a body is read and while it is read), and bearer keys with scopes and
per-key rate limits."""
from __future__ import annotations

import ipaddress
import json
import math
import re
from typing import Any, Awaitable, Callable

from fastapi import HTTPException

from assistant.core import errors
from assistant.core.settings import Settings
from assistant.serve.keys import ApiKey, ApiKeyError, KeyStore
from assistant.serve.ratelimit import RateLimiter

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 409: "conflict_error", 413: "invalid_request_error", 415: "invalid_request_error",
          429: "rate_limit_error", 503: "service_unavailable", 500: "server_error"}


class ApiError(HTTPException):
    """An HTTP error sent as `{"error": {"message", "type", "code"}}`."""

    def __init__(self, status: int, message: str, code: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.code = code

    def body(self) -> dict[str, Any]:
        """The OpenAI-style error object."""
        return error_body(self.status_code, str(self.detail), self.code)


def error_body(status: int, message: str, code: str | None) -> dict[str, Any]:
    """`{"error": {"message", "type", "code", "param"}}` as OpenAI sends it."""
    return {"error": {"message": message, "type": _TYPES.get(status, "server_error"), "code": code, "param": None}}


def from_assistant_error(e: errors.AssistantError, redact: Callable[[str], str]) -> ApiError:
    """The status and code for one of our typed errors (message redacted)."""
    message = redact(str(e))
    table: list[tuple[type, int, str, dict[str, str] | None]] = [
        (errors.InvalidFilter, 400, "invalid_filter", None),
        (errors.InvalidQuestion, 400, "invalid_question", None),
        (errors.ContextTooLong, 400, "context_length_exceeded", None),
        (errors.DocumentNotFound, 404, "document_not_found", None),
        (errors.IndexLocked, 409, "index_locked", {"Retry-After": "5"}),
        (errors.IndexNotFound, 503, "index_empty", None),
        (errors.StoreUnavailable, 503, "store_unavailable", {"Retry-After": "5"}),
        (errors.ModelError, 503, "model_unavailable", {"Retry-After": "5"}),
        (ApiKeyError, 503, "key_file_unreadable", None),
        (errors.ConfigError, 503, "configuration_error", None),
    ]
    for kind, status, code, headers in table:
        if isinstance(e, kind):
            return ApiError(status, message, code, headers)
    return ApiError(500, message, "assistant_error")


def make_redactor(settings: Settings) -> Callable[[str], str]:
    """A function that removes the index path, service URLs and keys from a message."""
    secrets = [(settings.llm_api_key, "<key>"), (settings.embed_api_key, "<key>"),
               (settings.chroma_url, "<chroma server>"), (settings.llm_base_url, "<LLM endpoint>"),
               (settings.embed_base_url, "<embedding endpoint>")]
    paths = {str(settings.index_path.expanduser().resolve()), str(settings.index_path.expanduser().absolute()),
             str(settings.api_keys_path.parent.resolve())}
    pairs = [(s, r) for s, r in secrets if s] + [(p, "<index>") for p in sorted(paths, key=len, reverse=True) if len(p) > 1]

    def redact(message: str) -> str:
        for value, replacement in pairs:
            message = message.replace(value, replacement)
        return re.sub(r"\bsk-[A-Za-z0-9_-]{8,}", "sk-…", message)

    return redact


class BodyLimit:
    """ASGI middleware: 413 when Content-Length is over the cap (nothing is read), or as soon
    as a body without a length grows past it while being read."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await self._reject(send, bool(length.isdigit()))
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise self.too_large()
            return message

        await self.app(scope, counted, send)

    def too_large(self) -> ApiError:
        mb = self.max_bytes / 1_000_000
        return ApiError(413, f"request body larger than {mb:g} MB (ASSISTANT_API_MAX_BODY_MB): split the upload",
                        "request_too_large")

    async def _reject(self, send: Any, numeric: bool) -> None:
        e = self.too_large() if numeric else ApiError(400, "Content-Length is not a number", "invalid_content_length")
        body = json.dumps(e.body()).encode()
        await send({"type": "http.response.start", "status": e.status_code,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARDS = frozenset({"", "0.0.0.0", "::"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def allowed_hosts(bound: str, extra: str) -> frozenset[str] | None:
    """The Host header names the API answers to (None: any). A loopback or specific bind
    address allows itself and the loopback names; a wildcard bind (0.0.0.0, ::) allows any
    name unless ASSISTANT_API_ALLOWED_HOSTS lists them; "*" in that list allows any."""
    names = {n.strip().lower().strip("[]") for n in extra.split(",") if n.strip()}
    if "*" in names or (bound in WILDCARDS and not names):
        return None
    if bound not in WILDCARDS:
        names |= {bound.lower().strip("[]")} | LOOPBACK_NAMES
    return frozenset(names)


def host_name(header: str) -> str:
    """The name in a Host or Origin authority, without port, brackets or scheme."""
    value = header.strip().lower().split("://", 1)[-1].split("/", 1)[0]
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_problem(raw_headers: list[tuple[bytes, bytes]], hosts: frozenset[str] | None) -> str | None:
    """Why the Host header of a request is refused, or None. Exactly one Host header must name
    this server (see `allowed_hosts`): a request without one (HTTP/1.0) or with two (one for
    this check, one for whatever reads the other) could be a rebound page's."""
    found = [v.decode("latin-1") for k, v in raw_headers if k.lower() == b"host"]
    if not found or not found[0].strip():
        return "a Host header is required (HTTP/1.0 clients must send one)"
    if len(found) > 1:
        return "more than one Host header: send exactly one"
    if hosts is not None and host_name(found[0]) not in hosts:
        return "this server does not answer to that Host name"
    return None


class HostGuard:
    """ASGI middleware against DNS rebinding and cross-site writes: the Host header must name
    this server (see `allowed_hosts`), and a POST/PUT/PATCH/DELETE sent by a browser (it has
    an `Origin`) must come from this server's own origin or a configured CORS origin, since
    a cross-site form post (multipart upload) needs no CORS preflight."""

    def __init__(self, app: Any, hosts: frozenset[str] | None, origins: list[str]) -> None:
        self.app, self.hosts = app, hosts
        self.origins = {o.rstrip("/").lower() for o in origins}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get(b"host", "")
        why = host_problem(scope["headers"], self.hosts)
        if why:
            return await _send_error(send, ApiError(400, f"{why}: list the name in ASSISTANT_API_ALLOWED_HOSTS"
                                                    if why.startswith("this server") else why, "invalid_host"))
        origin = headers.get(b"origin")
        if scope["method"] in UNSAFE_METHODS and origin is not None and not self._same_or_allowed(origin, host):
            return await _send_error(send, ApiError(403, "cross-origin write refused: add the page's origin to "
                                                         "ASSISTANT_API_CORS_ORIGINS", "cross_origin_forbidden"))
        await self.app(scope, receive, send)

    def _same_or_allowed(self, origin: str, host: str) -> bool:
        origin = origin.strip().rstrip("/").lower()
        if "*" in self.origins or origin in self.origins:
            return True
        return bool(host) and origin.split("://", 1)[-1] == host.strip().lower()


async def _send_error(send: Any, e: ApiError) -> None:
    body = json.dumps(e.body()).encode()
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (e.headers or {}).items()]
    await send({"type": "http.response.start", "status": e.status_code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": body})


OPEN_PATHS = ("/healthz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")


def scope_needed(method: str, path: str) -> str | None:
    """The key scope a request needs, from its method and path alone (None: no key):
    writes to /v1/documents need "write", every other /v1/ route and /metrics "read";
    /healthz, the OpenAPI docs and CORS preflights need none."""
    if method == "OPTIONS" or path in OPEN_PATHS:
        return None
    if path.rstrip("/") == "/v1/documents" and method == "POST" or \
            path.startswith("/v1/documents/") and method == "DELETE":
        return "write"
    return "read"


class KeyCheck:
    """ASGI middleware: the key, its scope and its rate limit (`Gate.check`) are checked
    before anything of the body is read or parsed, so a client without a valid key costs
    the server no JSON parsing, no form spooling and no upload on disk. Marks the scope it
    checked in the ASGI scope (`news_assistant.scope`) for the routes' own dependency."""

    def __init__(self, app: Any, gate: "Gate", redact: Callable[[str], str]) -> None:
        self.app, self.gate, self.redact = app, gate, redact

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        needed = scope_needed(scope["method"], scope.get("path", ""))
        if needed is not None:
            import anyio

            headers = {k.lower(): v.decode("latin-1") for k, v in scope["headers"]}
            client = scope["client"][0] if scope.get("client") else "unknown"
            try:
                await anyio.to_thread.run_sync(self.gate.check, headers.get(b"authorization"), client, needed)
            except ApiError as e:
                return await _send_error(send, e)
            except errors.AssistantError as e:  # a key file that cannot be read: 503, never open
                return await _send_error(send, from_assistant_error(e, self.redact))
            scope["news_assistant.scope"] = needed
        await self.app(scope, receive, send)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.1, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Gate:
    """Bearer keys, scopes and rate limits. Keys are needed when `api_auth` is "required",
    or "auto" and a key file exists; with "auto" and no key file the API is open, which is
    allowed only on a loopback address; "off" is open on purpose. Open requests are rate
    limited per client address."""

    def __init__(self, settings: Settings, host: str) -> None:
        self.settings = settings
        self.loopback = is_loopback(host)
        self.keys = KeyStore(settings.api_keys_path)
        self.limiter = RateLimiter(settings.index_path / "api_state.sqlite3")
        if settings.api_auth == "auto" and not self.loopback and not self.keys.exists():
            raise errors.ConfigError(f"no API keys and the API would listen on {host}: create one with "
                                     "`assistant keys create NAME` (or set ASSISTANT_API_AUTH=off to run open on purpose)")

    def describe(self) -> str:
        """One line for the start-up log: is the API open or keyed?"""
        if self.settings.api_auth == "off":
            return "API keys OFF (ASSISTANT_API_AUTH=off): anyone who can reach this port can read and write"
        if self.keys_needed():
            return "API keys required (Authorization: Bearer KEY); manage them with `assistant keys`"
        return ("no API key file yet: the API is OPEN on this loopback address (read and write); "
                "`assistant keys create NAME` turns keys on")

    def keys_needed(self) -> bool:
        """Whether requests must carry a key right now. Off a loopback address "auto" always
        needs keys: a key file removed while the server runs must not open it to the network."""
        mode = self.settings.api_auth
        return mode == "required" or (mode == "auto" and (not self.loopback or self.keys.exists()))

    def check(self, authorization: str | None, client: str, scope: str) -> ApiKey | None:
        """The key of an allowed request (None when open); raises ApiError 401, 403 or 429."""
        key = None
        if self.keys_needed():
            token = _bearer(authorization)
            if token is None:
                raise ApiError(401, "missing API key: send `Authorization: Bearer KEY` (keys come from "
                                    "`assistant keys create`)", "missing_api_key", {"WWW-Authenticate": "Bearer"})
            key = self.keys.verify(token)
            if key is None:
                raise ApiError(401, "invalid or revoked API key", "invalid_api_key", {"WWW-Authenticate": "Bearer"})
            if scope not in key.scopes:
                wanted = ",".join(s for s in ("read", "write") if s in key.scopes or s == scope)
                raise ApiError(403, f"this API key lacks the '{scope}' scope: create one with "
                                    f"`assistant keys create NAME --scopes {wanted}`", "insufficient_scope")
        rate = (key.rate_per_min if key and key.rate_per_min else None) or self.settings.api_rate_per_min
        wait = self.limiter.take(key.id if key else f"addr:{client}", rate)
        if wait:
            raise ApiError(429, f"rate limit of {rate} requests per minute reached: retry after "
                                f"{math.ceil(wait)} s", "rate_limit_exceeded", {"Retry-After": str(math.ceil(wait))})
        return key


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    kind, _, token = header.partition(" ")
    return token.strip() or None if kind.lower() == "bearer" else None
