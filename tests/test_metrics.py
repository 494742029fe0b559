"""Metric definitions on hand-computed cases."""
from __future__ import annotations

import math

import pytest

from assistant.evaluation import metrics


def test_squad_normalisation_em_f1_and_containment():
    assert metrics.normalize_answer("The  502 square-kilometers!") == "502 squarekilometers"
    assert metrics.exact_match("the Rand Corporation.", ["Rand Corporation"]) == 1.0
    assert metrics.exact_match("Rand", ["Rand Corporation"]) == 0.0
    # pred "rand corp" vs gold "rand corporation": 1 common token, P = 1/2, R = 1/2
    assert metrics.token_f1("Rand corp", ["Rand Corporation", "nothing"]) == pytest.approx(0.5)
    assert metrics.token_f1("", ["x"]) == 0.0
    assert metrics.contains_answer("Ukraine lost 502 square kilometers in July.", ["502 square kilometers"]) == 1.0
    assert metrics.contains_answer("Ukraine lost 5020 km", ["502"]) == 0.0
    assert metrics.fact_coverage("Donetsk and  Luhansk", ["donetsk", "Kherson"]) == 0.5


def test_retrieval_scores():
    rel = metrics.relevance(["nothing here", "the quote  IS here", "other"], ["quote is here", "missing"])
    assert rel == [set(), {0}, set()]
    s = metrics.retrieval_scores(rel, n_quotes=2, k=2)
    assert s["hit@1"] == 0.0 and s["hit@k"] == 1.0 and s["recall@k"] == 0.5 and s["mrr"] == 0.5
    ideal = 1 + 1 / math.log2(3)
    assert s["ndcg@10"] == pytest.approx((1 / math.log2(3)) / ideal)


def test_alce_citation_recall_and_precision():
    from assistant.answer.support import THRESHOLD

    support = metrics.checker_support(THRESHOLD)
    good, other = "Ukraine lost 502 square kilometers in July.", "Kyiv was attacked."
    recall, precision, n_s, n_c = metrics.citation_scores(
        [("Ukraine lost 502 square kilometers in July.", [good, other]),  # other is not needed
         ("Canberra is the capital of Australia.", [good])],              # unsupported
        support)
    assert (n_s, n_c) == (2, 3)
    assert recall == 0.5 and precision == pytest.approx(1 / 3)


def test_refusal_scores_and_percentiles():
    s = metrics.refusal_scores([True, True, False, False], [True, False, True, False])
    assert s == {"precision": 0.5, "recall": 0.5, "false_refusal_rate": 0.5}
    assert metrics.percentile([1, 2, 3, 4], 50) == 2.5 and metrics.percentile([], 95) == 0.0
