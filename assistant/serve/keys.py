"""API keys for `assistant api`: bearer tokens stored only as SHA-256 hashes in a small
JSON file (by default `api_keys.json` beside the index), with scopes and a per-key rate.

The token is shown once, by `create`; the file holds its hash, so reading the file does
not give a usable key. Running servers re-read the file when it changes, so a created or
revoked key takes effect without a restart."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from assistant.core.errors import AssistantError

SCOPES = ("read", "write")
PREFIX = "sk-news-"


class ApiKeyError(AssistantError):
    """A key operation failed (unknown id, bad scope, unreadable key file)."""


@dataclass(frozen=True)
class ApiKey:
    """One key as stored: never the token itself."""

    id: str
    name: str
    scopes: tuple[str, ...]
    hash: str
    created: str
    rate_per_min: int | None = None  # None: the server's ASSISTANT_API_RATE_PER_MIN
    revoked: str | None = None

    def public(self) -> dict[str, object]:
        """The key's fields without its hash (for `keys list`)."""
        return {k: v for k, v in asdict(self).items() if k != "hash"}


def hash_token(token: str) -> str:
    """SHA-256 of a token (tokens are 256-bit random, so a fast hash is enough)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class KeyStore:
    """The key file at `path`. `verify(token)` is cheap: the file is re-read only when its
    modification time changes (checked at most once a second)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys: list[ApiKey] = []
        self._stamp: tuple[int, int] | None = None
        self._broken: str | None = None
        self._checked = 0.0

    # -- reading ---------------------------------------------------------------------------
    def exists(self) -> bool:
        """True once a key file exists (even if every key in it is revoked)."""
        self._refresh()
        return self._stamp is not None

    def keys(self) -> list[ApiKey]:
        """Every key, revoked ones included."""
        self._refresh(force=True)
        return list(self._keys)

    def verify(self, token: str) -> ApiKey | None:
        """The active key whose hash matches `token`, else None (constant-time compare)."""
        self._refresh()
        digest = hash_token(token)
        found = None
        for key in self._keys:
            if hmac.compare_digest(key.hash, digest) and key.revoked is None:
                found = key
        return found

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._checked >= 1.0:
            with self._lock:
                self._checked = now
                try:
                    st = self.path.stat()
                except FileNotFoundError:
                    self._keys, self._stamp, self._broken = [], None, None
                    return
                stamp = (st.st_mtime_ns, st.st_size)
                if stamp != self._stamp:
                    # A broken file still counts as existing, with no key in it, until it changes.
                    try:
                        keys, broken = self._read(), None
                    except ApiKeyError as e:
                        keys, broken = [], str(e)
                    self._keys, self._stamp, self._broken = keys, stamp, broken
        if self._broken is not None:
            raise ApiKeyError(self._broken)

    def _read(self) -> list[ApiKey]:
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8")).get("keys", [])
            return [ApiKey(**{**r, "scopes": tuple(r["scopes"])}) for r in rows]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            # A broken key file must not open the server: every request gets this error (503).
            raise ApiKeyError(f"the API key file {self.path.name} cannot be read: fix or remove it, then "
                            "create keys again with `assistant keys create NAME`") from None

    # -- writing ---------------------------------------------------------------------------
    def create(self, name: str, scopes: tuple[str, ...] = ("read",), rate_per_min: int | None = None) -> tuple[ApiKey, str]:
        """Add a key; returns it and its token (shown once, stored only hashed)."""
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise ApiKeyError(f"unknown scope(s) {', '.join(bad) or '(none)'}: use read, write or read,write")
        if rate_per_min is not None and rate_per_min < 1:
            raise ApiKeyError("--rate must be at least 1 request per minute")
        token = PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(id="key_" + secrets.token_hex(4), name=name.strip() or "unnamed", scopes=tuple(dict.fromkeys(scopes)),
                     hash=hash_token(token), created=_now(), rate_per_min=rate_per_min)
        self._write(self.keys() + [key])
        return key, token

    def revoke(self, key_id: str) -> ApiKey:
        """Mark a key revoked (kept in the file, so `list` shows it); returns it."""
        keys = self.keys()
        for i, key in enumerate(keys):
            if key.id == key_id:
                keys[i] = replace(key, revoked=key.revoked or _now())
                self._write(keys)
                return keys[i]
        raise ApiKeyError(f"no API key {key_id!r}: `assistant keys list` shows the ids")

    def _write(self, keys: list[ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        data = {"keys": [{**asdict(k), "scopes": list(k.scopes)} for k in keys]}
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, self.path)
        self._refresh(force=True)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
