"""Sweep the sentence-encoder re-rank (ASSISTANT_ENCODER_RERANK, ASSISTANT_ENCODER_DEPTH) on the
news QA dev questions: retrieval only (hit@1, hit@5, MRR), through the product's
`Assistant.retrieve`.

    python evals/tune_encoder.py [--out evals/runs/news] [--depths 10,15,20,30] [--weights 0.1,0.25,0.5,1,100]

`--out` is an `assistant eval-news --split dev` work directory (its index is reused). The
encoder's vectors are cached by text, so every chunk is encoded once however many settings
are tried; the wall time of the first (uncached) pass is the encoder's real cost. Only the
dev split is read: the test split is for the chosen setting, once (`eval-news --split test`).
Write the table as JSON with `--json FILE`. Answers and facts need the full run:
`ASSISTANT_ENCODER_RERANK=W ASSISTANT_ENCODER_DEPTH=D assistant eval-news --split dev`."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant  # noqa: E402
from assistant.evaluation import metrics  # noqa: E402
from assistant.evaluation.newsqa import DEFAULT_GOLD  # noqa: E402
from assistant.evaluation.runner import load_gold  # noqa: E402
from assistant.models.encoder import MiniLMEncoder  # noqa: E402


class CachedEncoder:
    """A MiniLMEncoder that encodes each distinct text once; `seconds` is the time spent encoding."""

    def __init__(self) -> None:
        self.inner = MiniLMEncoder()
        self.name = self.inner.name
        self.cache: dict[str, np.ndarray] = {}
        self.seconds = 0.0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            t0 = time.perf_counter()
            self.cache.update(zip(todo, self.inner.embed(todo)))
            self.seconds += time.perf_counter() - t0
        return np.stack([self.cache[t] for t in texts])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="evals/runs/news", help="eval-news work directory (its index)")
    ap.add_argument("--depths", default="10,15,20,30")
    ap.add_argument("--weights", default="0.1,0.25,0.5,1,100")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    items = [i for i in load_gold(DEFAULT_GOLD) if i.split == "dev" and i.answerable and i.evidence]
    base = Assistant(index=Path(args.out) / "index", encoder_rerank=0.0)
    encoder = CachedEncoder()
    histories = {i.id: [] for i in items}
    for item in items:  # follow-up questions: the earlier turns' answers, asked once with the encoder off
        for turn in item.turns:
            histories[item.id].append((turn, base.ask(turn, history=histories[item.id]).answer))
    settings = [(0, 0.0)] + [(int(d), float(w)) for d in args.depths.split(",") for w in args.weights.split(",")]
    rows = []
    for depth, weight in settings:
        bot = base.variant(encoder_rerank=weight, encoder_depth=depth or 20)
        bot._encoder = encoder
        scores, spent = [], encoder.seconds
        for item in items:
            passages = bot.retrieve(item.question, history=histories[item.id])
            rel = metrics.relevance([p.text for p in passages], [q for _, q in item.evidence])
            scores.append(metrics.retrieval_scores(rel, len(item.evidence), bot.settings.top_k))
        row = {"depth": depth, "weight": weight, "n": len(items),
               **{key: round(float(np.mean([s[key] for s in scores])), 4) for key in ("hit@1", "hit@k", "mrr")},
               "encode_s": round(encoder.seconds - spent, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
