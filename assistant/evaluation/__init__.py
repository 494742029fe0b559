"""Evaluation: metrics, the runner over gold sets, reports, and the HaluEval and news-QA
benchmarks."""

from assistant.evaluation.halueval import (
    data_path,
    read_lines,
    run_removal,
    score_checker,
    score_summaries,
)
from assistant.evaluation.runner import EvalConfig, check_thresholds, evaluate, load_gold

__all__ = [
    "EvalConfig",
    "check_thresholds",
    "data_path",
    "evaluate",
    "load_gold",
    "read_lines",
    "run_removal",
    "score_checker",
    "score_summaries",
]
