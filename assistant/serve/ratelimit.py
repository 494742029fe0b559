"""Per-key rate limits for `assistant api`: a token bucket per key, kept in a small SQLite
file beside the index so that every worker process of one host shares it (a key gets its
rate, not its rate times the number of workers)."""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from assistant.core.private import private_dir, private_files, sqlite_files


class RateLimiter:
    """`take(bucket, rate_per_min)` spends one request from `bucket` (a key id or a client
    address). A bucket holds up to `rate_per_min` requests and refills at that rate, so a
    client may burst up to its minute's worth and then keeps to the rate."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._pruned = 0.0

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            private_dir(self.path.parent)
            db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            private_files(*sqlite_files(self.path))
            db.execute("PRAGMA synchronous=OFF")  # losing a bucket in a crash only forgives some requests
            db.execute("CREATE TABLE IF NOT EXISTS buckets (id TEXT PRIMARY KEY, tokens REAL, at REAL)")
            self._local.db = db
        return db

    def take(self, bucket: str, rate_per_min: int) -> float:
        """0.0 when the request may go ahead, else the seconds to wait before the next one."""
        db = self._db()
        now = time.time()
        per_second = rate_per_min / 60.0
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT tokens, at FROM buckets WHERE id = ?", (bucket,)).fetchone()
            tokens = float(rate_per_min) if row is None else min(float(rate_per_min), row[0] + (now - row[1]) * per_second)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / per_second
            if not wait:
                tokens -= 1.0
            db.execute("INSERT OR REPLACE INTO buckets (id, tokens, at) VALUES (?, ?, ?)", (bucket, tokens, now))
            if now - self._pruned > 60:
                # A bucket untouched for a minute has refilled: dropping it changes nothing, and
                # one row per client address that ever called would otherwise be kept forever.
                self._pruned = now
                db.execute("DELETE FROM buckets WHERE at < ?", (now - 60.0,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return wait
