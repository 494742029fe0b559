"""Near-duplicate story grouping: the same wire story carried by several outlets, and
updated, trimmed or re-headlined versions of one story, share a story id.

Each text becomes a set of word shingles (k consecutive lower-cased word tokens), summarised
by a MinHash signature (fixed seed, so signatures are comparable across runs and files).
An LSH index proposes candidates; a candidate is the same story when its estimated
*containment* (shared shingles over the smaller set, derived from the estimated Jaccard and
the exact set sizes) is high and its Jaccard is not negligible. Containment, not Jaccard,
is the test because a copy trimmed to half its length has Jaccard 0.5 but containment 1.

Grouping is transitive (connected components of the "same story" relation), and a story's
id is the id of its earliest-added member still present, so it does not depend on the
order in which later copies arrive. Parameters were chosen on development data by
`benchmarks/bench_stories.py` (CNN/DailyMail articles from HaluEval, lines 1-2,500)."""
from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np

from assistant.core import errors
from assistant.core.text import words

if TYPE_CHECKING:
    from datasketch import MinHash

FORMAT = 1


class StoryIndexDamaged(errors.AssistantError):
    """A saved story index cannot be read."""


@dataclass(frozen=True)
class StoryParams:
    """How texts are compared. `bands * rows` LSH buckets must fit in `num_perm`."""

    shingle: int = 4             # words per shingle
    num_perm: int = 128          # MinHash permutations
    seed: int = 1
    containment: float = 0.6     # min estimated |A & B| / min(|A|, |B|)
    min_jaccard: float = 0.2     # min estimated |A & B| / |A | B| (guards short texts)
    bands: int = 32              # LSH: candidate probability 1 - (1 - J**rows)**bands
    rows: int = 2


def shingles(text: str, k: int) -> set[bytes]:
    """The k-word shingles of `text` (lower-cased word tokens, curly quotes folded); a text
    shorter than k words is one shingle; an empty text has none."""
    tokens = words(text)
    if len(tokens) < k:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i:i + k]).encode() for i in range(len(tokens) - k + 1)}


class MinHashGroups:
    """Signatures of documents and the story each belongs to. Not thread-safe: guard it
    with the index lock, like the rest of ingest."""

    def __init__(self, params: StoryParams | None = None) -> None:
        self.params = params or StoryParams()
        p = self.params
        if p.bands * p.rows > p.num_perm:
            raise errors.ConfigError(f"story LSH needs bands*rows <= num_perm, got {p.bands}*{p.rows} > {p.num_perm}")
        from datasketch import MinHash, MinHashLSH  # here, not at import: it takes ~0.6 s to import

        self._minhash_cls = MinHash
        self._perm = MinHash(num_perm=p.num_perm, seed=p.seed).permutations
        self._lsh = MinHashLSH(num_perm=p.num_perm, params=(p.bands, p.rows))
        self._sig: dict[str, MinHash] = {}
        self._size: dict[str, int] = {}       # shingles per document
        self._seq: dict[str, int] = {}        # insertion order
        self._story: dict[str, str] = {}
        self._members: dict[str, set[str]] = {}
        self._next = 0

    def __len__(self) -> int:
        return len(self._story)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._story

    def signature(self, text: str) -> tuple[MinHash, int]:
        """The MinHash of `text` and its number of distinct shingles."""
        sh = shingles(text, self.params.shingle)
        mh = self._minhash()
        mh.update_batch(list(sh))
        return mh, len(sh)

    def add(self, doc_id: str, text: str) -> str:
        """Index `text` under `doc_id` (replacing an earlier version of that id) and return
        its story id. A new copy that links two stories merges them under the older id;
        call `assignments()` before and after to see which documents moved."""
        if doc_id in self._story:
            self.remove(doc_id)
        mh, size = self.signature(text)
        self._insert(doc_id, mh, size, self._next)
        self._next += 1
        return self._story[doc_id]

    def remove(self, doc_id: str) -> dict[str, str]:
        """Forget `doc_id`. Its story may split (it was the only link between copies) or
        lose its id (it was the earliest member); returns {doc id: new story id} for every
        remaining document whose story id changed. Unknown ids are ignored."""
        story = self._story.pop(doc_id, None)
        if story is None:
            return {}
        if self._size.pop(doc_id):
            self._lsh.remove(doc_id)
        del self._sig[doc_id], self._seq[doc_id]
        rest = self._members.pop(story) - {doc_id}
        changed: dict[str, str] = {}
        for component in self._components(rest):
            sid = min(component, key=self._seq.__getitem__)
            self._members[sid] = component
            for d in component:
                if self._story[d] != sid:
                    changed[d] = sid
                self._story[d] = sid
        return changed

    def story_of(self, doc_id: str) -> str | None:
        """The story id of `doc_id`, or None when it is not indexed."""
        return self._story.get(doc_id)

    def members(self, story_id: str) -> list[str]:
        """The documents of a story, earliest added first ([] for an unknown story)."""
        return sorted(self._members.get(story_id, ()), key=self._seq.__getitem__)

    def assignments(self) -> dict[str, str]:
        """{doc id: story id} for every indexed document."""
        return dict(self._story)

    def similarity(self, a: str, b: str) -> tuple[float, float]:
        """Estimated (Jaccard, containment) of two indexed documents."""
        return self._score(a, b)

    def same_story(self, a: str, b: str) -> bool:
        """Whether two indexed documents pass the same-story test directly (not transitively)."""
        jac, con = self._score(a, b)
        return jac >= self.params.min_jaccard and con >= self.params.containment

    # -- persistence ---------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """JSON: the parameters and, per document, its story, order, size and signature."""
        docs = [{"id": d, "story": self._story[d], "seq": self._seq[d], "size": self._size[d],
                 "sig": base64.b64encode(self._sig[d].hashvalues.astype("<u4").tobytes()).decode()}
                for d in sorted(self._story, key=self._seq.__getitem__)]
        return json.dumps({"format": FORMAT, "params": asdict(self.params), "next": self._next, "docs": docs},
                          separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "story index") -> "MinHashGroups":
        """The inverse of `to_bytes`; raises StoryIndexDamaged on anything unreadable."""
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise ValueError(f"format {raw.get('format')!r}, expected {FORMAT}")
            index = cls(StoryParams(**raw["params"]))
            for d in raw["docs"]:
                values = np.frombuffer(base64.b64decode(d["sig"]), dtype="<u4").astype(np.uint64)
                if len(values) != index.params.num_perm:
                    raise ValueError(f"signature of {d['id']!r} has {len(values)} values")
                mh = index._minhash(values)
                index._insert(d["id"], mh, int(d["size"]), int(d["seq"]))
            index._next = max(int(raw["next"]), max(index._seq.values(), default=-1) + 1)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoryIndexDamaged(f"{source} is damaged ({exc}): delete it and re-ingest to rebuild it") from exc
        return index

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically (temporary file in the same directory, fsync, rename)."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self.to_bytes())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str], params: StoryParams | None = None) -> "MinHashGroups":
        """Read a saved index; a missing file gives an empty index with `params`."""
        path = Path(path)
        if not path.exists():
            return cls(params)
        return cls.from_bytes(path.read_bytes(), source=str(path))

    # -- internals -----------------------------------------------------------------

    def _minhash(self, values: np.ndarray | None = None) -> MinHash:
        return self._minhash_cls(num_perm=self.params.num_perm, seed=self.params.seed, hashvalues=values,
                                 permutations=self._perm, scheme="affine32")

    def _insert(self, doc_id: str, mh: MinHash, size: int, seq: int) -> None:
        """Add a signature and merge the stories of its verified candidates (stories are
        the connected components, so the result does not depend on insertion order)."""
        candidates = [c for c in (self._lsh.query(mh) if size else ()) if c in self._story]
        self._sig[doc_id], self._size[doc_id], self._seq[doc_id] = mh, size, seq
        linked = {self._story[c] for c in candidates if self.same_story(doc_id, c)}
        if size:
            self._lsh.insert(doc_id, mh)
        group = {doc_id}.union(*(self._members.pop(s) for s in linked))
        sid = min(group, key=self._seq.__getitem__)
        self._members[sid] = group
        for d in group:
            self._story[d] = sid

    def _score(self, a: str, b: str) -> tuple[float, float]:
        na, nb = self._size[a], self._size[b]
        if not na or not nb:
            return 0.0, 0.0
        jac = float(self._sig[a].jaccard(self._sig[b]))
        shared = jac * (na + nb) / (1 + jac)
        return jac, min(1.0, shared / min(na, nb))

    def _components(self, docs: set[str]) -> Iterable[set[str]]:
        left = set(docs)
        while left:
            seen, todo = set(), [left.pop()]
            while todo:
                d = todo.pop()
                seen.add(d)
                near = [m for m in left if self.same_story(d, m)]
                left.difference_update(near)
                todo.extend(near)
            yield seen


def group(docs: Mapping[str, str], params: StoryParams | None = None) -> dict[str, str]:
    """{doc id: story id} for a batch of {doc id: text}; the story id is the first id (in
    mapping order) of each group of near-duplicates."""
    index = MinHashGroups(params)
    for doc_id, text in docs.items():
        index.add(doc_id, text)
    return index.assignments()


_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "″": '"', "‘": "'", "’": "'", "‚": "'", "′": "'",
                         "–": "-", "—": "-", "\u00a0": " "})
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Quotes and dashes folded to ASCII, runs of whitespace to one space, ends stripped."""
    return _SPACE.sub(" ", text.translate(_QUOTES)).strip()


def also_in(index: MinHashGroups, doc_id: str, sentence: str, texts: Mapping[str, str]) -> list[str]:
    """The other members of `doc_id`'s story whose text (from `texts`, {doc id: text})
    carries `sentence`, compared after `normalise`; earliest added first. A citation lists
    them as the other outlets that print the same sentence."""
    story = index.story_of(doc_id)
    needle = normalise(sentence)
    if story is None or not needle:
        return []
    return [m for m in index.members(story) if m != doc_id and m in texts and needle in normalise(texts[m])]
