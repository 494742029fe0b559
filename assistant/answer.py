"""Turn a checked draft into the final `Answer`: exact-span citations, renumbered markers,
unsupported sentences kept visible but uncited, and a refusal when nothing is supported."""
from __future__ import annotations

from typing import Any, Sequence

from .cite import Checker, best_span, parse
from .types import Answer, Citation, Passage, Sentence


REFUSAL = "The articles don't say"


def refusal_text(question: str) -> str:
    """The plain refusal shown when the articles hold no answer."""
    return f"{REFUSAL}: none of the indexed articles answers “{question.strip()}”."


def finalize(question: str, draft: str, passages: Sequence[Passage], checker: Checker,
             timings: dict[str, float], **meta: Any) -> Answer:
    """Check every sentence of `draft` against `passages` and build the Answer.

    Each supporting (sentence, passage) pair becomes a citation `[n]` whose quote is the
    best-matching span of that passage, with offsets into the document text. When no
    sentence is supported the answer is a refusal."""
    draft_sentences = parse(draft)
    checks = checker.check(draft_sentences, [p.text for p in passages])
    citations: list[Citation] = []
    by_span: dict[tuple[str, int, int], int] = {}
    sentences: list[Sentence] = []
    parts: list[str] = []
    for check in checks:
        numbers: list[int] = []
        for k in check.supporting:
            p = passages[k - 1]
            a, b = best_span(check.text, p.text)
            key = (p.chunk_id, a, b)
            if key not in by_span:
                by_span[key] = len(citations) + 1
                citations.append(Citation(n=by_span[key], doc_id=p.doc_id, title=p.title, source=p.source,
                                          chunk_id=p.chunk_id, quote=p.text[a:b], start=p.start + a, end=p.start + b))
            numbers.append(by_span[key])
        sentences.append(Sentence(check.text, tuple(numbers), check.supported, check.score))
        parts.append(check.text + "".join(f" [{n}]" for n in numbers))
    supported = sum(s.supported for s in sentences)
    if not supported:
        return refusal_answer(question, passages, timings, **meta)
    return Answer(question=question, answer=" ".join(parts), refused=False, citations=tuple(citations),
                  sentences=tuple(sentences), passages=tuple(passages), timings_ms=timings,
                  groundedness=round(supported / len(sentences), 4), **meta)


def refusal_answer(question: str, passages: Sequence[Passage], timings: dict[str, float], **meta: Any) -> Answer:
    """An Answer that says the articles do not hold the answer: no citations."""
    return Answer(question=question, answer=refusal_text(question), refused=True, citations=(), sentences=(),
                  passages=tuple(passages), timings_ms=timings, groundedness=0.0, **meta)
