"""Serving: the OpenAI-compatible HTTP API with keys, limits and request checks, uploads, jobs
and metrics. The chat UI lives in `assistant.serve.ui` (imported on its own: it loads
Gradio)."""

from assistant.serve.api import create_app
from assistant.serve.api_access import ApiError, Gate, allowed_hosts, host_name
from assistant.serve.jobs import JobRunner, JobStore
from assistant.serve.keys import ApiKeyError, KeyStore
from assistant.serve.openai_format import answer_object
from assistant.serve.ratelimit import RateLimiter
from assistant.serve.uploads import PrivateFiles

__all__ = [
    "ApiError",
    "ApiKeyError",
    "Gate",
    "JobRunner",
    "JobStore",
    "KeyStore",
    "PrivateFiles",
    "RateLimiter",
    "allowed_hosts",
    "answer_object",
    "create_app",
    "host_name",
]
