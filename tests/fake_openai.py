"""A small scriptable OpenAI-compatible HTTP server on 127.0.0.1 for tests.

`FakeOpenAI().replies` is a queue of scripted chat replies, one per chat request:
- a str: the answer text (streamed word by word when the request streams);
- an int: that HTTP status with an OpenAI-style error body;
- a `Script`: a status with headers (429 + Retry-After), a hang before answering, a
  stream cut after some words (the connection drops mid-body), a finish reason, no usage.
`requests` records every JSON body received, `headers` their headers (lower-case keys).
When the queue is empty the reply is `default`. Embeddings are a deterministic hash bag;
GET /v1/models lists one model."""
from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Script:
    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""
    hang: float = 0.0
    cut_after: int | None = None
    finish: str = "stop"
    usage: bool = True
    delay: float = 0.0  # seconds between streamed words


class FakeOpenAI:
    def __init__(self, default: str = "The articles don't say.") -> None:
        self.replies: list[str | int | Script] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.default = default
        self.embed_fail_marker: str | None = None  # 500 for any embedding input containing it
        self.embed_delay = 0.0  # seconds per embeddings request
        self.chat_delay = 0.0  # seconds before each chat reply
        self.responder: Any = None  # body -> reply text, used when `replies` is empty
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    return self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
                self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with fake.lock:
                    fake.requests.append({"path": self.path, **body})
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path.endswith("/embeddings"):
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    if fake.embed_delay:
                        time.sleep(fake.embed_delay)
                    if fake.embed_fail_marker and any(fake.embed_fail_marker in str(t) for t in inputs):
                        return self._json(500, {"error": {"message": "scripted embedding failure"}})
                    data = [{"object": "embedding", "index": i, "embedding": _vector(t)} for i, t in enumerate(inputs)]
                    return self._json(200, {"object": "list", "data": data, "model": body["model"],
                                            "usage": {"prompt_tokens": 1, "total_tokens": 1}})
                with fake.lock:
                    reply = fake.replies.pop(0) if fake.replies else (
                        fake.responder(body) if fake.responder else fake.default)
                script = reply if isinstance(reply, Script) else Script(status=reply) if isinstance(reply, int) \
                    else Script(text=reply)
                if script.hang or fake.chat_delay:
                    time.sleep(script.hang or fake.chat_delay)
                if script.status != 200:
                    message = script.error or f"scripted {script.status}"
                    return self._json(script.status, {"error": {"message": message, "type": "x", "code": None}},
                                      script.headers)
                if body.get("stream"):
                    return self._stream(script, body["model"])
                usage = {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60} if script.usage else None
                self._json(200, {"id": "c1", "object": "chat.completion", "created": int(time.time()),
                                 "model": body["model"],
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": script.text},
                                              "finish_reason": script.finish}],
                                 "usage": usage})

            def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _stream(self, script: Script, model: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                base = {"id": "c1", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
                words = script.text.split(" ")
                for i, w in enumerate(words):
                    if script.cut_after is not None and i >= script.cut_after:
                        # Drop the connection mid-body: no final chunk, no [DONE].
                        self.close_connection = True
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                    piece = w if i == 0 else " " + w
                    event = {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self._chunk(f"data: {json.dumps(event)}\n\n".encode())
                    if script.delay:
                        time.sleep(script.delay)
                end = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": script.finish}]}
                self._chunk(f"data: {json.dumps(end)}\n\n".encode())
                if script.usage:
                    usage = {**base, "choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": len(words),
                                                              "total_tokens": 50 + len(words)}}
                    self._chunk(f"data: {json.dumps(usage)}\n\n".encode())
                self._chunk(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # scripted connection drops are the point, not noise


def _vector(text: str, dim: int = 64) -> list[float]:
    vec = [0.0] * dim
    for word in text.lower().split():
        vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % dim] += 1.0
    return vec
