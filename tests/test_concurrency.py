"""Load through the UI's API: 20 concurrent chat sessions (gradio_client) against a fake
LLM with 2 s latency, 10 questions each. Pass: every answer belongs to its own question
(no mixing), clients beyond the queue get a "busy" answer rather than a timeout, and the
server's memory returns near its baseline. p50/p95 go to $TEST_ARTIFACTS/load.json."""
from __future__ import annotations

import json
import re
import statistics
import threading
import time
from pathlib import Path

import pytest
from conftest import ARTIFACTS, ROOT, free_port, start_serve
from fake_openai import FakeOpenAI

from assistant import Assistant

pytestmark = pytest.mark.slow

QUESTIONS = [
    "How much territory did Ukraine lose in July?", "Who is Samuel Charap?", "How many people did the attack on Kyiv kill?",
    "Who is the director of the Carnegie Russia Eurasia Center?", "What did Trump threaten countries buying Russian oil with?",
    "How much of Ukraine does Moscow occupy?", "Who is Trump's special envoy?", "Who is Putin's spokesperson?",
    "What did Putin wear when he visited a command post?", "How long is the frontline?",
]


def copying_model(body: dict) -> str:
    """A model that answers with the first sentence of source [1], cited."""
    user = body["messages"][-1]["content"]
    m = re.search(r"\[1\] [^\n]*\n(.+?[.!?])(\s|$)", user, re.S)
    return f"{m.group(1).strip()} [1]" if m else "The articles don't say."


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI() as server:
        server.responder = copying_model
        server.chat_delay = 2.0
        yield server


def serve(tmp_path, seeded_index, fake, **env):
    index = tmp_path / "index"
    import shutil
    shutil.copytree(seeded_index, index)
    return start_serve(index, free_port(), seed=None, env={
        "ASSISTANT_GENERATOR": "openai", "ASSISTANT_LLM_MODEL": "fake", "ASSISTANT_LLM_BASE_URL": fake.url,
        "ASSISTANT_LLM_API_KEY": "sk-x", **env}), index


def test_twenty_sessions_get_their_own_answers(tmp_path, seeded_index, fake):
    from gradio_client import Client

    (proc, url), index = serve(tmp_path, seeded_index, fake, ASSISTANT_UI_CONCURRENCY="2", ASSISTANT_UI_QUEUE_SIZE="64",
                                 ASSISTANT_UI_RATE_PER_MIN="1000")  # a load test: the per-client limit is tested in test_ui_security
    reference = Assistant(index=index)  # a model is handed the passages the reader would quote first
    reader = reference.reader

    def read_order(q: str) -> list[str]:
        retrieved = reference.retrieve(q)
        return [p.chunk_id for p in reader.order(retrieved, reader.score(q, retrieved))[0]]

    expected = {q: read_order(q) for q in QUESTIONS}
    try:
        Client(url, verbose=False).predict(QUESTIONS[0], api_name="/ask")  # warm up
        baseline = rss_kb(proc.pid)
        latencies: list[float] = []
        problems: list[str] = []
        lock = threading.Lock()

        def session(k: int) -> None:
            client = Client(url, verbose=False)
            for i in range(10):
                q = QUESTIONS[(k + i) % len(QUESTIONS)]
                t0 = time.monotonic()
                try:
                    got = client.predict(q, api_name="/ask")
                except Exception as e:  # noqa: BLE001 - recorded and asserted below
                    with lock:
                        problems.append(f"{q}: {e}")
                    continue
                with lock:
                    latencies.append(time.monotonic() - t0)
                    ids = [p["chunk_id"] for p in got["passages"]]
                    if got["question"] != q or ids != expected[q]:
                        problems.append(f"mixed: asked {q!r}, got {got['question']!r}")
                    if any(c["chunk_id"] not in ids for c in got["citations"]):
                        problems.append(f"citation outside its own passages for {q!r}")

        threads = [threading.Thread(target=session, args=(k,)) for k in range(20)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=900)
        wall = time.monotonic() - t0
        after = rss_kb(proc.pid)
        assert not problems, problems[:5]
        assert len(latencies) == 200
        q = statistics.quantiles(latencies, n=20)
        report = {"sessions": 20, "questions": 200, "llm_latency_s": 2.0, "concurrency": 2, "wall_s": round(wall, 1),
                  "p50_s": round(statistics.median(latencies), 2), "p95_s": round(q[18], 2),
                  "rss_baseline_mb": round(baseline / 1024), "rss_after_mb": round(after / 1024)}
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "load.json").write_text(json.dumps(report, indent=2))
        print(report)
        assert after - baseline < 200 * 1024, report  # memory back near its baseline (< 200 MB above)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_clients_beyond_the_queue_are_told_busy(tmp_path, seeded_index, fake):
    from gradio_client import Client

    (proc, url), _ = serve(tmp_path, seeded_index, fake, ASSISTANT_UI_CONCURRENCY="1", ASSISTANT_UI_QUEUE_SIZE="2")
    try:
        outcomes: list[tuple[str, float]] = []
        lock = threading.Lock()

        def one() -> None:
            t0 = time.monotonic()
            try:
                Client(url, verbose=False).predict(QUESTIONS[0], api_name="/ask")
                result = "answered"
            except Exception as e:  # noqa: BLE001
                result = f"error: {e}"
            with lock:
                outcomes.append((result, time.monotonic() - t0))

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        busy = [o for o in outcomes if o[0] != "answered"]
        assert len(outcomes) == 8 and busy and any(o[0] == "answered" for o in outcomes), outcomes
        assert all(re.search(r"queue|full|busy", o[0], re.I) for o in busy), busy
        assert all(t < 15 for _, t in busy), busy  # told at once, not after a timeout
    finally:
        proc.terminate()
        proc.wait(timeout=30)
