"""Plain typed data passed between pipeline stages, and its one serializer."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One article. `text` is the article text as loaded; `body_start`/`body_end`
    delimit the part that is indexed (headline, captions and site boilerplate
    stay outside it, but offsets always refer to the full `text`)."""

    id: str
    title: str
    source: str
    text: str
    content_hash: str
    published: str | None = None  # ISO 8601: "YYYY-MM-DD", or a datetime with its offset when a time is known
    url: str | None = None
    body_start: int = 0
    body_end: int = -1
    outlet: str | None = None  # the publication's name ("Reuters"), as the article or page gives it

    def body_span(self) -> tuple[int, int]:
        """The (start, end) of the indexed body inside `text`."""
        end = len(self.text) if self.body_end < 0 else self.body_end
        return self.body_start, end


@dataclass(frozen=True)
class Chunk:
    """A contiguous piece of a document: `document.text[start:end] == text`."""

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    position: int


@dataclass(frozen=True)
class DocumentInfo:
    """What the index knows about a stored document (no full text)."""

    id: str
    title: str
    source: str
    content_hash: str
    published: str | None
    url: str | None
    chunks: int
    chars: int
    outlet: str | None = None
    story: str | None = None  # the story group (near-duplicate copies share one id: the first copy's)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its scores and its rank (1 = best)."""

    chunk_id: str
    doc_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    rank: int
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None
    published: str | None = None
    outlet: str | None = None


# What a Markdown or HTML renderer would turn into a link or an image: [text](url), ![alt](url),
# [text][ref], a "[ref]: url" definition, <a href>/<img>/<iframe>..., <http://autolinks>,
# bare URLs (GitHub-style linkify) and javascript:/data: URLs.
_LINK_SYNTAX = re.compile(
    r"\[[^\]\n]*\]\s*[(\[]|^\s{0,3}\[[^\]\n]+\]:|<\s*(?:a|img|iframe|embed|object|source|video|audio|link|area"
    r"|form|base)\b|<[a-z][a-z0-9+.-]*:[^\s>]*>|\b(?:https?|ftp)://|\bwww\.[a-z0-9-]|(?<![\w/])//[a-z0-9-]+\.[a-z]"
    r"|\b(?:javascript|vbscript):|\bdata:[a-z]+/|\bmailto:\S+@", re.IGNORECASE | re.MULTILINE)


def has_link_syntax(text: str) -> bool:
    """True when `text` holds Markdown or HTML link or image syntax, an autolink or a URL:
    something a renderer would make clickable or fetch."""
    return bool(_LINK_SYNTAX.search(text))


@dataclass(frozen=True)
class Citation:
    """`[n]` in an answer: an exact span of a document (`text[start:end] == quote`).

    `quote` is plain text, exactly as the article has it: show it as text, never render it
    as Markdown or HTML. `quote_has_link` (derived from `quote`) says whether it holds
    Markdown/HTML link or image syntax or a URL, which a renderer would turn into a link."""

    n: int
    doc_id: str
    title: str
    source: str
    chunk_id: str
    quote: str
    start: int
    end: int
    published: str | None = None
    outlet: str | None = None
    also_in: tuple[dict[str, Any], ...] = ()  # other copies of the story: {doc_id, outlet, published}
    date_hint: str | None = None  # relative dates in the quote resolved: "on Wednesday = Wed 2025-03-05"
    quote_has_link: bool = field(default=False, init=False)  # derived from `quote` (has_link_syntax)

    def __post_init__(self) -> None:
        object.__setattr__(self, "quote_has_link", has_link_syntax(self.quote))


@dataclass(frozen=True)
class Sentence:
    """One sentence of an answer, the citation numbers it carries, and its support."""

    text: str
    citations: tuple[int, ...]
    supported: bool
    score: float


@dataclass(frozen=True)
class Usage:
    """Token usage of one answer (zero for the extractive answerer)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None

    def __add__(self, other: "Usage") -> "Usage":
        cost = None if self.cost_usd is None and other.cost_usd is None else (self.cost_usd or 0) + (other.cost_usd or 0)
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens,
                     self.total_tokens + other.total_tokens, None if cost is None else round(cost, 6))


@dataclass(frozen=True)
class Answer:
    """The result of `Assistant.ask`."""

    question: str
    answer: str
    refused: bool
    citations: tuple[Citation, ...]
    sentences: tuple[Sentence, ...]
    passages: tuple[Passage, ...]
    usage: Usage = field(default_factory=Usage)
    timings_ms: dict[str, float] = field(default_factory=dict)
    backend: str = "extractive"
    model: str | None = None
    groundedness: float = 0.0
    incomplete: bool = False
    standalone_question: str | None = None
    warning: str | None = None
    confidence: float | None = None  # calibrated answerability of the question from the evidence, in [0, 1]
    refusal: str | None = None  # why it was refused: "invalid", "no_evidence" or "unsupported"; None if answered


@dataclass(frozen=True)
class Skipped:
    """A file or record that was not ingested, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    chunks_added: int = 0
    removed: tuple[str, ...] = ()  # records a re-ingested .jsonl/.json file no longer holds


def to_dict(obj: Any) -> Any:
    """Serialize any of the dataclasses above (recursively) into JSON-ready data."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    return obj


@dataclass(frozen=True)
class ChunkRef:
    """Where a chunk is: its document, that document's version (the first 16 hex digits of
    its content hash, which start the chunk id) and offsets."""

    id: str
    doc_id: str
    version: str
    start: int
    end: int
