"""Benchmark of `assistant api` (not part of the tests): answers per second and p50/p95
latency at 1, 4, 16 and 64 concurrent clients, with 1 and 2 worker processes, with the
extractive backend and with a fake LLM of fixed latency (tests/fake_openai.py: a real
OpenAI-protocol HTTP server on 127.0.0.1 that sleeps `--llm-latency-ms` and then quotes the
first sentence of passage [1] with its marker, so its answers pass the citation check);
memory per worker; and what the HTTP layer adds over a direct `Assistant.ask` on the same
index.

    python benchmarks/bench_api.py                      # seeds + 300 CNN/DailyMail articles
    python benchmarks/bench_api.py --articles 0 --workers 1 --seconds 5
    python benchmarks/bench_api.py --backends fake-llm --llm-latency-ms 500
    python benchmarks/bench_api.py --chroma             # the index on a `chroma run` server

Every answer is checked: a request that fails, or whose text differs from the direct
answer to the same question (a mixed-up answer or citation), counts as an error."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))  # fake_openai: the scriptable OpenAI-protocol server
BACKENDS = {"extractive": "news-assistant-extractive", "fake-llm": "news-assistant"}
SEED_QUESTIONS = ["How much territory did Ukraine lose in July?", "Who is Samuel Charap?",
                  "How much of Ukraine does Moscow occupy?", "Who is Putin's spokesperson?",
                  "What is the capital of Australia?"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def build_index(folder: Path, n_articles: int, chroma_url: str | None) -> tuple[Path, list[str]]:
    """Ingest seeds/ and `n_articles` CNN/DailyMail articles; returns the index and the questions."""
    from assistant import Assistant

    questions = list(SEED_QUESTIONS)
    paths = [ROOT / "seeds"]
    if n_articles:
        import bench_scale

        bench_scale.write_articles(bench_scale.articles(n_articles), folder / "articles")
        paths.append(folder / "articles")
        questions += bench_scale.questions(n_articles, 15)
    index = folder / "index"
    t0 = time.perf_counter()
    report = Assistant(index=index, chroma_url=chroma_url).ingest(paths)
    print(f"indexed {len(report.added)} documents in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return index, questions


def direct(index: Path, questions: list[str], chroma_url: str | None, **llm: Any) -> tuple[Any, dict[str, str]]:
    """The direct Assistant (warmed up) and the expected answer text per question."""
    from assistant import Assistant

    bot = Assistant(index=index, chroma_url=chroma_url, **llm)
    return bot, {q: bot.ask(q).answer for q in questions}


def start_fake_llm(latency_ms: float) -> tuple[Any, dict[str, str]]:
    """The fake LLM (started) and the settings that point `assistant` at it."""
    import re

    from fake_openai import FakeOpenAI

    fake = FakeOpenAI()
    fake.chat_delay = latency_ms / 1000

    def respond(body: dict[str, Any]) -> str:
        prompt = str(body["messages"][-1].get("content", ""))
        m = re.search(r"^\[1\] [^\n]*\n([^\n]+)", prompt, re.M)
        if not m:
            return "The articles don't say."
        return re.split(r"(?<=[.!?])\s", m.group(1).strip(), maxsplit=1)[0] + " [1]"

    fake.responder = respond
    fake.__enter__()
    llm = {"generator": "openai", "llm_base_url": fake.url, "llm_model": "fake-model", "llm_api_key": "sk-fake"}
    return fake, llm


def paired(url: str, bot: Any, questions: list[str], rounds: int, model: str) -> dict[str, float]:
    """The HTTP overhead, measured in pairs: each question asked directly and then over HTTP
    (one client), so both see the same machine load; p50 of each and of the differences."""
    direct_ms, http_ms, diff = [], [], []
    with httpx.Client(base_url=url, timeout=60) as http:
        for _ in range(rounds):
            for q in questions:
                t0 = time.perf_counter()
                bot.ask(q)
                t1 = time.perf_counter()
                http.post("/v1/chat/completions", json={"model": model,
                                                        "messages": [{"role": "user", "content": q}]}).raise_for_status()
                t2 = time.perf_counter()
                direct_ms.append((t1 - t0) * 1000)
                http_ms.append((t2 - t1) * 1000)
                diff.append(http_ms[-1] - direct_ms[-1])
    return {"direct_p50_ms": pct(direct_ms, 0.5), "direct_p95_ms": pct(direct_ms, 0.95), "http_p50_ms": pct(http_ms, 0.5),
            "http_p95_ms": pct(http_ms, 0.95), "overhead_p50_ms": pct(diff, 0.5),
            "ratio_p50": pct(http_ms, 0.5) / pct(direct_ms, 0.5)}


def start_api(index: Path, workers: int, chroma_url: str | None, llm: dict[str, str]) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ANONYMIZED_TELEMETRY="False", ASSISTANT_API_RATE_PER_MIN="1000000", ASSISTANT_API_QUEUE_SIZE="256")
    if chroma_url:
        env["ASSISTANT_CHROMA_URL"] = chroma_url
    env.update({f"ASSISTANT_{k.upper()}": v for k, v in llm.items()})
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "api", "--index", str(index), "--port", str(port),
                             "--workers", str(workers)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            httpx.get(f"{url}/healthz", timeout=2)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("assistant api did not start")


def rss_mb(pid: int) -> list[float]:
    """Resident memory of a process and its children (the uvicorn workers), in MiB."""
    out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)], capture_output=True, text=True)
    return [int(x) / 1024 for x in out.stdout.split()]


def load(url: str, questions: list[str], expected: dict[str, str], clients: int, seconds: float,
         model: str) -> dict[str, Any]:
    """`clients` threads asking in a loop for `seconds`; latencies, errors, server-side time."""
    latencies: list[float] = []
    overheads: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            k = i
            while time.perf_counter() < stop:
                q = questions[k % len(questions)]
                k += 1
                t0 = time.perf_counter()
                try:
                    r = http.post("/v1/chat/completions", json={"model": model,
                                                                "messages": [{"role": "user", "content": q}]})
                    ms = (time.perf_counter() - t0) * 1000
                    body = r.json()
                    ok = r.status_code == 200 and body["choices"][0]["message"]["content"] == expected[q]
                except (httpx.HTTPError, ValueError, KeyError) as e:
                    ms, ok, body = (time.perf_counter() - t0) * 1000, False, {"error": repr(e)}
                with lock:
                    if ok:
                        latencies.append(ms)
                        overheads.append(ms - body["news_assistant"]["timings_ms"]["total"])
                    else:
                        errors.append(str(body)[:200])

    t_start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t_start
    return {"clients": clients, "answers": len(latencies), "errors": len(errors), "answers_per_s": len(latencies) / wall,
            "p50_ms": pct(latencies, 0.5), "p95_ms": pct(latencies, 0.95),
            "outside_pipeline_p50_ms": pct(overheads, 0.5), "first_error": errors[0] if errors else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=300, help="CNN/DailyMail articles besides the seeds (0: seeds only)")
    ap.add_argument("--workers", default="1,2", help="worker counts to run")
    ap.add_argument("--clients", default="1,4,16,64", help="concurrent client counts")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each load step")
    ap.add_argument("--chroma", action="store_true", help="put the index on a `chroma run` server")
    ap.add_argument("--backends", default="extractive,fake-llm", help="extractive and/or fake-llm")
    ap.add_argument("--llm-latency-ms", type=float, default=200.0, help="the fake LLM's fixed latency per reply")
    ap.add_argument("--out", help="also write the results as JSON here")
    args = ap.parse_args()
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import logging

    for noisy in ("httpx", "httpx2", "openai"):  # not a line per request
        logging.getLogger(noisy).setLevel(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    chroma = fake = None
    try:
        chroma_url = None
        if args.chroma:
            chroma, chroma_url = start_chroma(work / "chroma")
        index, questions = build_index(work, args.articles, chroma_url)
        results: dict[str, Any] = {"articles": args.articles, "questions": len(questions), "chroma": args.chroma,
                                   "llm_latency_ms": args.llm_latency_ms, "overhead": {}, "runs": []}
        for backend in args.backends.split(","):
            llm: dict[str, str] = {}
            if backend == "fake-llm":
                fake, llm = start_fake_llm(args.llm_latency_ms)
            elif backend != "extractive":
                raise SystemExit(f"unknown backend {backend!r}: use extractive or fake-llm")
            bot, expected = direct(index, questions, chroma_url, **llm)
            run_backend(args, results, backend, index, questions, chroma_url, llm, bot, expected)
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=2))
    finally:
        if chroma is not None:
            chroma.terminate()
        if fake is not None:
            fake.__exit__(None, None, None)
        shutil.rmtree(work, ignore_errors=True)


def run_backend(args: argparse.Namespace, results: dict[str, Any], backend: str, index: Path, questions: list[str],
                chroma_url: str | None, llm: dict[str, str], bot: Any, expected: dict[str, str]) -> None:
    """Every worker count and client count for one answer backend."""
    model = BACKENDS[backend]
    for workers in (int(w) for w in args.workers.split(",")):
        proc, url = start_api(index, workers, chroma_url, llm)
        try:
            load(url, questions, expected, 1, 2.0, model)  # warm every worker up
            o = results["overhead"][f"{backend}/{workers}"] = paired(url, bot, questions, rounds=5, model=model)
            print(f"{backend}: workers {workers}, one client, paired with a direct Assistant.ask: direct p50 "
                  f"{o['direct_p50_ms']:.1f} ms (p95 {o['direct_p95_ms']:.1f}), HTTP p50 {o['http_p50_ms']:.1f} ms "
                  f"(p95 {o['http_p95_ms']:.1f}); HTTP adds {o['overhead_p50_ms']:.2f} ms p50 "
                  f"({o['ratio_p50']:.2f}x)")
            for clients in (int(c) for c in args.clients.split(",")):
                row = {"backend": backend, "workers": workers,
                       **load(url, questions, expected, clients, args.seconds, model)}
                row["rss_mb"] = [round(x) for x in rss_mb(proc.pid)]
                results["runs"].append(row)
                print_row(row, o["direct_p50_ms"])
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=60)


def print_row(row: dict[str, Any], direct_p50: float) -> None:
    print(f"{row['backend']}: workers {row['workers']} clients {row['clients']:>2}: {row['answers_per_s']:6.1f} answers/s, "
          f"p50 {row['p50_ms']:7.1f} ms, p95 {row['p95_ms']:7.1f} ms, errors {row['errors']}, "
          f"p50/direct {row['p50_ms'] / direct_p50:5.2f}x, outside the pipeline (HTTP + queue) p50 "
          f"{row['outside_pipeline_p50_ms']:.2f} ms, "
          f"RSS MiB {row['rss_mb']}" + (f"\n    first error: {row['first_error']}" if row["first_error"] else ""))
    sys.stdout.flush()


def start_chroma(path: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    proc = subprocess.Popen([chroma, "run", "--path", str(path), "--port", str(port), "--host", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{url}/api/v2/heartbeat", timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("chroma run did not start")


if __name__ == "__main__":
    main()
