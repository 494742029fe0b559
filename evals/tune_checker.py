"""Fit the support checker's logistic regression (assistant/support.py WEIGHTS, BIAS) and
choose its threshold on HaluEval development lines only.

    .venv/bin/python evals/tune_checker.py --qa 1-4000 --summaries 1-4000

Claims: QA right answers (label 1) and hallucinated answers (label 0), checked against
their knowledge (a bare answer through its question), plus each knowledge passage's last
sentence verbatim (label 1; on the validation lines they bound the threshold: a verbatim
sentence must pass); every sentence of a right summary
(label 1) against its article, and of a hallucinated summary the least supported sentence
(label 0; multiple-instance: the other sentences may well be true). The fit alternates
between choosing that sentence with the current weights and refitting. Then the threshold
that maximises the mean of QA accuracy and summary balanced accuracy is printed. Lines
4,001-5,000 are the test split: never pass them here."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from assistant.answer import support
from assistant.answer.cite import parse
from assistant.core.text import sentence_spans
from assistant.evaluation.halueval import data_path, read_lines

SUMMARIES = "dataset_halueval_summarization.jsonl"


def claim_features(answer: str, passage: str, question: str | None = None) -> np.ndarray | None:
    ev = support.evidence(passage)
    found = support.claim(answer, ev, question)
    return None if found is None else support.features(found[0], ev, whole=found[1])


def qa_rows(first: int, last: int, anchors: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Features of the right and hallucinated answers (None -> zeros: never supported).
    With `anchors`, the last sentence of each knowledge passage, verbatim, is a right
    claim too: HaluEval's right answers are bare names checked with their question and
    its hallucinated ones full sentences, and without these a true full sentence against
    a short passage would look suspicious by its form alone."""
    zero = np.zeros(len(support.WEIGHTS))
    right, wrong = [], []
    for row in read_lines(first, last):
        for out, key in ((right, "right_answer"), (wrong, "hallucinated_answer")):
            f = claim_features(row[key], row["knowledge"], row["question"])
            out.append(zero if f is None else f)
        if anchors:
            text = support._GLUED.sub(r"\1 \2", row["knowledge"])
            a, b = sentence_spans(text)[-1]
            f = claim_features(text[a:b], row["knowledge"])
            if f is not None:
                right.append(f)
    return np.array(right), np.array(wrong)


def summary_rows(first: int, last: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per summary, the feature matrix of its sentences (a sentence without content: zeros)."""
    zero = np.zeros(len(support.WEIGHTS))
    right, wrong = [], []
    for row in read_lines(first, last, data_path(SUMMARIES)):
        for out, key in ((right, "right_summary"), (wrong, "hallucinated_summary")):
            feats = [claim_features(d.text, row["document"]) for d in parse(row[key])]
            out.append(np.array([zero if f is None else f for f in feats] or [zero]))
    return right, wrong


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-2, steps: int = 50) -> tuple[np.ndarray, float]:
    """Weighted L2-regularised logistic regression by Newton's method."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    theta = np.zeros(xb.shape[1])
    reg = l2 * np.eye(xb.shape[1])
    reg[-1, -1] = 0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ theta))
        grad = xb.T @ (w * (p - y)) + reg @ theta
        hess = (xb * (w * p * (1 - p))[:, None]).T @ xb + reg
        theta -= np.linalg.solve(hess, grad)
    return theta[:-1], float(theta[-1])


def prob(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    """support.score's rules on feature rows: a claim without content (all zeros) scores 0,
    one with a number its passage never states at most NUMBER_CAP."""
    p = 1 / (1 + np.exp(-(x @ weights + bias)))
    p = np.where(np.any(x != 0, axis=-1), p, 0.0)
    missing_number = x[..., support.FEATURES.index("numbers_missing_passage")] > 0
    return np.where(missing_number, np.minimum(p, support.NUMBER_CAP), p)


def train(qa: tuple[np.ndarray, np.ndarray], summ: tuple[list, list], rounds: int = 3) -> tuple[np.ndarray, float]:
    q_pos, q_neg = qa
    s_pos = np.vstack(summ[0])
    weights, bias = np.zeros(q_pos.shape[1]), 0.0
    for r in range(rounds):
        if r == 0:
            s_neg = np.vstack(summ[1])
        else:
            s_neg = np.array([m[np.argmin(prob(m, weights, bias))] for m in summ[1]])
        # A claim without content (an all-zero row) is never supported by rule, whatever the
        # weights: it is scored, but it does not pull the fit.
        parts = [(p[np.any(p != 0, axis=1)], lab) for p, lab in ((q_pos, 1), (q_neg, 0), (s_pos, 1), (s_neg, 0))]
        x = np.vstack([p for p, _ in parts])
        y = np.concatenate([np.full(len(p), lab, float) for p, lab in parts])
        # each of the four groups weighs the same in total
        w = np.concatenate([np.full(len(p), len(x) / (4 * len(p))) for p, _ in parts])
        weights, bias = fit(x, y, w)
    return weights, bias


def evaluate(weights: np.ndarray, bias: float, qa: tuple, summ: tuple, threshold: float,
             share: float = 1.0) -> dict[str, float]:
    right = prob(qa[0], weights, bias) >= threshold
    caught = prob(qa[1], weights, bias) < threshold
    acc = lambda ms: np.array([np.mean(prob(m, weights, bias) >= threshold) >= share - 1e-9 for m in ms])
    accepted, rejected = acc(summ[0]), ~acc(summ[1])
    return {"qa_accuracy": (right.mean() + caught.mean()) / 2, "qa_right": right.mean(), "qa_caught": caught.mean(),
            "summ_faithful_accepted": accepted.mean(), "summ_hallucinated_caught": rejected.mean()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", default="1-4000")
    parser.add_argument("--summaries", default="1-4000")
    parser.add_argument("--validate", metavar="A-B", help="choose the threshold on these lines of both files")
    args = parser.parse_args()
    spans = [tuple(int(v) for v in s.split("-")) for s in (args.qa, args.summaries, args.validate or "1-1")]
    if any(b > 4000 for _, b in spans):
        sys.exit("tuning uses development lines 1-4000 only")
    t0 = time.perf_counter()
    qa, summ = qa_rows(*spans[0], anchors=True), summary_rows(*spans[1])
    held = (qa_rows(*spans[2]), summary_rows(*spans[2])) if args.validate else (qa, summ)
    anchors = qa_rows(*spans[2], anchors=True)[0][len(held[0][0]):] if args.validate else qa[0][:0]
    print(f"features in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    weights, bias = train(qa, summ)

    def objective(ts: tuple[float, float]) -> float:
        e = evaluate(weights, bias, *held, *ts)
        return e["qa_accuracy"] + (e["summ_faithful_accepted"] + e["summ_hallucinated_caught"]) / 2

    # A sentence its passage states verbatim must pass: at most 0.5 % of anchors refused.
    allowed = [round(t, 2) for t in np.arange(0.05, 0.96, 0.01) if np.mean(prob(anchors, weights, bias) >= t) >= 0.995]
    best = max(((t, s) for t in allowed for s in (1.0, 0.75, 0.67)), key=objective)
    current = evaluate(support.WEIGHTS, support.BIAS, *held, support.THRESHOLD, support.SUMMARY_SHARE)
    print("the shipped weights on the same lines: " + ", ".join(f"{k} {v:.3f}" for k, v in current.items()))
    print("WEIGHTS = np.array([" + ", ".join(f"{v:.3f}" for v in weights) + "])")
    print(f"BIAS = {bias:.3f}")
    print(f"threshold {best[0]:.2f}, summary share {best[1]}")
    for key, v in evaluate(weights, bias, *held, *best).items():
        print(f"  {key}: {v:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
