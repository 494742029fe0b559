"""Choose the recency half-life (`Settings.recency_half_life`, assistant.retrieve.recency).

Corpus: tests/data/news/recency/stories.jsonl, five stories in three dated versions each
(different figures; versions 1 day to 2 months apart) and five newer articles on other
topics that share the stories' place names. Questions: tests/data/news/recency/questions.jsonl,
each a "latest" question whose right answer is the story's newest version.

For each half-life the script reports, over the "latest" questions, how often the top
passage is the newest version (newest@1) and how often it is on the story at all
(on-story@1, which a too-short half-life loses to the newer off-story articles), plus
whether the plain questions' rankings are unchanged (they must be: recency only acts
on recency questions). Run: `.venv/bin/python evals/tune_recency.py`."""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "news" / "recency"
HALF_LIVES = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 7.0, 14.0, 30.0, 90.0, 365.0)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from assistant import Assistant

    stories = {r["id"]: r for r in map(json.loads, (DATA / "stories.jsonl").read_text().splitlines()) if r}
    questions = [json.loads(line) for line in (DATA / "questions.jsonl").read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        base = Assistant(index=Path(tmp) / "index")
        base.ingest([DATA / "stories.jsonl"])
        plain_off = {q["plain"]: [p.chunk_id for p in base.variant(recency_half_life=0.0).retrieve(q["plain"])]
                     for q in questions}
        print("half-life (days) | newest@1 | on-story@1 | plain rankings unchanged")
        print("---|---|---|---")
        for half_life in HALF_LIVES:
            bot = base.variant(recency_half_life=half_life)
            newest = on_story = 0
            for q in questions:
                top = bot.retrieve(q["question"], top_k=5)[0].doc_id
                newest += top == q["newest"]
                on_story += stories[top]["story"] == q["story"]
            same = all([p.chunk_id for p in bot.retrieve(q["plain"])] == plain_off[q["plain"]] for q in questions)
            n = len(questions)
            print(f"{half_life:g} | {newest}/{n} | {on_story}/{n} | {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
