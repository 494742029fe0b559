"""Answering one question: the pipeline, the extractive reader and its features, the generator
registry, the citation checker, `verify` and the injection defence."""

from assistant.answer.cite import Checker, best_span, is_refusal, lexical_support, parse
from assistant.answer.extractive import ExtractiveGenerator
from assistant.answer.generators import GeneratorParts, make_generator
from assistant.answer.injection import is_instruction, strip_links
from assistant.answer.pipeline import AnswerPipeline, History
from assistant.answer.support import analyse, score
from assistant.answer.verify import Verdict, verify

__all__ = [
    "AnswerPipeline",
    "Checker",
    "ExtractiveGenerator",
    "GeneratorParts",
    "History",
    "Verdict",
    "analyse",
    "best_span",
    "is_instruction",
    "is_refusal",
    "lexical_support",
    "make_generator",
    "parse",
    "score",
    "strip_links",
    "verify",
]
