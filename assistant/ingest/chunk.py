"""Sentence-aware chunking sized in tiktoken tokens, with overlap and exact offsets."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import tiktoken

from assistant.core.data import Chunk, Document
from assistant.core.text import sentence_spans
from assistant.core.tokens import encoding


@dataclass
class Chunker:
    """Packs consecutive sentences into chunks of at most `max_tokens` tokens; each chunk
    repeats the last sentences of the previous one, up to `overlap` tokens. A sentence
    longer than `max_tokens` is cut at word boundaries."""

    max_tokens: int = 160
    overlap: int = 40

    @cached_property
    def encoding(self) -> tiktoken.Encoding:
        return encoding()

    def count(self, text: str) -> int:
        """Number of tokens in `text`."""
        return len(self.encoding.encode(text, disallowed_special=()))

    def chunk(self, doc: Document) -> list[Chunk]:
        """Chunks of the document body; `doc.text[c.start:c.end] == c.text` for each."""
        start, end = doc.body_span()
        units: list[tuple[int, int, int]] = []  # (start, end, tokens)
        for a, b in sentence_spans(doc.text, start, end):
            units.extend(self._fit(doc.text, a, b))
        chunks: list[Chunk] = []
        i = 0
        while i < len(units):
            # Grow by the sum of sentence counts (cheap), then confirm with one exact count
            # of the window, stepping back while the joined text is over the budget.
            j, total = i + 1, units[i][2]
            while j < len(units) and total + units[j][2] <= self.max_tokens:
                total += units[j][2]
                j += 1
            while j - 1 > i and self.count(doc.text[units[i][0]:units[j - 1][1]]) > self.max_tokens:
                j -= 1
            a, b = units[i][0], units[j - 1][1]
            chunks.append(Chunk(id=f"{doc.content_hash[:16]}-{len(chunks):04d}", doc_id=doc.id,
                                text=doc.text[a:b], start=a, end=b, position=len(chunks)))
            if j >= len(units):
                break
            # Step back over sentences that fit in the overlap budget, but always advance.
            back, kept = j, 0
            while back - 1 > i and kept + units[back - 1][2] <= self.overlap:
                back -= 1
                kept += units[back][2]
            i = back
        return chunks

    def _fit(self, text: str, a: int, b: int) -> list[tuple[int, int, int]]:
        n = self.count(text[a:b])
        if n <= self.max_tokens:
            return [(a, b, n)]
        pieces: list[tuple[int, int, int]] = []
        pos = a
        while pos < b:
            # Binary-search the longest prefix (ending at whitespace) that fits.
            lo, hi, best = pos + 1, b, None
            while lo <= hi:
                mid = (lo + hi) // 2
                if self.count(text[pos:mid]) <= self.max_tokens:
                    best, lo = mid, mid + 1
                else:
                    hi = mid - 1
            cut = best or pos + 1
            if cut < b:
                space = text.rfind(" ", pos + 1, cut)
                cut = space if space > pos else cut
            seg_end = cut
            while seg_end > pos and text[seg_end - 1].isspace():
                seg_end -= 1
            if seg_end > pos:
                pieces.append((pos, seg_end, self.count(text[pos:seg_end])))
            pos = cut
            while pos < b and text[pos].isspace():
                pos += 1
        return pieces
