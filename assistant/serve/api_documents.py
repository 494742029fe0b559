"""`assistant api` routes that manage the index and the service: /v1/documents (list, get,
upload as a background job, delete), /v1/jobs/{id}, /healthz and /metrics."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from assistant.core.data import IngestReport, to_dict
from assistant.core.private import private_dir
from assistant.ingest.load import SUPPORTED, suffix_of
from assistant.serve.api_access import ApiError
from assistant.serve.api_service import Service
from assistant.serve.jobs import JobRunner, JobStore
from assistant.serve.openai_format import public_source
from assistant.serve.uploads import drop_upload, shorten_name

JSONL_TYPES = ("application/jsonl", "application/x-ndjson", "application/x-jsonlines", "application/json-lines",
               "application/jsonlines")


def safe_name(name: str) -> str:
    """A file name that stays inside the upload folder: no directories, no odd characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip(".-")
    return shorten_name(base, 100) if base else "upload"


class DocumentRoutes:
    """The document, job and service routes over one `Service`."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.bot = service.bot
        self.folder = self.bot.settings.index_path / "uploads" / "api"
        store = JobStore(self.bot.settings.index_path / "api_state.sqlite3")
        self.jobs = JobRunner(store, self._ingest, self._describe, service.redact)

    def add_to(self, app: FastAPI) -> None:
        """Register the routes."""
        read, write = self.service.auth("read"), self.service.auth("write")
        app.get("/v1/documents", dependencies=[read], tags=["documents"])(self.list_documents)
        app.get("/v1/documents/{doc_id}", dependencies=[read], tags=["documents"])(self.get_document)
        app.post("/v1/documents", dependencies=[write], status_code=202, tags=["documents"])(self.upload)
        app.delete("/v1/documents/{doc_id}", dependencies=[write], tags=["documents"])(self.delete_document)
        app.get("/v1/jobs/{job_id}", dependencies=[read], tags=["documents"])(self.get_job)
        app.get("/healthz", tags=["service"])(self.health)
        app.get("/metrics", dependencies=[read], tags=["service"])(self.metrics)

    # -- documents ----------------------------------------------------------------------------
    def list_documents(self) -> dict[str, Any]:
        """Every indexed document (no text), with its chunk count."""
        data = [{**to_dict(d), "source": public_source(d.source), "object": "document"} for d in self.bot.documents()]
        return {"object": "list", "data": data}

    def get_document(self, doc_id: str) -> dict[str, Any]:
        """One document with its full text (citations' `start`/`end` index this text)."""
        doc = self.bot.document(doc_id)
        return {**to_dict(doc), "source": public_source(doc.source), "object": "document"}

    def delete_document(self, doc_id: str) -> dict[str, Any]:
        """Remove a document and its chunks; its uploaded file goes too once no other
        document comes from it."""
        source = next((d.source for d in self.bot.documents() if d.id == doc_id), "")
        self.bot.delete(doc_id)
        drop_upload(source, self.folder, [d.source for d in self.bot.documents()])
        return {"id": doc_id, "object": "document", "deleted": True}

    async def upload(self, request: Request, name: str | None = None) -> JSONResponse:
        """Articles to ingest: a multipart upload (`file` fields: .txt .md .html .pdf .json
        .jsonl) or a JSONL body (`Content-Type: application/jsonl`; `?name=` keeps a stable
        file name so a changed upload replaces its records). Returns a job (202)."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            paths = await self._save_form(request)
        elif kind in JSONL_TYPES or kind == "application/json":
            paths = [await self._save_body(request, ".json" if kind == "application/json" else ".jsonl", name)]
        else:
            raise ApiError(415, "send a JSONL body (Content-Type: application/jsonl) or a multipart/form-data "
                                "upload with `file` fields", "unsupported_media_type")
        job = self.jobs.submit(paths, [p.name for p in paths])
        return JSONResponse(job, status_code=202, headers={"Location": f"/v1/jobs/{job['id']}"})

    async def _save_body(self, request: Request, suffix: str, name: str | None) -> Path:
        private_dir(self.folder)
        tmp = self.folder / f".incoming-{secrets.token_hex(8)}{suffix}"
        digest, size = hashlib.sha256(), 0
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as f:
                async for part in request.stream():
                    digest.update(part)
                    size += len(part)
                    f.write(part)
            if not size:
                raise ApiError(400, "the body is empty: send one JSON article per line", "empty_body")
            final = safe_name(name) if name else f"body-{digest.hexdigest()[:16]}{suffix}"
            if not final.lower().endswith(suffix):
                final += suffix
            dest = self.folder / final
            tmp.replace(dest)
            return dest
        finally:
            tmp.unlink(missing_ok=True)

    async def _save_form(self, request: Request) -> list[Path]:
        """Each file goes to `uploads/api/<content hash>/<name>`: the same file sent again is
        the same path (an unchanged document), and another client's file of the same name
        never replaces it, nor does a second upload overwrite one whose job has not run yet."""
        form = await request.form(max_files=100, max_fields=20)
        try:
            uploads = [v for _, v in form.multi_items() if hasattr(v, "filename") and hasattr(v, "file")]
            if not uploads:
                raise ApiError(400, "no files in the upload: send them as `file` fields", "no_files")
            names = [safe_name(upload.filename or "upload.txt") for upload in uploads]
            for name in names:  # all checked before any is written
                if suffix_of(Path(name)) not in SUPPORTED:
                    raise ApiError(400, f"{name}: unsupported file type; use {' '.join(SUPPORTED)}", "unsupported_file")
            private_dir(self.folder)
            return [await anyio.to_thread.run_sync(_store, upload.file, self.folder, name)
                    for upload, name in zip(uploads, names)]
        finally:
            await form.close()

    def _ingest(self, paths: list[Path], progress: Any) -> IngestReport:
        return self.bot.ingest(paths, progress=progress)

    def _describe(self, report: IngestReport) -> dict[str, Any]:
        data = to_dict(report)
        data["skipped"] = [{"source": public_source(s.source), "reason": self.service.redact(s.reason)}
                           for s in report.skipped]
        return data

    def get_job(self, job_id: str) -> dict[str, Any]:
        """An ingest job: status (queued, running, succeeded, failed), progress, result
        (added, updated, unchanged, removed, skipped with reasons, chunks_added), error."""
        job = self.jobs.store.get(job_id)
        if job is None:
            raise ApiError(404, f"no job {job_id!r} on this host: jobs are kept by the host that accepted "
                                "the upload", "job_not_found")
        return job

    # -- service ------------------------------------------------------------------------------
    def health(self) -> JSONResponse:
        """Store, BM25 and LLM reachability: 200 when all can serve, else 503. No details leak."""
        checks = {"store": _probe(lambda: self.bot.store.stamp()),
                  "bm25": _probe(lambda: "ok" if self.bot.keyword().size else "empty"),
                  "llm": self._llm_status()}
        healthy = checks["store"] == "ok" and checks["bm25"] in ("ok", "empty") and checks["llm"] in ("ok", "not used")
        return JSONResponse({"status": "ok" if healthy else "unavailable", **checks}, status_code=200 if healthy else 503)

    def _llm_status(self) -> str:
        s = self.bot.settings
        if s.generator == "extractive":
            return "not used"
        if s.generator == "local":
            return _probe(lambda: self.bot.generator and "ok")
        return _probe(lambda: self.bot.generator.client().with_options(max_retries=0, timeout=3).models.list() and "ok")

    def metrics(self) -> Response:
        """Prometheus text format."""
        body, kind = self.service.metrics.render()
        return Response(body, media_type=kind)


def _probe(check: Any) -> str:
    try:
        result = check()
        return result if result in ("ok", "empty") else "ok"
    except Exception:
        return "unavailable"


def _store(src: Any, folder: Path, name: str) -> Path:
    """Copy an uploaded file to `folder/<sha256 prefix>/name` through a fresh temp file
    (never through a link planted in the folder); returns the final path."""
    src.seek(0)
    tmp = folder / f".incoming-{secrets.token_hex(8)}"
    digest = hashlib.sha256()
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as f:
            while block := src.read(1 << 20):
                digest.update(block)
                f.write(block)
        sub = folder / digest.hexdigest()[:16]
        sub.mkdir(mode=0o700, exist_ok=True)
        dest = sub / name
        os.replace(tmp, dest)  # replaces a link at dest itself, never its target
        return dest
    finally:
        tmp.unlink(missing_ok=True)
