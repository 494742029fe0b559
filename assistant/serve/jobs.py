"""Ingest jobs for `assistant api`: `POST /v1/documents` stores the upload and returns a job
at once; one background thread per worker process runs the ingests in order. Job records
live in a small SQLite file beside the index, so any worker of the same host can report
on a job another one runs."""
from __future__ import annotations

import copy
import json
import os
import secrets
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from assistant.core.data import IngestReport
from assistant.core.errors import AssistantError, IndexLocked
from assistant.core.private import private_dir, private_files, sqlite_files

Ingest = Callable[[list[Path], Callable[[int, int, str], None]], IngestReport]
Describe = Callable[[IngestReport], dict[str, Any]]
LOCK_WAIT = 600.0  # seconds an ingest waits for another process's write lock
KEEP_JOBS = 1000  # finished job records kept (the newest); older ones are dropped
JOB_TTL = 7 * 24 * 3600.0  # seconds a finished job record is kept at most


class JobStore:
    """Job records: id, status (queued, running, succeeded, failed), progress, result, error."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            private_dir(self.path.parent)
            db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            private_files(*sqlite_files(self.path))
            db.execute("CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, record TEXT)")
            self._local.db = db
        return db

    def create(self, files: list[str]) -> dict[str, Any]:
        """A new queued job for these file names (finished jobs past KEEP_JOBS or JOB_TTL
        are dropped first, so the table does not grow without bound)."""
        self.prune()
        job = {"id": "job_" + secrets.token_hex(8), "object": "ingest.job", "status": "queued", "files": files,
               "pid": os.getpid(), "created_at": int(time.time()), "started_at": None, "finished_at": None,
               "progress": {"done": 0, "total": None, "current": None}, "result": None, "error": None}
        self.save(job)
        return job

    def save(self, job: dict[str, Any]) -> None:
        """Write a job record (replacing the previous one)."""
        self._db().execute("INSERT OR REPLACE INTO jobs (id, record) VALUES (?, ?)", (job["id"], json.dumps(job)))

    def prune(self, keep: int = KEEP_JOBS, ttl: float = JOB_TTL) -> None:
        """Drop finished jobs older than `ttl` seconds and all but the newest `keep` finished ones."""
        done = "json_extract(record, '$.finished_at')"
        db = self._db()
        db.execute(f"DELETE FROM jobs WHERE {done} IS NOT NULL AND {done} < ?", (time.time() - ttl,))
        db.execute(f"DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE {done} IS NOT NULL "
                   f"ORDER BY {done} DESC, rowid DESC LIMIT -1 OFFSET ?)", (keep,))

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job record, or None when no job has that id. A queued or running job whose
        worker process is gone (killed, or restarted) is recorded as failed."""
        row = self._db().execute("SELECT record FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if not row:
            return None
        job = json.loads(row[0])
        if job["status"] in ("queued", "running") and not process_alive(job.get("pid")):
            job.update(status="failed", finished_at=int(time.time()), error={
                "type": "worker_stopped",
                "message": "the server process running this job stopped before it finished; what it committed "
                           "stays indexed: upload the files again to finish (unchanged articles are skipped)"})
            self.save(job)
        return job


def process_alive(pid: Any) -> bool:
    """True when process `pid` exists (a record without a pid counts as alive)."""
    if not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobRunner:
    """Runs ingests one after another on a background thread and records their progress."""

    def __init__(self, store: JobStore, ingest: Ingest, describe: Describe, redact: Callable[[str], str]) -> None:
        self.store = store
        self._ingest, self._describe, self._redact = ingest, describe, redact
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-job")

    def submit(self, paths: list[Path], names: list[str]) -> dict[str, Any]:
        """Queue an ingest of `paths` (already written to disk); returns the new job record."""
        job = self.store.create(names)
        self._pool.submit(self._run, copy.deepcopy(job), paths)  # the caller's copy is not changed under it
        return job

    def _run(self, job: dict[str, Any], paths: list[Path]) -> None:
        job.update(status="running", started_at=int(time.time()))
        self.store.save(job)
        last = 0.0

        def progress(done: int, total: int, label: str) -> None:
            nonlocal last
            job["progress"] = {"done": done, "total": total, "current": label[:80]}
            if time.monotonic() - last > 0.5 or done == total:
                last = time.monotonic()
                self.store.save(job)

        try:
            report = self._ingest_when_free(job, paths, progress)
            job.update(status="succeeded", result=self._describe(report))
        except AssistantError as e:
            job.update(status="failed", error={"message": self._redact(str(e)), "type": type(e).__name__})
        except Exception:  # a bug: the record says so without internals; the log has the traceback
            import logging

            logging.getLogger(__name__).exception("ingest job %s failed", job["id"])
            job.update(status="failed", error={"message": "internal error while ingesting; see the server log",
                                               "type": "internal_error"})
        job["finished_at"] = int(time.time())
        self.store.save(job)

    def _ingest_when_free(self, job: dict[str, Any], paths: list[Path], progress: Any) -> IngestReport:
        """Ingest, waiting (up to LOCK_WAIT seconds) while another worker process holds the
        local index's write lock."""
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                return self._ingest(paths, progress)
            except IndexLocked:
                if time.monotonic() > deadline:
                    raise
                job["progress"]["current"] = "waiting for another ingest to finish"
                self.store.save(job)
                time.sleep(1.0)

    def shutdown(self) -> None:
        """Finish the running job and stop (queued jobs still run first)."""
        self._pool.shutdown(wait=True)
