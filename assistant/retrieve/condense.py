"""Follow-up questions without an LLM: carry the previous turn's subject into a question
that leans on it ("What did he say about sanctions?")."""
from __future__ import annotations

import re
from typing import Sequence

_PRONOUN = re.compile(r"\b(he|she|him|her|his|hers|they|them|their|it|its|this|that|these|those|there)\b", re.I)
_NAME = re.compile(r"\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*")
_QUESTION_WORDS = {"What", "Who", "When", "Where", "Why", "How", "Which", "Did", "Does", "Do", "Is", "Are",
                   "Was", "Were", "Can", "Could", "Will", "Would", "Should", "The", "And", "But", "In", "On"}


def condense(question: str, history: Sequence[tuple[str, str]]) -> str:
    """The retrieval query for `question`: unchanged unless it is a follow-up with a pronoun,
    in which case the names from the previous question are added."""
    if not history or not _PRONOUN.search(question):
        return question
    previous = history[-1][0]
    names = [n for n in _NAME.findall(previous) if n.split()[0] not in _QUESTION_WORDS or len(n.split()) > 1]
    names = [" ".join(w for w in n.split() if w not in _QUESTION_WORDS) for n in names]
    names = [n for n in dict.fromkeys(names) if n and n.lower() not in question.lower()]
    return f"{question} ({' '.join(names)})" if names else f"{question} ({previous})"
