"""`assistant api` as another tool sees it: the real server (`python -m assistant api`) on
127.0.0.1 over an index made from seeds/, driven by the official `openai` client (sync,
async, streaming), by raw HTTP for the SSE framing, keys, limits and uploads, and two API
processes sharing one `chroma run` server while one ingests and the other answers."""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import openai
import pytest
from conftest import ARTIFACTS, ROOT, SEEDS, TERRITORY_Q, free_port
from test_backends import chroma_server  # noqa: F401  (the `chroma run` fixture)

from assistant.core.errors import ConfigError
from assistant.core.settings import Settings
from assistant.serve.keys import KeyStore

pytestmark = pytest.mark.slow  # starts servers

REFUSAL_Q = "What is the capital of Australia?"
FERRY = {"id": "lisbon-ferry", "title": "Lisbon opens a new ferry terminal", "url": "https://example.org/lisbon-ferry",
         "published": "2025-03-02", "text": "The Lisbon port authority said on Tuesday that the new ferry terminal at "
         "Cais do Sodré will open in March. The terminal has 38 berths for river ferries and cost the city 41 million "
         "euros, according to the harbour master, Rui Almeida. Commuters from Barreiro and Seixal will use it first."}
FERRY_Q = "How many berths does the new ferry terminal in Lisbon have?"


# -- servers -------------------------------------------------------------------------------------
def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a server: no ambient ASSISTANT_/OPENAI_ settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ASSISTANT_", "PROMETHEUS_")) and k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return {**env, "ANONYMIZED_TELEMETRY": "False", **extra}


START_S = 300  # a cold start on a loaded 2-core machine (imports, embedder, BM25) can be slow
TIMEOUT_S = 180  # per request: generous, the tests assert no timing


class Server:
    """`python -m assistant api` in a subprocess on 127.0.0.1 (a free port, tried again if
    another process took it first); stopped by `stop()`, also when it fails to start."""

    def __init__(self, index: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.index = index
        index.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.log = index.parent / f"api-{self.port}.log"
            self._log = open(self.log, "w")
            cmd = [sys.executable, "-m", "assistant", "api", "--index", str(index), "--port", str(self.port), *args]
            self.proc = subprocess.Popen(cmd, env=clean_env(**(env or {})), cwd=ROOT, stdout=self._log,
                                         stderr=subprocess.STDOUT)
            if self._wait_ready():
                return
            self.stop()
            if "address already in use" not in self.log.read_text().lower() or attempt == 2:
                raise RuntimeError(f"assistant api did not start: {self.log.read_text()[-2000:]}")

    def _wait_ready(self) -> bool:
        deadline = time.time() + START_S
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=10).status_code in (200, 503):
                    return True
            except httpx.HTTPError:
                if self.proc.poll() is not None:
                    return False
                time.sleep(0.3)
        return False

    def client(self, key: str = "none", **kw: Any) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, timeout=TIMEOUT_S, **kw)

    def http(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT_S)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=60)
        self._log.close()


def index_copy(seeded_index: Path, folder: Path) -> Path:
    """A writable copy of the session's seeded index."""
    dest = folder / "index"
    shutil.copytree(seeded_index, dest)
    return dest


@pytest.fixture(scope="module")
def server(seeded_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An open server (no key file) over a copy of the seeded index."""
    s = Server(index_copy(seeded_index, tmp_path_factory.mktemp("api-open")))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def keyed(seeded_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    """A server with keys (read; read+write; read at 3 per minute) and a 100 kB body cap."""
    index = index_copy(seeded_index, tmp_path_factory.mktemp("api-keyed"))
    out = subprocess.run([sys.executable, "-m", "assistant", "keys", "create", "reader", "--index", str(index), "--json"],
                         env=clean_env(), cwd=ROOT, capture_output=True, text=True, check=True, timeout=START_S)
    created = json.loads(out.stdout)
    store = KeyStore(index / "api_keys.json")
    keys = {"read": created["key"], "read_id": created["id"],
            "write": store.create("writer", ("read", "write"))[1], "slow": store.create("slow", ("read",), 3)[1],
            "doomed": store.create("doomed", ("read",))[1]}
    keys["doomed_id"] = store.keys()[-1].id
    assert "hash" not in created and created["key"] not in (index / "api_keys.json").read_text()
    s = Server(index, env={"ASSISTANT_API_MAX_BODY_MB": "0.1"})
    yield s, keys
    s.stop()


# -- helpers -------------------------------------------------------------------------------------
def check_annotations(content: str, annotations: list[Any], http: httpx.Client) -> None:
    """Every annotation points at its `[n]` in the content, and its quote is the document's text
    at [start:end] (read back through GET /v1/documents/{id})."""
    assert annotations, "an answered question carries annotations"
    markers = [m.span() for m in re.finditer(r"\[\d+\]", content)]
    assert [(a["url_citation"]["start_index"], a["url_citation"]["end_index"]) for a in annotations] == markers
    texts: dict[str, str] = {}
    for a in annotations:
        assert a["type"] == "url_citation"
        c = a["url_citation"]
        assert content[c["start_index"]:c["end_index"]] == f"[{c['n']}]"
        if c["doc_id"] not in texts:
            texts[c["doc_id"]] = http.get(f"/v1/documents/{c['doc_id']}").json()["text"]
        assert texts[c["doc_id"]][c["start"]:c["end"]] == c["quote"]
        assert c["url"] and c["title"] and "published" in c and "outlet" in c


def dump(obj: Any) -> list[dict[str, Any]]:
    """Annotations of an openai-client object as plain dicts."""
    return [a.model_dump() if hasattr(a, "model_dump") else a for a in (obj or [])]


def wait_job(http: httpx.Client, job: dict[str, Any], timeout: float = 900) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = http.get(f"/v1/jobs/{job['id']}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job did not finish: {job}")


# -- answers through the openai client -------------------------------------------------------------
def test_seed_question_with_annotations(server: Server):
    client = server.client()
    done = client.chat.completions.create(model="news-assistant", messages=[{"role": "user", "content": TERRITORY_Q}])
    message = done.choices[0].message
    assert "502" in message.content and done.choices[0].finish_reason == "stop"
    with server.http() as http:
        check_annotations(message.content, dump(message.annotations), http)
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens > 0
    assert done.model == "news-assistant" and done.news_assistant["refused"] is False


def test_follow_up_uses_the_conversation(server: Server):
    client = server.client()
    first = client.chat.completions.create(model="news-assistant-extractive",
                                          messages=[{"role": "user", "content": "Who is Samuel Charap?"}])
    follow = client.chat.completions.create(model="news-assistant-extractive", messages=[
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Who is Samuel Charap?"},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": "Where does he work?"}]}])
    message = follow.choices[0].message
    assert "Rand" in message.content
    assert follow.news_assistant["standalone_question"]  # the follow-up was rewritten with the history
    with server.http() as http:
        check_annotations(message.content, dump(message.annotations), http)


def test_refusal_is_a_normal_message(server: Server):
    done = server.client().chat.completions.create(model="news-assistant", messages=[{"role": "user", "content": REFUSAL_Q}])
    message = done.choices[0].message
    assert message.content.startswith("The articles don't say") and message.refusal is None
    assert message.annotations == [] and done.news_assistant["refusal"] == "no_evidence"


def test_streaming_with_the_openai_client(server: Server):
    stream = server.client().chat.completions.create(model="news-assistant", stream=True,
                                                     messages=[{"role": "user", "content": TERRITORY_Q}])
    text, annotations, finish = "", None, None
    for chunk in stream:
        delta = chunk.choices[0].delta
        assert annotations is None, "nothing may follow the annotations"
        text += delta.content or ""
        annotations = (delta.model_extra or {}).get("annotations")
        finish = chunk.choices[0].finish_reason
    assert "502" in text and finish == "stop"
    with server.http() as http:
        check_annotations(text, annotations, http)


def test_async_client_concurrent_questions_do_not_mix(server: Server):
    questions = [TERRITORY_Q, "Who is Samuel Charap?", REFUSAL_Q, "Who is Putin's spokesperson?"] * 2

    async def ask_all() -> list[Any]:
        client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0, timeout=TIMEOUT_S)
        async with client:
            return await asyncio.gather(*[client.chat.completions.create(
                model="news-assistant", messages=[{"role": "user", "content": q}]) for q in questions])

    results = asyncio.run(ask_all())
    with server.http() as http:
        for q, r in zip(questions, results):
            answer = http.post("/v1/answers", json={"question": q}).json()
            assert r.choices[0].message.content == answer["answer"]  # the same answer the direct call gives
            if not answer["refused"]:
                check_annotations(r.choices[0].message.content, dump(r.choices[0].message.annotations), http)


def test_raw_sse_framing(server: Server):
    body = {"model": "news-assistant", "stream": True, "messages": [{"role": "user", "content": "Who is Samuel Charap?"}]}
    with server.http() as http:
        plain = http.post("/v1/chat/completions", json={**body, "stream": False}).json()
        with http.stream("POST", "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            raw = r.read().decode("utf-8")
        events = raw.split("\n\n")
        assert events[-1] == "" and events[-2] == "data: [DONE]"
        chunks = [json.loads(e[len("data: "):]) for e in events[:-2]]
        assert all(e.startswith("data: ") and "\n" not in e for e in events[:-1])
        assert len({c["id"] for c in chunks}) == 1 and all(c["object"] == "chat.completion.chunk" for c in chunks)
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        assert all("annotations" not in c["choices"][0]["delta"] for c in chunks[:-1])
        assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
        last = chunks[-1]
        assert last["choices"][0]["finish_reason"] == "stop" and last["usage"]["total_tokens"] > 0
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        assert text == plain["choices"][0]["message"]["content"]
        assert last["choices"][0]["delta"]["annotations"] == plain["choices"][0]["message"]["annotations"]
        check_annotations(text, last["choices"][0]["delta"]["annotations"], http)


def test_models_answers_health_and_metrics(server: Server):
    client = server.client()
    names = [m.id for m in client.models.list().data]
    assert names[:2] == ["news-assistant", "news-assistant-extractive"]
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": TERRITORY_Q}])
    assert e.value.body["code"] == "model_not_found"
    with server.http() as http:
        answer = http.post("/v1/answers", json={"question": TERRITORY_Q, "top_k": 3}).json()
        for field in ("question", "answer", "refused", "citations", "sentences", "passages", "usage", "timings_ms"):
            assert field in answer
        assert answer["citations"][0]["source"].endswith(".txt") and "/" not in answer["citations"][0]["source"]
        assert http.post("/v1/answers", json={"question": TERRITORY_Q, "bogus": 1}).status_code == 400
        health = http.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok", "store": "ok", "bm25": "ok",
                                                               "llm": "not used"}
        metrics = http.get("/metrics").text
        assert 'assistant_api_requests_total{method="POST",route="/v1/chat/completions",status="200"}' in metrics
        assert "assistant_answer_stage_seconds_bucket" in metrics and "assistant_refusals_total" in metrics
        bad = http.post("/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]})
        assert bad.status_code == 400 and set(bad.json()["error"]) >= {"message", "type", "code"}
        missing = http.delete("/v1/documents/no-such-doc")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "document_not_found"
        assert http.get("/v1/nowhere").json()["error"]["message"]
        for r in (bad, missing, health):
            assert str(server.index) not in r.text and "Traceback" not in r.text


# -- ingest through the API ----------------------------------------------------------------------
def test_ingest_jsonl_then_ask(server: Server):
    with server.http() as http:
        refused = http.post("/v1/answers", json={"question": FERRY_Q}).json()
        assert refused["refused"]
        r = http.post("/v1/documents", content=json.dumps(FERRY) + "\n", headers={"Content-Type": "application/jsonl"})
        assert r.status_code == 202 and r.headers["location"] == f"/v1/jobs/{r.json()['id']}"
        job = wait_job(http, r.json())
        assert job["status"] == "succeeded" and job["result"]["added"] == ["lisbon-ferry"], job
        again = wait_job(http, http.post("/v1/documents", content=json.dumps(FERRY) + "\n",
                                         headers={"Content-Type": "application/jsonl"}).json())
        assert again["result"]["added"] == [] and again["result"]["unchanged"] == ["lisbon-ferry"]  # idempotent
        assert "lisbon-ferry" in [d["id"] for d in http.get("/v1/documents").json()["data"]]
    done = server.client().chat.completions.create(model="news-assistant", messages=[{"role": "user", "content": FERRY_Q}])
    message = done.choices[0].message
    assert "38" in message.content
    annotations = dump(message.annotations)
    assert {a["url_citation"]["doc_id"] for a in annotations} == {"lisbon-ferry"}
    assert annotations[0]["url_citation"]["url"] == FERRY["url"]
    assert annotations[0]["url_citation"]["published"] == "2025-03-02"
    with server.http() as http:
        check_annotations(message.content, annotations, http)
        assert http.delete("/v1/documents/lisbon-ferry").json()["deleted"] is True
        assert http.post("/v1/answers", json={"question": FERRY_Q}).json()["refused"]


FERRIES = [{**FERRY, "id": f"ferry-{outlet.split()[0].lower()}", "outlet": outlet, "published": day,
            "url": f"https://example.org/ferry-{day}", "text": FERRY["text"].replace("38 berths", f"{berths} berths")}
           for outlet, day, berths in (("Lisbon Daily", "2025-03-02", 38), ("Tagus Times", "2025-03-20", 40))]


def test_filter_fields_on_answers_and_chat_completions(server: Server):
    with server.http() as http:
        body = "\n".join(json.dumps(r) for r in FERRIES) + "\n"
        job = wait_job(http, http.post("/v1/documents", content=body, headers={"Content-Type": "application/jsonl"}).json())
        assert sorted(job["result"]["added"]) == ["ferry-lisbon", "ferry-tagus"], job
        rows = {d["id"]: d for d in http.get("/v1/documents").json()["data"]}
        assert rows["ferry-tagus"]["outlet"] == "Tagus Times" and rows["ferry-tagus"]["published"] == "2025-03-20"
        try:
            got = http.post("/v1/answers", json={"question": FERRY_Q, "outlet": "tagus times"}).json()
            assert "40" in got["answer"] and {c["doc_id"] for c in got["citations"]} == {"ferry-tagus"}
            assert got["citations"][0]["outlet"] == "Tagus Times" and got["citations"][0]["published"] == "2025-03-20"
            assert {p["doc_id"] for p in got["passages"]} <= {"ferry-tagus"}
            got = http.post("/v1/answers", json={"question": FERRY_Q, "until": "2025-03-10"}).json()
            assert {p["doc_id"] for p in got["passages"]} == {"ferry-lisbon"}
            got = http.post("/v1/answers", json={"question": FERRY_Q, "as_of": "2025-03-01", "since": "2025-01-01"}).json()
            assert got["refused"] and not got["passages"]
            bad = http.post("/v1/answers", json={"question": FERRY_Q, "since": "last tuesday"})
            assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["error"]["message"]
            chat = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": FERRY_Q}],
                                                            "since": "2025-03-15"}).json()
            notes = [a["url_citation"] for a in chat["choices"][0]["message"]["annotations"]]
            assert notes and {(n["doc_id"], n["outlet"], n["published"]) for n in notes} == {
                ("ferry-tagus", "Tagus Times", "2025-03-20")}
            bad = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": FERRY_Q}],
                                                           "as_of": "2025-02-30"})
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_filter"
            # The timeline: one line per article's sentence, oldest first, filters applied.
            lines = http.get("/v1/timeline", params={"topic": "ferry terminal berths"}).json()["data"]
            berths = [x for x in lines if "berths" in x["quote"]]
            assert [x["doc_id"] for x in berths] == ["ferry-lisbon", "ferry-tagus"]
            assert [x["date"] for x in lines if x["date"]] == sorted(x["date"] for x in lines if x["date"])
            later = http.get("/v1/timeline", params={"topic": "ferry terminal berths", "since": "2025-03-15"})
            assert {x["doc_id"] for x in later.json()["data"]} == {"ferry-tagus"}
            assert http.get("/v1/timeline", params={"topic": "ferry", "until": "soon"}).json()["error"]["code"] == \
                "invalid_filter"
            assert http.get("/v1/timeline", params={"topic": " "}).status_code == 400
        finally:
            for r in FERRIES:
                http.delete(f"/v1/documents/{r['id']}")


def test_multipart_upload_reports_skipped_files(server: Server):
    files = [("file", ("brief.md", b"# Harbour note\n\nThe harbour master, Rui Almeida, retired in May.\n", "text/markdown")),
             ("file", ("broken.jsonl", b'{"text": "fine article about a bridge"}\n{not json\n', "application/jsonl"))]
    with server.http() as http:
        job = wait_job(http, http.post("/v1/documents", files=files).json())
        assert job["status"] == "succeeded"
        assert len(job["result"]["added"]) == 2
        skipped = job["result"]["skipped"]
        assert skipped and skipped[0]["source"] == "broken.jsonl" and "line 2" in skipped[0]["reason"]
        assert str(server.index) not in json.dumps(job)
        assert http.post("/v1/documents", files=[("file", ("x.exe", b"MZ", "application/octet-stream"))]).status_code == 400
        assert http.post("/v1/documents", content=b"hello", headers={"Content-Type": "text/plain"}).status_code == 415


# -- keys and limits -------------------------------------------------------------------------------
def test_auth_failures(keyed: tuple[Server, dict[str, str]]):
    server, keys = keyed
    with pytest.raises(openai.AuthenticationError) as e:
        server.client("sk-news-wrong").chat.completions.create(model="news-assistant",
                                                                 messages=[{"role": "user", "content": TERRITORY_Q}])
    assert e.value.status_code == 401 and e.value.body["code"] == "invalid_api_key"
    with server.http() as http:
        r = http.get("/v1/models")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["type"] == "authentication_error"
        assert http.get("/healthz").status_code == 200  # health checks need no key
    with server.http(keys["read"]) as http:
        assert http.get("/v1/documents").status_code == 200
        denied = http.post("/v1/documents", content=json.dumps(FERRY), headers={"Content-Type": "application/jsonl"})
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_scope"
        assert http.delete("/v1/documents/lisbon-ferry").status_code == 403
    done = server.client(keys["read"]).chat.completions.create(model="news-assistant",
                                                               messages=[{"role": "user", "content": TERRITORY_Q}])
    assert "502" in done.choices[0].message.content
    for r in (e.value.response, denied):
        assert keys["read"] not in r.text and str(server.index) not in r.text


def test_revoked_key_is_refused_without_restart(keyed: tuple[Server, dict[str, str]]):
    server, keys = keyed
    with server.http(keys["doomed"]) as http:
        assert http.get("/v1/models").status_code == 200
        subprocess.run([sys.executable, "-m", "assistant", "keys", "revoke", keys["doomed_id"], "--index",
                        str(server.index)], env=clean_env(), cwd=ROOT, check=True, capture_output=True, timeout=START_S)
        deadline = time.time() + 120  # the server re-reads the key file within a second; slack for a loaded machine
        while http.get("/v1/models").status_code == 200 and time.time() < deadline:
            time.sleep(0.2)
        assert http.get("/v1/models").status_code == 401


def test_rate_limit_429_with_retry_after(keyed: tuple[Server, dict[str, str]]):
    server, keys = keyed
    client = server.client(keys["slow"])
    statuses = []
    for _ in range(6):
        try:
            client.models.list()
            statuses.append(200)
        except openai.RateLimitError as e:
            statuses.append(429)
            retry = int(e.response.headers["retry-after"])
            assert 1 <= retry <= 20 and e.body["code"] == "rate_limit_exceeded"
    # The bucket holds 3 and refills one per 20 s: however slow the machine, the first three
    # pass and the next ones cannot all pass.
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
    assert server.client(keys["read"]).models.list().data  # other keys are not affected


def test_oversized_bodies_get_413(keyed: tuple[Server, dict[str, str]]):
    server, keys = keyed
    big = (json.dumps({**FERRY, "text": "word " * 30_000}) + "\n").encode()  # 150 kB > 100 kB cap
    with server.http(keys["write"]) as http:
        r = http.post("/v1/documents", content=big, headers={"Content-Type": "application/jsonl"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"

        def pieces() -> Iterator[bytes]:  # no Content-Length: the cap is checked while reading
            for i in range(0, len(big), 16_384):
                yield big[i:i + 16_384]

        r = http.post("/v1/documents", content=pieces(), headers={"Content-Type": "application/jsonl"})
        assert r.status_code == 413 and r.request.headers.get("transfer-encoding") == "chunked"
        assert http.get("/v1/documents").status_code == 200  # the server is fine afterwards
    with pytest.raises(openai.APIStatusError) as e:
        server.client(keys["write"]).chat.completions.create(
            model="news-assistant", messages=[{"role": "user", "content": "x " * 60_000}])
    assert e.value.status_code == 413


def test_open_api_refuses_a_public_address_without_keys(tmp_path: Path):
    from assistant.serve.api_access import Gate

    settings = Settings.load(index=tmp_path / "index")
    with pytest.raises(ConfigError, match="assistant keys create"):
        Gate(settings, "0.0.0.0")
    Gate(settings, "127.0.0.1")
    Gate(settings.replace(api_auth="off"), "0.0.0.0")
    KeyStore(settings.api_keys_path).create("k")
    assert Gate(settings, "0.0.0.0").keys_needed()
    with pytest.raises(ConfigError, match="ASSISTANT_API_AUTH"):
        Settings.load(api_auth="maybe")


# -- hostile clients, broken state, growth ----------------------------------------------------------
def test_dns_rebinding_host_is_refused(server: Server):
    """A page on a rebound name reaches 127.0.0.1 with its own Host header: refused."""
    with server.http() as http:
        for method, path in (("GET", "/v1/documents"), ("DELETE", "/v1/documents/x"), ("POST", "/v1/answers")):
            r = http.request(method, path, headers={"Host": f"attacker.example:{server.port}"}, json={})
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_host", (method, r.text)
        assert http.get("/v1/models", headers={"Host": f"localhost:{server.port}"}).status_code == 200
        assert http.get("/v1/models", headers={"Host": f"[::1]:{server.port}"}).status_code == 200


def test_cross_origin_writes_are_refused(server: Server):
    """A multipart form post needs no CORS preflight, so any web page could upload to (or, with
    DELETE, try to change) an open API on localhost: a foreign Origin is refused, the server's
    own origin is not."""
    files = [("file", ("csrf.txt", b"Planted by another web site about the harbour.", "text/plain"))]
    with server.http() as http:
        before = {d["id"] for d in http.get("/v1/documents").json()["data"]}
        for origin in ("https://attacker.example", "null"):
            r = http.post("/v1/documents", files=files, headers={"Origin": origin})
            assert r.status_code == 403 and r.json()["error"]["code"] == "cross_origin_forbidden"
            assert http.delete("/v1/documents/x", headers={"Origin": origin}).status_code == 403
        assert {d["id"] for d in http.get("/v1/documents").json()["data"]} == before
        assert http.get("/v1/models", headers={"Origin": "https://attacker.example"}).status_code == 200
        same = http.post("/v1/answers", json={"question": TERRITORY_Q}, headers={"Origin": server.url})
        assert same.status_code == 200


def test_allowed_hosts():
    from assistant.serve.api_access import allowed_hosts, host_name

    assert allowed_hosts("127.0.0.1", "") == {"127.0.0.1", "localhost", "::1"}
    assert "10.0.0.5" in allowed_hosts("10.0.0.5", "") and "api.example.org" in allowed_hosts("10.0.0.5", "api.example.org")
    assert allowed_hosts("0.0.0.0", "") is None and allowed_hosts("127.0.0.1", "*") is None
    assert allowed_hosts("0.0.0.0", "api.example.org") == {"api.example.org"}
    assert [host_name(h) for h in ("LocalHost:8000", "[::1]:80", "::1", "http://a.b:1/x")] == ["localhost", "::1", "::1", "a.b"]


def test_removing_the_key_file_does_not_open_a_public_server(tmp_path: Path):
    from assistant.serve.api_access import ApiError, Gate

    settings = Settings.load(index=tmp_path / "index")
    KeyStore(settings.api_keys_path).create("k")
    gate = Gate(settings, "0.0.0.0")
    settings.api_keys_path.unlink()
    gate.keys.keys()  # the running server notices the file is gone
    assert gate.keys_needed()
    with pytest.raises(ApiError) as e:
        gate.check(None, "203.0.113.9", "write")
    assert e.value.status_code == 401


def test_a_broken_key_file_never_opens_the_api(tmp_path: Path):
    from assistant.serve.api_access import ApiError, Gate
    from assistant.serve.keys import ApiKeyError

    settings = Settings.load(index=tmp_path / "index")
    gate = Gate(settings, "127.0.0.1")
    assert gate.check(None, "127.0.0.1", "write") is None  # open: no key file yet
    settings.api_keys_path.parent.mkdir(parents=True, exist_ok=True)
    settings.api_keys_path.write_text("{not json")
    time.sleep(1.1)  # the server looks at the key file at most once a second
    for _ in range(3):  # every request is refused, not only the first one after the change
        with pytest.raises((ApiKeyError, ApiError)):
            gate.check(None, "127.0.0.1", "write")


def test_same_file_name_from_two_clients_keeps_both(server: Server):
    """Two uploads named notes.txt are two documents: the second neither replaces the first
    nor overwrites its file before its job runs; sending the same file again changes nothing."""
    first = [("file", ("notes.txt", b"The Porto tram line 22 reopened on Monday after repairs.", "text/plain"))]
    second = [("file", ("notes.txt", b"The Braga bus depot will close in October for renovation.", "text/plain"))]
    with server.http() as http:
        one = wait_job(http, http.post("/v1/documents", files=first).json())
        two = wait_job(http, http.post("/v1/documents", files=second).json())
        again = wait_job(http, http.post("/v1/documents", files=first).json())
        assert one["status"] == two["status"] == again["status"] == "succeeded", (one, two, again)
        (a,), (b,) = one["result"]["added"], two["result"]["added"]
        assert a != b and two["result"]["updated"] == [] and again["result"]["unchanged"] == [a]
        assert "Porto" in http.get(f"/v1/documents/{a}").json()["text"]
        assert http.get(f"/v1/documents/{a}").json()["source"] == "notes.txt"
        uploads = server.index / "uploads" / "api"
        assert len(list(uploads.rglob("notes.txt"))) == 2
        assert http.delete(f"/v1/documents/{a}").status_code == 200
        assert len(list(uploads.rglob("notes.txt"))) == 1  # a deleted article's upload goes with it
        assert http.delete(f"/v1/documents/{b}").status_code == 200
        assert not list(uploads.rglob("notes.txt"))


def test_uploads_never_write_through_a_planted_link(server: Server, tmp_path: Path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    folder = server.index / "uploads" / "api"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "planted.txt").symlink_to(outside)
    files = [("file", ("planted.txt", b"The Faro airport added a runway light system in June.", "text/plain"))]
    with server.http() as http:
        job = wait_job(http, http.post("/v1/documents", files=files).json())
        assert job["status"] == "succeeded"
        assert outside.read_text() == "precious"
        for doc in job["result"]["added"]:
            http.delete(f"/v1/documents/{doc}")


def test_a_refused_upload_leaves_no_file(server: Server):
    files = [("file", ("left-behind.txt", b"A note that must not stay on the server.", "text/plain")),
             ("file", ("tool.exe", b"MZ", "application/octet-stream"))]
    with server.http() as http:
        r = http.post("/v1/documents", files=files)
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_file"
    assert not [p for p in (server.index / "uploads").rglob("*") if p.name == "left-behind.txt"]


def test_finished_jobs_are_pruned(tmp_path: Path):
    from assistant.serve.jobs import JobStore

    store = JobStore(tmp_path / "state.sqlite3")
    jobs = [store.create([f"f{i}"]) for i in range(6)]
    now = int(time.time())
    for i, job in enumerate(jobs[:5]):  # the last one is still queued
        store.save({**job, "status": "succeeded", "finished_at": now - 100 + i if i else now - 10 * 86400})
    store.prune(keep=2, ttl=86400)
    kept = [j["id"] for j in jobs if store.get(j["id"])]
    assert kept == [jobs[3]["id"], jobs[4]["id"], jobs[5]["id"]]


def test_a_job_whose_worker_process_died_is_reported_failed(tmp_path: Path):
    from assistant.serve.jobs import JobStore

    store = JobStore(tmp_path / "state.sqlite3")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = {**store.create(["a.jsonl"]), "status": "running", "pid": dead.pid}
    store.save(orphan)
    live = store.create(["b.jsonl"])  # queued by this (living) process
    got = store.get(orphan["id"])
    assert got["status"] == "failed" and got["error"]["type"] == "worker_stopped"
    assert "upload the files again" in got["error"]["message"] and got["finished_at"]
    assert store.get(live["id"])["status"] == "queued"


def test_job_record_returned_is_not_changed_by_the_ingest_thread(tmp_path: Path):
    from assistant.core.data import IngestReport
    from assistant.serve.jobs import JobRunner, JobStore

    release = threading.Event()

    def ingest(paths: list[Path], progress: Any) -> IngestReport:
        release.wait(TIMEOUT_S)
        return IngestReport()

    runner = JobRunner(JobStore(tmp_path / "state.sqlite3"), ingest, lambda r: {}, lambda m: m)
    try:
        job = runner.submit([], [])
        deadline = time.time() + TIMEOUT_S
        while runner.store.get(job["id"])["status"] != "running" and time.time() < deadline:
            time.sleep(0.05)
        assert runner.store.get(job["id"])["status"] == "running"
        assert job["status"] == "queued" and job["started_at"] is None
    finally:
        release.set()
        runner.shutdown()


def test_rate_buckets_of_idle_clients_are_dropped(tmp_path: Path):
    import sqlite3

    from assistant.serve.ratelimit import RateLimiter

    limiter = RateLimiter(tmp_path / "state.sqlite3")
    for i in range(5):
        limiter.take(f"addr:10.0.0.{i}", 60)
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        db.execute("UPDATE buckets SET at = at - 3600")
    RateLimiter(tmp_path / "state.sqlite3").take("addr:10.0.1.1", 60)
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        assert [r[0] for r in db.execute("SELECT id FROM buckets")] == ["addr:10.0.1.1"]


# -- two API processes over one Chroma server -------------------------------------------------------
def test_two_api_processes_share_a_chroma_server(chroma_server: str, tmp_path: Path):  # noqa: F811
    """A (2 uvicorn workers) ingests seeds, then 401 articles while B answers; B sees A's writes."""
    env = {"ASSISTANT_CHROMA_URL": chroma_server, "ASSISTANT_COLLECTION": "api-two"}
    servers: list[Server] = []
    try:
        a = Server(tmp_path / "a" / "index", "--workers", "2", env=env)
        servers.append(a)
        b = Server(tmp_path / "b" / "index", env=env)
        servers.append(b)
        with a.http() as http:
            files = [("file", (p.name, p.read_bytes(), "text/plain")) for p in sorted(SEEDS.glob("*.txt"))]
            assert wait_job(http, http.post("/v1/documents", files=files).json())["status"] == "succeeded"
        errors: list[str] = []
        answered: list[float] = []
        stop = threading.Event()

        def ask_loop() -> None:
            client = b.client()
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    r = client.chat.completions.create(model="news-assistant",
                                                       messages=[{"role": "user", "content": TERRITORY_Q}])
                    if "502" not in r.choices[0].message.content or not r.choices[0].message.annotations:
                        errors.append(r.choices[0].message.content)
                except openai.OpenAIError as e:
                    errors.append(repr(e))
                answered.append(time.perf_counter() - t0)

        b.client().chat.completions.create(model="news-assistant", messages=[{"role": "user", "content": TERRITORY_Q}])
        asker = threading.Thread(target=ask_loop)  # B is warm: it answers in tens of ms from here on
        asker.start()
        articles = [{"id": f"filler-{i}", "title": f"Filler {i}", "text": f"Filler story number {i} about the "
                     f"weather in town {i}. It rained for {i % 7 + 1} days and the river rose."} for i in range(400)]
        body = "\n".join(json.dumps(x) for x in articles + [FERRY]) + "\n"
        t0 = time.perf_counter()
        with a.http() as http:
            job = http.post("/v1/documents", content=body, headers={"Content-Type": "application/jsonl"}).json()
            job = wait_job(http, job)  # read from either worker: job records are shared
        ingest_s = time.perf_counter() - t0
        deadline = time.time() + 600  # no timing assumption: B keeps asking until it has two answers
        while len(answered) < 2 and asker.is_alive() and time.time() < deadline:
            time.sleep(0.2)
        stop.set()
        asker.join(timeout=2 * TIMEOUT_S)
        assert not asker.is_alive()
        assert job["status"] == "succeeded" and len(job["result"]["added"]) == 401, job
        assert not errors, errors[:3]
        assert len(answered) >= 2
        t0 = time.perf_counter()
        done = b.client().chat.completions.create(model="news-assistant", messages=[{"role": "user", "content": FERRY_Q}])
        catch_up_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        b.client().chat.completions.create(model="news-assistant", messages=[{"role": "user", "content": FERRY_Q}])
        warm_ms = (time.perf_counter() - t0) * 1000
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "api_two_processes.json").write_text(json.dumps({
            "ingest_401_articles_s": round(ingest_s, 2), "answers_during_ingest": len(answered),
            "answer_ms_during_ingest": {"p50": round(statistics.median(answered) * 1000, 1),
                                        "max": round(max(answered) * 1000, 1)},
            "first_answer_after_ingest_ms": round(catch_up_ms, 1), "next_answer_ms": round(warm_ms, 1)}, indent=2))
        message = done.choices[0].message
        assert "38" in message.content
        with b.http() as http:
            check_annotations(message.content, dump(message.annotations), http)
            assert "assistant_api_requests_total" in httpx.get(f"{a.url}/metrics", timeout=TIMEOUT_S).text
    finally:
        for s in servers:
            s.stop()


# -- issue 25: ownership of ids, proxies, keys before bodies, Unicode, citations, modes, hosts ------
JSONL = {"Content-Type": "application/jsonl"}


def raw_http(port: int, request: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(request)
        return s.recv(4096)


def test_an_upload_never_replaces_another_sources_document(server: Server):
    with server.http() as http:
        seed = next(d for d in http.get("/v1/documents").json()["data"] if d["source"].endswith(".txt"))
        text = http.get(f"/v1/documents/{seed['id']}").json()["text"]
        record = json.dumps({"id": seed["id"], "title": "Planted", "text": "A planted story that takes the seed's id."})
        body = wait_job(http, http.post("/v1/documents", content=record + "\n", headers=JSONL).json())
        form = wait_job(http, http.post("/v1/documents", files=[("file", ("take.jsonl", record.encode(), "x"))]).json())
        for job in (body, form):
            assert job["status"] == "succeeded" and job["result"]["updated"] == [] == job["result"]["added"], job
            (skip,) = job["result"]["skipped"]
            assert skip["reason"] == (f"id {seed['id']!r} belongs to another source (seeds/{seed['source']}): "
                                      "use a different id or delete it first")
            assert str(ROOT) not in json.dumps(job)
        assert http.get(f"/v1/documents/{seed['id']}").json()["text"] == text


def test_forwarded_for_is_believed_only_from_trusted_proxies(seeded_index: Path, tmp_path: Path):
    """X-Forwarded-For picks the rate-limit bucket of an open API: a local client must not pick
    a fresh one per request (uvicorn's default trusts 127.0.0.1); a listed proxy is believed."""
    def codes(server: Server, spoofed: bool) -> list[int]:
        with server.http() as http:
            return [http.get("/v1/models", headers={"X-Forwarded-For": f"203.0.113.{i if spoofed else 7}"}).status_code
                    for i in range(3)]

    direct = Server(index_copy(seeded_index, tmp_path / "direct"), env={"ASSISTANT_API_RATE_PER_MIN": "2"})
    try:
        assert codes(direct, spoofed=True) == [200, 200, 429]
    finally:
        direct.stop()
    proxied = Server(index_copy(seeded_index, tmp_path / "proxied"),
                     env={"ASSISTANT_API_RATE_PER_MIN": "2", "ASSISTANT_TRUSTED_PROXIES": "127.0.0.1,::1"})
    try:
        assert codes(proxied, spoofed=True) == [200, 200, 200]  # three clients behind the proxy
        assert codes(proxied, spoofed=False)[-1] == 429  # one client behind it: its own bucket
    finally:
        proxied.stop()
    with pytest.raises(ConfigError, match="ASSISTANT_TRUSTED_PROXIES"):
        Settings.load(env={"ASSISTANT_TRUSTED_PROXIES": "proxy.example"})


def test_keys_are_checked_before_the_body_is_read(keyed: tuple[Server, dict[str, str]]):
    server, keys = keyed
    with server.http() as http:
        for path in ("/v1/answers", "/v1/chat/completions"):
            r = http.post(path, content=b"{not json" + b"[" * 50_000, headers={"Content-Type": "application/json"})
            assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key", r.text
            assert r.headers["www-authenticate"] == "Bearer"
        r = http.post("/v1/documents", content=b"{not json\n", headers=JSONL)
        assert r.status_code == 401
    with server.http(keys["read"]) as http:
        r = http.post("/v1/answers", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"  # a valid key: then parsed
        r = http.post("/v1/documents", files=[("file", ("never-stored.txt", b"A note.", "text/plain"))])
        assert r.status_code == 403
    assert not [p for p in (server.index / "uploads").rglob("never-stored.txt")]


def test_a_write_only_key_is_told_the_scopes_it_needs(keyed: tuple[Server, dict[str, str]]):
    server, _ = keyed
    _, token = KeyStore(server.index / "api_keys.json").create("uploader", ("write",))
    time.sleep(1.1)  # the server re-reads the key file at most once a second
    with server.http(token) as http:
        r = http.get("/v1/documents")
    message = r.json()["error"]["message"]
    assert r.status_code == 403 and "--scopes read,write" in message and "read,read" not in message


def test_lone_surrogates_get_a_plain_400(server: Server):
    """JSON can carry "\\ud800", which no UTF-8 text can: every text entry refuses it with a
    message that does not echo it; an uploaded record holding one is skipped with its reason."""
    json_type = {"Content-Type": "application/json"}
    with server.http() as http:
        for path, body in (("/v1/answers", '{"question": "Who \\ud800 leads?"}'),
                           ("/v1/answers", '{"question": "Who leads?", "history": [["Hi \\udc00", "Hello"]]}'),
                           ("/v1/answers", '{"question": "Who leads?", "outlet": "Reu\\ud83dters"}'),
                           ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "Why \\udfff?"}]}')):
            r = http.post(path, content=body.encode(), headers=json_type)
            assert r.status_code == 400, (path, body, r.text)
            assert "invalid Unicode" in r.json()["error"]["message"] and "\\ud" in r.text  # the plain message only
        bad = '{"id": "bad-unicode", "text": "A ferry story with a broken \\ud800 escape."}'
        good = json.dumps({"id": "good-unicode", "text": "The Setubal ferry added a night crossing in April."})
        job = wait_job(http, http.post("/v1/documents", content=f"{bad}\n{good}\n", headers=JSONL).json())
        assert job["status"] == "succeeded" and job["result"]["added"] == ["good-unicode"], job
        assert "invalid Unicode" in job["result"]["skipped"][0]["reason"]
        http.delete("/v1/documents/good-unicode")


def test_annotations_carry_quote_has_link(server: Server):
    record = {"id": "faro-pier", "title": "Faro pier", "url": "https://example.org/faro", "text": (
        "The new Faro pier has 12 moorings, according to [the port plan](https://evil.example/plan). It opens in June.")}
    with server.http() as http:
        assert wait_job(http, http.post("/v1/documents", content=json.dumps(record) + "\n", headers=JSONL).json())[
            "result"]["added"] == ["faro-pier"]
        try:
            done = http.post("/v1/chat/completions", json={"messages": [
                {"role": "user", "content": "How many moorings does the new Faro pier have?"}]}).json()
            notes = [a["url_citation"] for a in done["choices"][0]["message"]["annotations"]]
            assert notes and all(isinstance(n["quote_has_link"], bool) for n in notes)
            assert any(n["quote_has_link"] and "](https://evil.example/plan)" in n["quote"] for n in notes)
            text = http.get("/v1/documents/faro-pier").json()["text"]
            assert all(text[n["start"]:n["end"]] == n["quote"] for n in notes)
        finally:
            http.delete("/v1/documents/faro-pier")


def test_uploads_and_state_files_are_private(server: Server):
    import stat

    files = [("file", ("private-note.txt", b"The Evora library extended its hours on Sundays.", "text/plain"))]
    with server.http() as http:
        job = wait_job(http, http.post("/v1/documents", files=files).json())
        try:
            (stored,) = (server.index / "uploads").rglob("private-note.txt")
            for folder in (stored.parent, stored.parent.parent):
                assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
            for f in (stored, server.index / "api_state.sqlite3"):
                assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        finally:
            for doc in job["result"]["added"]:
                http.delete(f"/v1/documents/{doc}")


def test_host_header_must_be_there_once(server: Server):
    one = f"Host: 127.0.0.1:{server.port}\r\n".encode()
    for request in (b"GET /v1/models HTTP/1.1\r\n" + one + b"Host: attacker.example\r\n\r\n",
                    b"GET /v1/models HTTP/1.1\r\nHost: attacker.example\r\n" + one + b"\r\n",
                    b"GET /v1/models HTTP/1.0\r\n\r\n"):
        assert raw_http(server.port, request).split(b"\r\n", 1)[0].endswith(b"400 Bad Request"), request
    assert b" 200 " in raw_http(server.port, b"GET /v1/models HTTP/1.0\r\n" + one + b"\r\n")


def test_long_upload_names_keep_their_type(server: Server):
    name = "a" * 300 + ".jsonl"
    record = json.dumps({"id": "long-name", "text": "The Braga museum reopened its Roman gallery in May."})
    with server.http() as http:
        job = wait_job(http, http.post("/v1/documents", files=[("file", (name, record.encode(), "x"))]).json())
        try:
            assert job["status"] == "succeeded" and job["result"]["added"] == ["long-name"], job
            (stored,) = [p for p in (server.index / "uploads").rglob("a*.jsonl")]
            assert len(stored.name) == 100 and stored.name.endswith("a.jsonl")
        finally:
            http.delete("/v1/documents/long-name")
