"""BM25 over the stored chunks (local Chroma has no sparse index), cached beside the index.

The cache is keyed by a fingerprint of the chunk ids, so it is rebuilt from Chroma
whenever the store changed, including by another process or before a restart."""
from __future__ import annotations

import hashlib
import math
from collections import Counter
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

import bm25s
import numpy as np

from .text import terms


def fingerprint(ids: Sequence[str]) -> str:
    """Order-independent digest of a set of chunk ids."""
    h = hashlib.sha256()
    for cid in sorted(ids):
        h.update(cid.encode("utf-8") + b"\n")
    return h.hexdigest()


class KeywordIndex:
    """BM25 scores for a fixed list of chunk ids."""

    def __init__(self, ids: list[str], model: bm25s.BM25 | None, stamp: str,
                 df: dict[str, int] | None = None) -> None:
        self.ids = ids
        self.model = model
        self.stamp = stamp
        self.df = df or {}

    def idf(self, term: str) -> float:
        """Inverse document frequency of a stemmed term; unseen terms get the highest value."""
        n = max(len(self.ids), 1)
        df = self.df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str]) -> "KeywordIndex":
        """Index `texts` (one per id)."""
        ids = list(ids)
        if not ids:
            return cls([], None, fingerprint([]))
        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
        tokens = [terms(t) or ["\x00"] for t in texts]
        model = bm25s.BM25()
        model.index(tokens, show_progress=False)
        return cls(ids, model, fingerprint(ids), dict(Counter(t for toks in tokens for t in set(toks))))

    def save(self, directory: Path) -> None:
        """Write atomically to `directory` (replaced as a whole)."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=directory.parent))
        try:
            if self.model is not None:
                self.model.save(str(tmp), show_progress=False)
            (tmp / "ids.json").write_text(json.dumps({"stamp": self.stamp, "ids": self.ids, "df": self.df}))
            old = directory.with_name(directory.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if directory.exists():
                directory.rename(old)
            tmp.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path, stamp: str) -> "KeywordIndex | None":
        """The cached index if it matches `stamp`, else None."""
        try:
            meta = json.loads((directory / "ids.json").read_text())
            if meta.get("stamp") != stamp:
                return None
            model = bm25s.BM25.load(str(directory)) if meta["ids"] else None
            return cls(meta["ids"], model, stamp, meta.get("df", {}))
        except (OSError, ValueError, KeyError):
            return None

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Up to `n` (chunk id, BM25 score) pairs with a positive score, best first."""
        if self.model is None:
            return []
        q = terms(query)
        if not q:
            return []
        scores = np.asarray(self.model.get_scores(q), dtype=np.float32)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
