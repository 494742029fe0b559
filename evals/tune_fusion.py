"""Choose the dense-side weight of hybrid retrieval on HaluEval QA development lines, and
report the chosen setting once on the test lines.

    python evals/tune_fusion.py dev  [--docs 1-4000] [--questions 1-2000] [--check 2001-4000]
    python evals/tune_fusion.py test --weight W      [--docs 1-5000] [--questions 4001-5000]

Every knowledge passage of the `--docs` lines becomes one document (as in
`halueval.run_benchmark`), each question of `--questions` is asked, and a hit is a
passage of the question's own knowledge document. For every question the dense and the
BM25 candidate lists (each `pool` deep, as `HybridRetriever` takes them) are read once;
each weight is then scored by fusing those lists with `assistant.retrieve.hybrid.fuse` (the
product's score fusion) and, for comparison, weighted reciprocal-rank fusion
(`assistant.retrieve.hybrid.rrf`). `dev` prints hit@1, hit@5 and MRR@10 for bm25, dense and
hybrid at each weight, picks the score-fusion weight with the best hit@5 (then MRR, then
hit@1) on the `--questions` lines and shows it on the `--check` lines. `test` runs the product's `Assistant.retrieve` for bm25, dense and
hybrid at `--weight` and reports p50/p95 retrieval latency. HaluEval lines 5,001-10,000
are never read. Results are written as JSON under `--out`."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant  # noqa: E402
from assistant.evaluation.halueval import read_lines  # noqa: E402
from assistant.retrieve.hybrid import RRF_K, HybridRetriever, fuse, rrf  # noqa: E402

WEIGHTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0)
LAST_ALLOWED = 5000  # HaluEval lines 5,001-10,000 stay untouched


def span(text: str) -> tuple[int, int]:
    a, b = (int(x) for x in text.split("-"))
    if not 1 <= a <= b <= LAST_ALLOWED:
        raise SystemExit(f"lines {text}: only HaluEval lines 1-{LAST_ALLOWED} may be used")
    return a, b


def build(work: Path, docs: tuple[int, int]) -> tuple[Assistant, dict[str, str], dict[int, dict]]:
    """An index over the knowledge passages of lines `docs` (reused when already built);
    returns it, knowledge text -> document id, and the rows by line number."""
    rows = {no: row for no, row in enumerate(read_lines(*docs), start=docs[0])}
    doc_of: dict[str, str] = {}
    work.mkdir(parents=True, exist_ok=True)
    source = work / "knowledge.jsonl"
    with open(source, "w", encoding="utf-8") as f:
        for no, row in rows.items():
            if row["knowledge"] not in doc_of:
                doc_of[row["knowledge"]] = f"halu-{no}"
                f.write(json.dumps({"id": f"halu-{no}", "title": f"HaluEval knowledge {no}",
                                    "text": row["knowledge"]}, ensure_ascii=False) + "\n")
    bot = Assistant(index=work / "index")
    t0 = time.perf_counter()
    report = bot.ingest([source])
    print(f"index {work / 'index'}: {len(doc_of)} documents ({len(report.added)} added in "
          f"{time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return bot, doc_of, rows


def scores(ranked_docs: list[list[str]], golds: list[str], k: int = 5) -> dict[str, float]:
    """hit@1, hit@k and MRR@10 of document rankings against each question's gold document."""
    h1 = hk = mrr = 0.0
    for docs, gold in zip(ranked_docs, golds):
        docs = list(dict.fromkeys(docs))[:10]
        rank = docs.index(gold) + 1 if gold in docs else 0
        h1 += rank == 1
        hk += 0 < rank <= k
        mrr += 1 / rank if rank else 0.0
    n = max(len(golds), 1)
    return {"hit@1": round(h1 / n, 4), f"hit@{k}": round(hk / n, 4), "mrr@10": round(mrr / n, 4)}


Scored = list[tuple[str, float]]


def candidates(bot: Assistant, questions: list[str], pool: int) -> list[tuple[Scored, Scored]]:
    """The dense (cosine) and BM25 candidates of each question, best first."""
    keyword, store, embedder = bot.keyword(), bot.store, bot.embedder
    return [(store.query(embedder.embed([q])[0], pool), keyword.search(q, pool)) for q in questions]


def ranked(fused: dict[str, float], doc_of_chunk: dict[str, str]) -> list[str]:
    return [doc_of_chunk[c] for c in sorted(fused, key=lambda c: (-fused[c], c))[:10]]


def dev(args: argparse.Namespace) -> dict:
    bot, doc_of, rows = build(Path(args.work) / f"docs-{args.docs[0]}-{args.docs[1]}", args.docs)
    keyword = bot.keyword()
    doc_of_chunk = {r.id: r.doc_id for r in keyword.locate(keyword.ids)}
    pool = HybridRetriever.pool
    table: dict[str, dict] = {}
    for name, lines in (("tune", args.questions), ("check", args.check)):
        qs = [rows[no] for no in range(lines[0], lines[1] + 1) if no in rows] if lines else []
        if not qs:
            continue
        golds = [doc_of[r["knowledge"]] for r in qs]
        cands = candidates(bot, [r["question"] for r in qs], pool)
        part: dict[str, dict] = {
            "bm25": scores([[doc_of_chunk[c] for c, _ in s] for _, s in cands], golds),
            "dense": scores([[doc_of_chunk[c] for c, _ in d] for d, _ in cands], golds)}
        for w in WEIGHTS:
            part[f"hybrid score w={w}"] = scores([ranked(fuse(d, s, w), doc_of_chunk) for d, s in cands], golds)
        for k in args.rrf_k:
            for w in WEIGHTS:
                part[f"hybrid rrf w={w} k={k}"] = scores(
                    [ranked(rrf([[c for c, _ in d], [c for c, _ in s]], k=k, weights=[w, 1 - w]), doc_of_chunk)
                     for d, s in cands], golds)
        table[name] = {"lines": list(lines), "questions": len(qs), "results": part}
        if name == "tune":
            hybrid = {key: v for key, v in part.items() if key.startswith("hybrid score")}
            best = max(hybrid, key=lambda key: (hybrid[key]["hit@5"], hybrid[key]["mrr@10"], hybrid[key]["hit@1"]))
            table["chosen"] = {"setting": best, "weight": float(best.split("w=")[1])}
        if "chosen" in table:
            got, single = part[table["chosen"]["setting"]], ("bm25", "dense")
            table[name]["chosen_never_worse_than_best_single_side"] = all(
                got[m] >= max(part[s][m] for s in single) for m in got)
    return table


def test(args: argparse.Namespace) -> dict:
    bot, doc_of, rows = build(Path(args.work) / f"docs-{args.docs[0]}-{args.docs[1]}", args.docs)
    qs = [rows[no] for no in range(args.questions[0], args.questions[1] + 1) if no in rows]
    golds = [doc_of[r["knowledge"]] for r in qs]
    out: dict = {"docs": list(args.docs), "documents": len(doc_of), "questions": len(qs),
                 "lines": list(args.questions), "weight": args.weight, "results": {}}
    for mode in ("bm25", "dense", "hybrid"):
        ranked, times = [], []
        for r in qs:
            t0 = time.perf_counter()
            got = HybridRetriever(bot.store, bot.embedder, bot.keyword(), mode=mode,
                                  weight=args.weight).retrieve(r["question"], 10)
            times.append((time.perf_counter() - t0) * 1000)
            ranked.append([p.doc_id for p in got])
        times.sort()
        out["results"][mode] = scores(ranked, golds) | {
            "latency_ms_p50": round(statistics.median(times), 2),
            "latency_ms_p95": round(times[int(0.95 * (len(times) - 1))], 2)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("split", choices=("dev", "test"))
    ap.add_argument("--docs", type=span, default=None, help="lines whose knowledge passages are indexed")
    ap.add_argument("--questions", type=span, default=None, help="lines whose questions are asked")
    ap.add_argument("--check", type=span, default=None, help="dev: lines that confirm the chosen weight")
    ap.add_argument("--rrf-k", type=int, nargs="+", default=[RRF_K])
    ap.add_argument("--weight", type=float, default=None, help="test: the dense weight chosen on dev")
    ap.add_argument("--work", default="/tmp/tune_fusion", help="where the indexes are built (reused)")
    ap.add_argument("--out", default=str(ROOT / "test-artifacts"))
    args = ap.parse_args()
    if args.split == "dev":
        args.docs, args.questions = args.docs or (1, 4000), args.questions or (1, 2000)
        args.check = args.check or (2001, 4000)
        if max(args.docs[1], args.questions[1], args.check[1]) > 4000:
            raise SystemExit("dev uses lines 1-4000 only; 4001-5000 are the test lines")
        result = dev(args)
    else:
        if args.weight is None:
            raise SystemExit("test needs --weight (the one `dev` chose)")
        args.docs, args.questions = args.docs or (1, 5000), args.questions or (4001, 5000)
        result = test(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"tune_fusion_{args.split}.json"
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"written to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
