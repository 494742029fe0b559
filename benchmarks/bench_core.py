"""Core benchmark: ingest throughput for the seeds, cold start, warm query latency
(p50/p95) per stage, and peak memory. Prints numbers and ratios; asserts nothing.

    .venv/bin/python benchmarks/bench_core.py [--rounds 5] [--queries 60]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant  # noqa: E402

QUESTIONS = [
    "How much territory did Ukraine lose in July?", "Who is Samuel Charap?", "What did Gabuev say about the ceasefire?",
    "How many people did the attack on Kyiv kill?", "What is the capital of Australia?",
    "What does Putin want to control?", "Who is Mike Waltz?", "What assets remain frozen abroad?",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5, help="fresh-index ingests of the seeds")
    ap.add_argument("--queries", type=int, default=60, help="warm questions to time")
    args = ap.parse_args()
    seeds = ROOT / "seeds"
    chars = sum(len(p.read_text(encoding="utf-8")) for p in seeds.iterdir())
    ingest_s, chunks = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            bot = Assistant(index=Path(tmp) / f"i{r}")
            t = time.perf_counter()
            report = bot.ingest([seeds])
            ingest_s.append(time.perf_counter() - t)
            chunks = report.chunks_added
        t = time.perf_counter()
        reingest = Assistant(index=Path(tmp) / "i0").ingest([seeds])
        reingest_s = time.perf_counter() - t
        assert reingest.added == ()

        t = time.perf_counter()
        bot = Assistant(index=Path(tmp) / "i0")
        bot.ask(QUESTIONS[0])
        cold = time.perf_counter() - t
        total, stages = [], {"retrieve": [], "generate": [], "cite": []}
        for i in range(args.queries):
            t = time.perf_counter()
            ans = bot.ask(QUESTIONS[i % len(QUESTIONS)])
            total.append((time.perf_counter() - t) * 1000)
            for k in stages:
                stages[k].append(ans.timings_ms[k])
    best = min(ingest_s)
    print(f"seeds: 2 documents, {chars} chars, {chunks} chunks")
    print(f"ingest (fresh index, incl. first embedder load): best {best:.3f}s, median {statistics.median(ingest_s):.3f}s"
          f"  -> {2 / best:.1f} docs/s, {chunks / best:.1f} chunks/s, {chars / best / 1000:.1f} k chars/s")
    print(f"re-ingest unchanged: {reingest_s:.3f}s  (ratio to fresh ingest: {reingest_s / best:.2f}x)")
    print(f"cold first answer (open index + load embedder + ask): {cold * 1000:.0f} ms")
    p50, p95 = pct(total, 0.5), pct(total, 0.95)
    print(f"warm ask over {args.queries} questions: p50 {p50:.1f} ms, p95 {p95:.1f} ms  (cold/warm p50: {cold * 1000 / p50:.1f}x)")
    for k, v in stages.items():
        print(f"  {k:9s} p50 {pct(v, 0.5):7.2f} ms   p95 {pct(v, 0.95):7.2f} ms")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
