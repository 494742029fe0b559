"""The one settings object: explicit argument > environment variable > default."""
from __future__ import annotations

import dataclasses
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from assistant.core.errors import ConfigError

# Setting name -> (environment variables in priority order, type).
_ENV: dict[str, tuple[tuple[str, ...], type]] = {
    "index": (("ASSISTANT_INDEX",), str),
    "chroma_url": (("ASSISTANT_CHROMA_URL",), str),
    "collection": (("ASSISTANT_COLLECTION",), str),
    "embedder": (("ASSISTANT_EMBEDDER",), str),
    "embed_base_url": (("ASSISTANT_EMBED_BASE_URL", "OPENAI_BASE_URL"), str),
    "embed_api_key": (("ASSISTANT_EMBED_API_KEY", "OPENAI_API_KEY"), str),
    "generator": (("ASSISTANT_GENERATOR",), str),
    "llm_model": (("ASSISTANT_LLM_MODEL",), str),
    "llm_base_url": (("ASSISTANT_LLM_BASE_URL", "OPENAI_BASE_URL"), str),
    "llm_api_key": (("ASSISTANT_LLM_API_KEY", "OPENAI_API_KEY"), str),
    "llm_timeout": (("ASSISTANT_LLM_TIMEOUT",), float),
    "llm_retries": (("ASSISTANT_LLM_RETRIES",), int),
    "llm_context_tokens": (("ASSISTANT_LLM_CONTEXT_TOKENS",), int),
    "llm_max_tokens": (("ASSISTANT_LLM_MAX_TOKENS",), int),
    "llm_price_in": (("ASSISTANT_LLM_PRICE_IN",), float),
    "llm_price_out": (("ASSISTANT_LLM_PRICE_OUT",), float),
    "local_model": (("ASSISTANT_LOCAL_MODEL",), str),
    "local_port": (("ASSISTANT_LOCAL_PORT",), int),
    "judge": (("ASSISTANT_JUDGE",), str),
    "answer_policy": (("ASSISTANT_ANSWER_POLICY",), str),
    "retrieval": (("ASSISTANT_RETRIEVAL",), str),
    "fusion_weight": (("ASSISTANT_FUSION_WEIGHT",), float),
    "rerank_weight": (("ASSISTANT_RERANK_WEIGHT",), float),
    "encoder_rerank": (("ASSISTANT_ENCODER_RERANK",), float),
    "encoder_depth": (("ASSISTANT_ENCODER_DEPTH",), int),
    "reader": (("ASSISTANT_READER",), str),
    "recency_half_life": (("ASSISTANT_RECENCY_HALF_LIFE",), float),
    "link_hosts": (("ASSISTANT_LINK_HOSTS",), str),
    "ui_concurrency": (("ASSISTANT_UI_CONCURRENCY",), int),
    "ui_queue_size": (("ASSISTANT_UI_QUEUE_SIZE",), int),
    "ui_rate_per_min": (("ASSISTANT_UI_RATE_PER_MIN",), int),
    "ui_login_per_min": (("ASSISTANT_UI_LOGIN_PER_MIN",), int),
    "ui_feedback_per_min": (("ASSISTANT_UI_FEEDBACK_PER_MIN",), int),
    "ui_feedback_max_mb": (("ASSISTANT_UI_FEEDBACK_MAX_MB",), float),
    "ui_max_body_mb": (("ASSISTANT_UI_MAX_BODY_MB",), float),
    "ui_max_upload_mb": (("ASSISTANT_UI_MAX_UPLOAD_MB",), float),
    "ui_allowed_hosts": (("ASSISTANT_UI_ALLOWED_HOSTS",), str),
    "top_k": (("ASSISTANT_TOP_K",), int),
    "chunk_tokens": (("ASSISTANT_CHUNK_TOKENS",), int),
    "chunk_overlap": (("ASSISTANT_CHUNK_OVERLAP",), int),
    "max_file_mb": (("ASSISTANT_MAX_FILE_MB",), float),
    "ingest_workers": (("ASSISTANT_INGEST_WORKERS",), int),
    "min_support": (("ASSISTANT_MIN_SUPPORT",), float),
    "api_host": (("ASSISTANT_API_HOST",), str),
    "api_port": (("ASSISTANT_API_PORT",), int),
    "api_workers": (("ASSISTANT_API_WORKERS",), int),
    "api_auth": (("ASSISTANT_API_AUTH",), str),
    "api_keys_file": (("ASSISTANT_API_KEYS_FILE",), str),
    "api_rate_per_min": (("ASSISTANT_API_RATE_PER_MIN",), int),
    "api_max_body_mb": (("ASSISTANT_API_MAX_BODY_MB",), float),
    "api_concurrency": (("ASSISTANT_API_CONCURRENCY",), int),
    "api_queue_size": (("ASSISTANT_API_QUEUE_SIZE",), int),
    "api_cors_origins": (("ASSISTANT_API_CORS_ORIGINS",), str),
    "api_allowed_hosts": (("ASSISTANT_API_ALLOWED_HOSTS",), str),
    "trusted_proxies": (("ASSISTANT_TRUSTED_PROXIES",), str),
}


# Answer backends: the built-in extractive answerer, any OpenAI-compatible endpoint, or the
# local LLM (Qwen2.5-Coder-1.5B by default, in llama.cpp's server, started by the app).
GENERATORS = ("extractive", "openai", "local")


@dataclass(frozen=True)
class Settings:
    """Every knob of the assistant. Build with `Settings.load(**overrides)`."""

    index: str = "index"
    chroma_url: str | None = None
    collection: str = "articles"
    embedder: str = "wordllama"
    embed_base_url: str | None = None
    embed_api_key: str | None = field(default=None, repr=False)
    generator: str = "extractive"
    llm_model: str | None = None
    llm_base_url: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_timeout: float = 30.0
    llm_retries: int = 2
    llm_context_tokens: int = 3000
    llm_max_tokens: int = 400
    llm_price_in: float | None = None
    llm_price_out: float | None = None
    local_model: str | None = None  # a local model's name (assistant.models.local_models) or a GGUF path; None: the default
    local_port: int = 0
    judge: str = "none"
    answer_policy: str = "refuse"
    retrieval: str = "hybrid"
    fusion_weight: float = 0.2  # dense side's share in hybrid retrieval (BM25 gets the rest): evals/tune_fusion.py
    rerank_weight: float = 0.0  # soft question coverage added to the fused score of the best 30 (assistant.retrieve.rerank)
    # all-MiniLM-L6-v2's cosine(question, chunk) times this is added to the fused score of the
    # best `encoder_depth` candidates (assistant.models.encoder; 0 = off, 100 = the encoder's order).
    # Off: on dev it did not earn its time (README, "Sentence encoder re-rank").
    encoder_rerank: float = 0.0
    encoder_depth: int = 20
    # How the extractive reader reads a question: "parse" (spaCy's parse: what it asks for and
    # what the answer must be attached to, assistant.answer.asked) or "rules" (patterns only).
    reader: str = "parse"
    recency_half_life: float = 7.0  # days; "latest/now" questions decay older articles (assistant.retrieve.recency; 0 = off)
    link_hosts: str = ""
    ui_concurrency: int = 2
    ui_queue_size: int = 32
    ui_rate_per_min: int = 20  # questions per minute per client address (and per user when login is on)
    ui_login_per_min: int = 10  # login attempts per minute per client address and per user name
    ui_feedback_per_min: int = 10  # feedback posts per minute per client address
    ui_feedback_max_mb: float = 10.0  # feedback.jsonl stops growing at this size
    ui_max_body_mb: float = 1.0  # any UI request but a file upload
    ui_max_upload_mb: float = 100.0  # one file-upload request (all its files; each file: max_file_mb)
    ui_allowed_hosts: str = ""  # extra Host header names for the UI (DNS rebinding guard); "*": any
    top_k: int = 5
    chunk_tokens: int = 160
    chunk_overlap: int = 40
    max_file_mb: float = 20.0
    ingest_workers: int = 1  # processes that chunk and embed while the main one writes (0: in-process)
    min_support: float = 0.62  # assistant.answer.support.THRESHOLD: chosen on HaluEval dev (evals/tune_checker.py)
    # The HTTP API (`assistant api`, assistant.serve.api)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = 1
    api_auth: str = "auto"  # auto: keys needed once a key file exists | required | off
    api_keys_file: str | None = None  # default: api_keys.json in the index directory
    api_rate_per_min: int = 120  # requests per minute per key (per client address when open)
    api_max_body_mb: float = 20.0
    api_concurrency: int = 4  # answers computed at once per worker process
    api_queue_size: int = 64  # requests waiting for one; beyond that: 503
    api_cors_origins: str = ""  # comma-separated origins allowed by CORS; empty: CORS off
    api_allowed_hosts: str = ""  # extra Host header names (DNS rebinding guard); "*": any
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto the API and UI servers believe
    # (comma-separated IPs or networks); empty: none, the client is the TCP peer.
    trusted_proxies: str = ""

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Settings from `overrides` (None values ignored), then `env` (default
        `os.environ`), then defaults. Raises ConfigError on a malformed value."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, (names, kind) in _ENV.items():
            for var in names:
                raw = env.get(var)
                if raw not in (None, ""):
                    values[name] = _convert(var, raw, kind)
                    break
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "index" in values:
            values["index"] = str(values["index"])
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ConfigError when values are out of range."""
        if self.top_k < 1:
            raise ConfigError("top_k must be at least 1 (ASSISTANT_TOP_K)")
        if self.chunk_tokens < 16:
            raise ConfigError("chunk_tokens must be at least 16 (ASSISTANT_CHUNK_TOKENS)")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ConfigError("chunk_overlap must be >= 0 and < chunk_tokens (ASSISTANT_CHUNK_OVERLAP)")
        if not 0 <= self.ingest_workers <= 8:
            raise ConfigError("ingest_workers must be 0..8 (ASSISTANT_INGEST_WORKERS)")
        if self.max_file_mb <= 0:
            raise ConfigError("max_file_mb must be positive (ASSISTANT_MAX_FILE_MB)")
        if self.generator not in GENERATORS:
            raise ConfigError(f"unknown generator {self.generator!r}: use one of {', '.join(GENERATORS)} "
                              "(ASSISTANT_GENERATOR)")
        if self.retrieval not in ("hybrid", "dense", "bm25"):
            raise ConfigError(f"unknown retrieval mode {self.retrieval!r}: use hybrid, dense or bm25 (ASSISTANT_RETRIEVAL)")
        if not 0.0 <= self.fusion_weight <= 1.0:
            raise ConfigError("fusion_weight must be in [0, 1]: the dense side's share (ASSISTANT_FUSION_WEIGHT)")
        if not 0.0 <= self.recency_half_life <= 36500:
            raise ConfigError("recency_half_life must be in [0, 36500] days (ASSISTANT_RECENCY_HALF_LIFE; 0 turns it off)")
        if self.reader not in ("parse", "rules"):
            raise ConfigError(f"unknown reader {self.reader!r}: use parse or rules (ASSISTANT_READER)")
        if not 0.0 <= self.rerank_weight <= 5.0:
            raise ConfigError("rerank_weight must be in [0, 5] (ASSISTANT_RERANK_WEIGHT; 0 turns re-ranking off)")
        if not 0.0 <= self.encoder_rerank <= 100.0:
            raise ConfigError("encoder_rerank must be in [0, 100] (ASSISTANT_ENCODER_RERANK; 0 turns the sentence "
                              "encoder off, 100 orders the candidates by it alone)")
        if not 1 <= self.encoder_depth <= 100:
            raise ConfigError("encoder_depth must be 1..100 candidates (ASSISTANT_ENCODER_DEPTH)")
        if self.answer_policy not in ("refuse", "warn"):
            raise ConfigError(f"unknown answer policy {self.answer_policy!r}: use 'refuse' or 'warn' "
                              "(ASSISTANT_ANSWER_POLICY)")
        if self.judge not in ("none", "llm"):
            raise ConfigError(f"unknown judge {self.judge!r}: use 'none' or 'llm' (ASSISTANT_JUDGE)")
        if not 0 < self.min_support <= 1:
            raise ConfigError("min_support must be in (0, 1] (ASSISTANT_MIN_SUPPORT)")
        if self.llm_timeout <= 0 or self.llm_retries < 0:
            raise ConfigError("llm_timeout must be positive and llm_retries >= 0 (ASSISTANT_LLM_TIMEOUT/RETRIES)")
        if min(self.ui_concurrency, self.ui_queue_size, self.ui_rate_per_min, self.ui_login_per_min,
               self.ui_feedback_per_min) < 1:
            raise ConfigError("ASSISTANT_UI_CONCURRENCY, _QUEUE_SIZE, _RATE_PER_MIN, _LOGIN_PER_MIN and "
                              "_FEEDBACK_PER_MIN must be at least 1")
        if not (0 < self.ui_max_body_mb <= 1024 and 0 < self.ui_max_upload_mb <= 10240 and self.ui_feedback_max_mb > 0):
            raise ConfigError("ASSISTANT_UI_MAX_BODY_MB must be in (0, 1024], ASSISTANT_UI_MAX_UPLOAD_MB in (0, 10240] "
                              "and ASSISTANT_UI_FEEDBACK_MAX_MB positive")
        if self.llm_context_tokens < 200 or self.llm_max_tokens < 16:
            raise ConfigError("llm_context_tokens must be >= 200 and llm_max_tokens >= 16")
        self._validate_api()
        # Only URLs in use: an OPENAI_BASE_URL meant for another tool must not stop the offline backends.
        if self.generator == "openai":
            check_url(self.llm_base_url, "ASSISTANT_LLM_BASE_URL (or --base-url, OPENAI_BASE_URL)",
                      "http://127.0.0.1:11434/v1")
        if self.embedder.startswith("openai"):
            check_url(self.embed_base_url, "ASSISTANT_EMBED_BASE_URL (or OPENAI_BASE_URL)", "http://127.0.0.1:11434/v1")
        check_url(self.chroma_url, "ASSISTANT_CHROMA_URL (or --chroma-url)", "http://127.0.0.1:8000")

    def _validate_api(self) -> None:
        if self.api_auth not in ("auto", "required", "off"):
            raise ConfigError(f"unknown API auth mode {self.api_auth!r}: use auto, required or off (ASSISTANT_API_AUTH)")
        if not 0 < self.api_port < 65536:
            raise ConfigError("api_port must be in 1..65535 (ASSISTANT_API_PORT or --port)")
        if not 1 <= self.api_workers <= 64:
            raise ConfigError("api_workers must be 1..64 (ASSISTANT_API_WORKERS or --workers)")
        if min(self.api_rate_per_min, self.api_concurrency, self.api_queue_size) < 1:
            raise ConfigError("ASSISTANT_API_RATE_PER_MIN, _CONCURRENCY and _QUEUE_SIZE must be at least 1")
        if not 0 < self.api_max_body_mb <= 1024:
            raise ConfigError("api_max_body_mb must be in (0, 1024] (ASSISTANT_API_MAX_BODY_MB)")
        bad = [o for o in self.api_cors_origins.split(",") if o.strip() and o.strip() != "*"
               and not o.strip().startswith(("http://", "https://"))]
        if bad:
            raise ConfigError("ASSISTANT_API_CORS_ORIGINS takes comma-separated origins like https://app.example.org")
        for proxy in self.forwarded_allow_ips:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ConfigError("ASSISTANT_TRUSTED_PROXIES takes comma-separated proxy addresses or networks "
                                  "like 10.0.0.2,10.1.0.0/16 (not host names, not *)") from None

    @property
    def forwarded_allow_ips(self) -> list[str]:
        """The proxies uvicorn may believe (`forwarded_allow_ips`); [] trusts none (uvicorn's
        own default would trust 127.0.0.1, so any local process could pick its address)."""
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def api_keys_path(self) -> Path:
        """Where the hashed API keys live (ASSISTANT_API_KEYS_FILE, else beside the index)."""
        return Path(self.api_keys_file).expanduser() if self.api_keys_file else self.index_path / "api_keys.json"

    @property
    def index_path(self) -> Path:
        """The local index directory (Chroma data when no server URL is set, BM25 cache always)."""
        return Path(self.index).expanduser()

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some fields changed."""
        new = dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
        new.validate()
        return new


def check_url(url: str | None, setting: str, example: str) -> None:
    """Raise ConfigError naming `setting` and showing `example` unless `url` (None: unset, fine)
    is an http(s) URL with a host and a valid port. The value is not echoed: it may hold a key."""
    if url is None:
        return
    try:
        parts = urlsplit(url)
        parts.port  # raises ValueError for a port that is not a number in 0..65535
        why = ("it must start with http:// or https://" if parts.scheme not in ("http", "https")
               else "it has no host" if not parts.hostname
               else "it contains spaces or control characters" if any(c.isspace() or ord(c) < 32 for c in url)
               else None)
    except ValueError as e:
        why = str(e)
    if why:
        raise ConfigError(f"{setting} is not a valid URL ({why}); use one like {example}")


def _convert(var: str, raw: str, kind: type) -> Any:
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not a valid {kind.__name__}") from None
