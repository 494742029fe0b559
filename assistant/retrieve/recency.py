"""Recency: a question about the latest state of things prefers newer articles.

A question asks for recency when it says "latest", "most recent", "newest", "recent(ly)",
"now", "currently", "today", "this week/month/year", "so far" or "up to date". Then each
candidate's fused retrieval score is multiplied by

    0.5 ** (age / half_life)      age = reference day - the article's publication day

where the reference day is `as_of` when given, else the newest dated article among the
relevant candidates (fused score at least `RELEVANT` times the best one: so neither a
corpus of old articles is penalised for being old, nor a story for a newer article on
something else), an article newer than the reference is not decayed and an undated
article counts as one half-life old. Other questions are not affected.
The half-life (`Settings.recency_half_life`, ASSISTANT_RECENCY_HALF_LIFE, days) was
chosen on tests/data/news/recency by `evals/tune_recency.py` (see README)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

_RECENT = re.compile(
    r"\b(latest|most\s+recent(ly)?|newest|recent(ly)?|right\s+now|now|currently|today|tonight|"
    r"this\s+(week|month|year|morning)|so\s+far|up[\s-]to[\s-]date|as\s+of\s+(now|today))\b",
    re.IGNORECASE)
HALF_LIFE_DAYS = 7.0  # the default; see the module docstring
RELEVANT = 0.5


def wants_recent(question: str) -> bool:
    """Whether `question` asks about the latest state of things."""
    return bool(_RECENT.search(question))


@dataclass(frozen=True)
class Recency:
    """Age decay of candidates: `days` maps doc id -> publication day number (0 = undated)."""

    days: Mapping[str, int]
    half_life: float = HALF_LIFE_DAYS
    as_of: int | None = None

    def factors(self, doc_ids: Mapping[str, str], scores: Mapping[str, float]) -> dict[str, float]:
        """chunk id -> multiplier in (0, 1], for the chunks in `doc_ids` (chunk id -> doc id)
        whose fused retrieval `scores` are given."""
        best = max((scores.get(c, 0.0) for c in doc_ids), default=0.0)
        dated = [self.days.get(d, 0) for c, d in doc_ids.items() if scores.get(c, 0.0) >= RELEVANT * best]
        reference = self.as_of or max((d for d in dated if d > 0), default=0)
        if reference <= 0 or self.half_life <= 0:
            return {cid: 1.0 for cid in doc_ids}
        out: dict[str, float] = {}
        for cid, doc_id in doc_ids.items():
            day = self.days.get(doc_id, 0)
            age = max(0, reference - day) if day > 0 else self.half_life
            out[cid] = 0.5 ** (age / self.half_life)
        return out
