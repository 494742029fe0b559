"""Which documents tell the same story, kept in step with the store like the BM25 copy.

A `MinHashGroups` (MinHash + LSH, `assistant.index.story_grouping`) over every document's indexed body,
derived from Chroma (the source of truth) and saved beside the BM25 copy with the store
stamp it matches: a reader with another stamp re-reads only the documents that changed.
Grouping happens when a write settles (so at ingest) and is saved; the story of each
document, the members of a story and the other documents printing a given sentence are
answered from memory."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from assistant.index.story_grouping import MinHashGroups, StoryIndexDamaged, also_in

FORMAT = 1


class Stories:
    """A MinHashGroups plus the content hash each document had when it was grouped."""

    def __init__(self, index: MinHashGroups | None = None, hashes: dict[str, str] | None = None,
                 stamp: str | None = None) -> None:
        self.index = index or MinHashGroups()
        self.hashes = dict(hashes or {})
        self.stamp = stamp
        self._copies: bool | None = None

    def sync(self, store: Any, stamp: str | None = None) -> bool:
        """Group documents that are new or changed in `store`, forget those that are gone.
        Bodies are rebuilt from the chunk texts (the indexed part of each article)."""
        stamp = stamp or store.stamp()
        current = store.doc_hashes()
        gone = [d for d, h in self.hashes.items() if current.get(d) != h]
        for d in gone:
            self.index.remove(d)
            del self.hashes[d]
        fresh = [d for d, h in current.items() if self.hashes.get(d) != h]
        if fresh:  # the earliest published copy names its story (undated ones after, then by id)
            days = store.facets()
            fresh.sort(key=lambda d: (days.get(d, (0, None))[0] or 10**9, d))
        for i in range(0, len(fresh), 500):
            bodies: dict[str, list[tuple[int, int, str]]] = {}
            for _cid, doc_id, _hash, text, start, end in store.chunk_texts(fresh[i:i + 500]):
                bodies.setdefault(doc_id, []).append((start, end, text))
            for d in fresh[i:i + 500]:
                if d in bodies:
                    self.index.add(d, body(bodies[d]))
                    self.hashes[d] = current[d]
        self.stamp = stamp
        if gone or fresh:
            self._copies = None
        return bool(gone or fresh)

    def story_of(self, doc_id: str) -> str | None:
        return self.index.story_of(doc_id)

    @property
    def has_copies(self) -> bool:
        """True when some story has more than one document."""
        if self._copies is None:
            self._copies = len(set(self.index.assignments().values())) < len(self.index)
        return self._copies

    def copies(self, doc_id: str) -> list[str]:
        """The other documents of `doc_id`'s story, earliest grouped first."""
        story = self.index.story_of(doc_id)
        return [m for m in self.index.members(story) if m != doc_id] if story else []

    def also_in(self, doc_id: str, sentence: str, texts: Mapping[str, str]) -> list[str]:
        """The other documents of `doc_id`'s story whose text (in `texts`) prints `sentence`."""
        return also_in(self.index, doc_id, sentence, texts)

    # -- on disk ------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write atomically (temp file, fsync, rename); an unwritable disk is not an error:
        the copy in memory still answers and the next reader rebuilds it."""
        data = json.dumps({"format": FORMAT, "stamp": self.stamp, "hashes": self.hashes,
                           "index": json.loads(self.index.to_bytes())}).encode("utf-8")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path) -> "Stories | None":
        """The saved catalog, or None when there is none or it cannot be read (then it is rebuilt)."""
        try:
            raw = json.loads(path.read_bytes())
            if raw.get("format") != FORMAT:
                return None
            index = MinHashGroups.from_bytes(json.dumps(raw["index"]).encode("utf-8"), source=str(path))
            return cls(index, raw["hashes"], raw.get("stamp"))
        except (OSError, ValueError, KeyError, TypeError, StoryIndexDamaged):
            return None


def body(chunks: Iterable[tuple[int, int, str]]) -> str:
    """A document's indexed text from its chunks ((start, end, text), any order), overlaps
    written once."""
    out: list[str] = []
    reached = None
    for start, end, text in sorted(chunks):
        if reached is None or start >= reached:
            out.append(text)
        elif end > reached:
            out.append(text[reached - start:])
        reached = end if reached is None else max(reached, end)
    return "".join(out)


def one_per_story(passages: Sequence[Any], story_of: Any, k: int) -> list[Any]:
    """The first `k` of `passages` (best first) with copies pushed down: a passage whose
    story already has a better passage from *another* document goes after every passage
    that is the first of its story (several passages of one document stay). Ranks are
    renumbered; when fewer than `k` stories match, copies fill the rest."""
    seen: dict[str, str] = {}
    first, later = [], []
    for p in passages:
        story = story_of(p.doc_id) or p.doc_id
        owner = seen.setdefault(story, p.doc_id)
        (first if owner == p.doc_id else later).append(p)
    return [dataclasses.replace(p, rank=i) for i, p in enumerate((first + later)[:k], start=1)]
