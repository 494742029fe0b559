"""What stands in front of the chat window (`assistant serve`): the Host check against DNS
rebinding, no request from another web origin (so no CORS with credentials for other local
pages), the request-size cap checked before a body is read and while it is read, login and
question rate limits per client address and per user, and the rule for write actions
(delete, ingest, feedback, settings, export): a same-origin browser request, from a logged-in
user when login is on. Built from the HTTP API's pieces (`assistant.serve.api_access`,
`assistant.serve.ratelimit`)."""
from __future__ import annotations

import hmac
import json
import math
from typing import Any, Awaitable, Callable

from assistant.core.errors import AssistantError
from assistant.core.settings import Settings
from assistant.serve.api_access import BodyLimit, allowed_hosts, host_problem
from assistant.serve.ratelimit import RateLimiter


class Refused(AssistantError):
    """A UI request that the guard turned down; the message says why and what to do."""


class _UIBodyLimit(BodyLimit):
    """`api_access.BodyLimit` with the chat window's messages (and no OpenAI error shape)."""

    def too_large(self) -> Any:
        from fastapi import HTTPException

        return HTTPException(413, f"request larger than {self.max_bytes / 1e6:g} MB (ASSISTANT_UI_MAX_BODY_MB, "
                                  "or ASSISTANT_UI_MAX_UPLOAD_MB for file uploads)")

    async def _reject(self, send: Any, numeric: bool) -> None:
        e = self.too_large()
        await _deny({"type": "http"}, send, 413 if numeric else 400,
                    e.detail if numeric else "Content-Length is not a number")


class UIGuard:
    """ASGI middleware around the Gradio app. In order: the Host header must name this server
    (`api_access.allowed_hosts`, ASSISTANT_UI_ALLOWED_HOSTS); a request whose `Origin` is not
    this server's, or that the browser marks as sent by another site, is refused whatever its
    method (Gradio's own CORS would answer any localhost origin with credentials); a file
    upload must come from this server's page; `POST /login` is rate limited per client
    address; bodies over the cap get 413 before they are read."""

    def __init__(self, app: Any, settings: Settings, host: str, limits: "Limits") -> None:
        self.app, self.limits = app, limits
        self.hosts = allowed_hosts(host, settings.ui_allowed_hosts)
        self.small = _UIBodyLimit(app, int(settings.ui_max_body_mb * 1_000_000))
        self.large = _UIBodyLimit(app, int(settings.ui_max_upload_mb * 1_000_000))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host, origin = headers.get(b"host", ""), headers.get(b"origin")
        path, method = scope.get("path", ""), scope.get("method", "GET")
        why = host_problem(scope["headers"], self.hosts)
        if why:
            return await _deny(scope, send, 400, f"{why}: list the name in ASSISTANT_UI_ALLOWED_HOSTS"
                               if why.startswith("this server") else why)
        if origin is not None and not same_origin(origin, host):
            return await _deny(scope, send, 403, "requests from another web page are refused")
        fetch_site = headers.get(b"sec-fetch-site", "")
        if fetch_site in ("cross-site", "same-site") and headers.get(b"sec-fetch-mode") != "navigate":
            return await _deny(scope, send, 403, "requests from another web page are refused")
        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)
        if method == "POST" and path.rstrip("/").endswith("/upload") and origin is None:
            return await _deny(scope, send, 403, "files are uploaded from the chat window's page only")
        if method == "POST" and path.rstrip("/").endswith("/login"):
            wait = self.limits.login_address(_client(scope))
            if wait:
                return await _deny(scope, send, 429, f"too many login attempts: retry after {math.ceil(wait)} s",
                                   {"retry-after": str(math.ceil(wait))})
        limit = self.large if method == "POST" and path.rstrip("/").endswith("/upload") else self.small
        started = False

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await limit(scope, receive, tracked)
        except Exception as e:  # the cap hit while a handler read the body, and it did not answer itself
            if getattr(e, "status_code", None) != 413:
                raise
            if not started:
                await _deny(scope, send, 413, str(getattr(e, "detail", "request too large")))


def same_origin(origin: str, host: str) -> bool:
    """True when `origin` ("http://name:port") names the server the `host` header names."""
    value = origin.strip().rstrip("/").lower()
    return bool(host) and "://" in value and value.split("://", 1)[1] == host.strip().lower()


class Limits:
    """Token buckets (`assistant.serve.ratelimit`, in `ui_state.sqlite3` beside the index) for
    questions, logins and feedback, per client address and per user; they survive a new
    session id and a reload, unlike a per-session counter."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limiter = RateLimiter(settings.index_path / "ui_state.sqlite3")

    def _take(self, kind: str, rate: int, address: str | None, user: str | None) -> float:
        waits = [self.limiter.take(f"ui-{kind}:addr:{address}", rate)] if address else []
        if user:
            waits.append(self.limiter.take(f"ui-{kind}:user:{user}", rate))
        return max(waits, default=0.0)

    def login_address(self, address: str | None) -> float:
        """Seconds to wait before another login attempt from `address` (0.0: go ahead)."""
        return self._take("login", self.settings.ui_login_per_min, address, None)

    def login_user(self, user: str) -> float:
        """Seconds to wait before another login attempt for user name `user`."""
        return self._take("login", self.settings.ui_login_per_min, None, user or "-")

    def question(self, request: Any) -> None:
        """Raise Refused when this client address (or logged-in user) asked too often."""
        rate = self.settings.ui_rate_per_min
        if self._take("ask", rate, _address(request), getattr(request, "username", None) if request else None):
            raise Refused(f"Too many questions: at most {rate} per minute from one client. Wait a moment and ask again.")

    def feedback(self, request: Any) -> None:
        """Raise Refused when this client sent feedback too often."""
        rate = self.settings.ui_feedback_per_min
        if self._take("feedback", rate, _address(request), getattr(request, "username", None) if request else None):
            raise Refused(f"Too much feedback: at most {rate} per minute. Wait a moment.")


def check_write(request: Any, login: bool) -> None:
    """Raise Refused unless `request` (a `gr.Request`; None for an in-process call) may change
    something: it must carry this server's `Origin` (a browser on the chat window's page;
    scripts and other clients send none) and, when login is on, a logged-in user."""
    if request is None:
        return
    headers = {k.lower(): v for k, v in dict(getattr(request, "headers", {}) or {}).items()}
    if login and not getattr(request, "username", None):
        raise Refused("log in first")
    origin = headers.get("origin")
    if origin is None or not same_origin(origin, headers.get("host", "")) \
            or headers.get("sec-fetch-site", "same-origin") != "same-origin":
        raise Refused("changes are accepted from the chat window's own page only")


def login_checker(limits: Limits, user: str, password: str) -> Callable[[str, str], bool]:
    """Gradio's `auth` callable: one user name and password, compared in constant time, and at
    most ASSISTANT_UI_LOGIN_PER_MIN attempts a minute per user name (429 past that)."""
    from fastapi import HTTPException

    def check(name: str, given: str) -> bool:
        wait = limits.login_user(name)
        if wait:
            raise HTTPException(429, f"too many login attempts for this user: retry after {math.ceil(wait)} s",
                                headers={"Retry-After": str(math.ceil(wait))})
        return hmac.compare_digest(name.encode(), user.encode()) & hmac.compare_digest(given.encode(), password.encode())

    return check


def _client(scope: dict[str, Any]) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def _address(request: Any) -> str | None:
    client = getattr(request, "client", None) if request is not None else None
    return getattr(client, "host", None) if client is not None else None


async def _deny(scope: dict[str, Any], send: Callable[[dict[str, Any]], Awaitable[None]], status: int,
                message: str, extra: dict[str, str] | None = None) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"detail": message, "error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")] + [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
