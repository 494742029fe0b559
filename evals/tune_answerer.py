"""Fit and check the extractive answerer on HaluEval QA development lines (1-4,000 only;
lines 4,001-5,000 are the test split, 5,001-10,000 are never read).

    python evals/tune_answerer.py build 1 1500 /tmp/tune/d1           # index the knowledge of lines 1-1500
    python evals/tune_answerer.py collect /tmp/tune/d1 1-1500 1501-2000 /tmp/tune/d1.npz
    python evals/tune_answerer.py fit /tmp/tune/d1.npz                 # -> WEIGHTS, ANSWERABILITY
    python evals/tune_answerer.py build 2001 3500 /tmp/tune/d2
    python evals/tune_answerer.py collect /tmp/tune/d2 2001-3500 3501-4000 /tmp/tune/d2.npz
    python evals/tune_answerer.py threshold /tmp/tune/d2.npz 0.10      # -> THRESHOLD
    python evals/tune_answerer.py eval /tmp/tune/d1 1-1500 1501-2000   # end to end through Assistant.ask

`collect` retrieves the passages of every question (answerable: its knowledge passage is
indexed; unanswerable: it is not) and stores one feature row per candidate window, labelled
1 when the window contains the gold answer (SQuAD-normalised containment)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from assistant import Assistant
from assistant.answer import extractive
from assistant.answer import reading as evidence
from assistant.evaluation import metrics
from assistant.evaluation.halueval import read_lines

LAST_DEV = 4000


def _lines(spec: str) -> tuple[int, int]:
    a, b = (int(x) for x in spec.split("-"))
    if b > 5000 or a < 1:
        raise SystemExit("HaluEval lines 1-5000 only (5001-10000 are never read)")
    return a, b


def build(first: int, last: int, work: Path) -> None:
    """Index the distinct knowledge passages of lines first..last into work/index."""
    work.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    with open(work / "knowledge.jsonl", "w", encoding="utf-8") as f:
        for no, row in enumerate(read_lines(first, last), start=first):
            if row["knowledge"] not in seen:
                seen.add(row["knowledge"])
                f.write(json.dumps({"id": f"halu-{no}", "title": f"HaluEval knowledge {no}",
                                    "text": row["knowledge"]}, ensure_ascii=False) + "\n")
    report = Assistant(index=work / "index").ingest([work / "knowledge.jsonl"])
    print(f"indexed {len(report.added)} passages of lines {first}-{last}")


def _questions(work: Path, answerable: str, unanswerable: str) -> list[tuple[dict, bool]]:
    indexed = {json.loads(line)["text"] for line in open(work / "knowledge.jsonl", encoding="utf-8")}
    rows = [(r, True) for r in read_lines(*_lines(answerable))]
    # A question whose passage happens to be indexed (duplicate knowledge) is not unanswerable.
    rows += [(r, False) for r in read_lines(*_lines(unanswerable)) if r["knowledge"] not in indexed]
    return rows


def collect(work: Path, answerable: str, unanswerable: str, out: Path) -> None:
    """Feature rows of every candidate window of every question, with labels."""
    bot = Assistant(index=work / "index")
    xs, ys, qid, qans, qxs = [], [], [], [], []
    for i, (row, ok) in enumerate(_questions(work, answerable, unanswerable)):
        question = " ".join(row["question"].split())
        passages = bot.retrieve(question)
        q = evidence.profile(question)
        cands = evidence.windows(passages)
        qans.append(ok)
        qxs.append(np.zeros(len(evidence.QUESTION_FEATURES)))
        if not cands or not q.terms:
            continue
        vecs = bot.embedder.embed([question] + [w.text for w in cands])
        x = evidence.features(q, cands, passages, bot.index.idf, np.clip(vecs[1:] @ vecs[0], 0, 1))
        if q.focus:  # the model never sees windows the focus rule excludes
            keep = (x[:, evidence.FEATURES.index("focus")] >= 1.0) & (x[:, evidence.FEATURES.index("type")] >= 1.0)
            x, cands = x[keep], [c for c, k in zip(cands, keep) if k]
        if not cands:
            continue
        qxs[-1] = evidence.question_features(q, passages, bot.index.idf, x, x @ extractive.WEIGHTS)
        xs.append(x)
        ys += [ok and metrics.contains_answer(w.text, [row["right_answer"]]) > 0 for w in cands]
        qid += [i] * len(cands)
    np.savez(out, x=np.vstack(xs), y=np.array(ys, float), qid=np.array(qid), answerable=np.array(qans),
             qx=np.array(qxs))
    print(f"{len(qans)} questions, {len(ys)} windows, {int(sum(ys))} hold the answer -> {out}")


def _logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.1, steps: int = 30) -> np.ndarray:
    w = np.zeros(x.shape[1])
    for _ in range(steps):  # Newton-Raphson on the L2-penalised log-likelihood
        p = 1 / (1 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + l2 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def _best(data: dict, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per question: its QUESTION_FEATURES row (with the best window's logit under `w`),
    whether that best window holds the answer, and whether the question is answerable."""
    logits = data["x"] @ w
    n = len(data["answerable"])
    best, hit = np.full(n, -10.0), np.zeros(n)
    for lg, y, q in zip(logits, data["y"], data["qid"]):
        if lg > best[q]:
            best[q], hit[q] = lg, y
    qx = data["qx"].copy()
    qx[:, 0], qx[:, 1] = 1.0, best / 5
    return qx, hit, data["answerable"].astype(bool)


def fit(path: Path) -> None:
    """Print WEIGHTS and ANSWERABILITY for assistant/extractive.py."""
    data = dict(np.load(path))
    w = _logistic(data["x"], data["y"])
    qx, _, ok = _best(data, w)
    a = _logistic(qx, ok.astype(float), l2=0.1)
    print("WEIGHTS = np.array([" + ", ".join(f"{v:.3f}" for v in w) + "])  # " + ", ".join(evidence.FEATURES))
    print("ANSWERABILITY = np.array([" + ", ".join(f"{v:.3f}" for v in a) + "])  # "
          + ", ".join(evidence.QUESTION_FEATURES))


def threshold(path: Path, max_false_refusal: float) -> None:
    """Refusal rates by threshold on `confidence`, up to the first over the false-refusal
    budget. `contained` counts answerable questions whose best window holds the answer."""
    data = dict(np.load(path))
    qx, hit, ok = _best(data, extractive.WEIGHTS)
    conf = 1 / (1 + np.exp(-(qx @ extractive.ANSWERABILITY)))
    for t in np.arange(0.05, 0.95, 0.01):
        refused = conf < t
        fr = refused[ok].mean()
        print(f"t={t:.2f} false refusals {fr:.3f} contained {(hit[ok] * ~refused[ok]).mean():.3f} "
              f"unanswerable refused {refused[~ok].mean():.3f}")
        if fr > max_false_refusal:
            break


def evaluate(work: Path, answerable: str, unanswerable: str) -> None:
    """End to end through Assistant.ask: contains / refused on answerable questions,
    refused on unanswerable ones, latency."""
    bot = Assistant(index=work / "index")
    stats: dict[str, list[float]] = {}
    for row, ok in _questions(work, answerable, unanswerable):
        t0 = time.perf_counter()
        ans = bot.ask(row["question"])
        stats.setdefault("latency_ms", []).append((time.perf_counter() - t0) * 1000)
        # The answerer's own decision, before the citation checker (a separate module) has its say.
        sel = bot.generator.select(ans.standalone_question or ans.question, ans.passages)
        draft = "" if not sel.answerable else "".join(bot.generator.draft(sel))
        if ok:
            stats.setdefault("selection_contains", []).append(metrics.contains_answer(draft, [row["right_answer"]]))
            stats.setdefault("selection_refused", []).append(float(not sel.answerable))
        else:
            stats.setdefault("selection_unanswerable_refused", []).append(float(not sel.answerable))
        if ok:
            stats.setdefault("contains", []).append(0.0 if ans.refused else
                                                    metrics.contains_answer(ans.answer, [row["right_answer"]]))
            stats.setdefault("refused", []).append(float(ans.refused))
        else:
            stats.setdefault("unanswerable_refused", []).append(float(ans.refused))
    lat = stats.pop("latency_ms")
    out = {k: round(metrics.mean(v), 4) for k, v in stats.items()}
    out |= {"answerable": len(stats["contains"]), "unanswerable": len(stats.get("unanswerable_refused", [])),
            "latency_ms_p50": round(metrics.percentile(lat, 50), 1), "latency_ms_p95": round(metrics.percentile(lat, 95), 1)}
    print(json.dumps(out))


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "build":
        build(int(args[0]), int(args[1]), Path(args[2]))
    elif cmd == "collect":
        collect(Path(args[0]), args[1], args[2], Path(args[3]))
    elif cmd == "fit":
        fit(Path(args[0]))
    elif cmd == "threshold":
        threshold(Path(args[0]), float(args[1]))
    elif cmd == "eval":
        evaluate(Path(args[0]), args[1], args[2])
    else:
        raise SystemExit(__doc__)
