"""Main text of an HTML page: no script, style, hidden or navigation elements (comments are
dropped by the parser); and the visible text of Markdown (no HTML comments or hidden blocks)."""
from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

from assistant.core.errors import LoadError

_SKIP = {"script", "style", "noscript", "template", "svg", "iframe", "object", "canvas", "nav",
         "footer", "aside", "form", "button", "select", "head", "figcaption", "dialog", "menu"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
         "source", "track", "wbr"}
_BLOCK = {"p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6",
          "li", "ul", "ol", "blockquote", "pre", "table", "tr", "br", "hr", "figure", "dd", "dt"}
# Bounds on hostile markup. Every step below is O(1) per tag, so parse time grows linearly;
# more open elements than any real page (unclosed <p> and <li> included) would be a memory
# sink, and is refused, as is a parse past the time budget.
MAX_DEPTH = 10_000
MAX_PARSE_SECONDS = 30.0
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
# What a Markdown renderer never shows: HTML comments (an unclosed one hides the rest), the
# "[//]: # (comment)" idiom, and inline HTML elements marked hidden.
_MD_HIDDEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|^[ \t]{0,3}\[[^\]\n]*\]:[ \t]*(?:#|<>)[^\n]*$"
    r"|<(\w+)\b[^>]*(?:\shidden\b|display\s*:\s*none|visibility\s*:\s*hidden|aria-hidden\s*=\s*[\"']?true)[^>]*>.*?</\1\s*>",
    re.DOTALL | re.MULTILINE | re.IGNORECASE)


@dataclass
class HtmlArticle:
    """What was extracted from a page."""

    text: str
    title: str | None = None
    published: str | None = None
    url: str | None = None
    outlet: str | None = None  # og:site_name / application-name


@dataclass
class _Frame:
    """One open element; `hidden` and `main` already include every ancestor's."""

    tag: str
    hidden: bool
    main: bool


@dataclass
class _Parser(HTMLParser):
    stack: list[_Frame] = field(default_factory=list)
    parts: list[tuple[str, bool]] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    title_parts: list[str] = field(default_factory=list)
    h1_parts: list[str] = field(default_factory=list)
    open_tags: Counter[str] = field(default_factory=Counter)  # open elements per tag name
    deadline: float = float("inf")  # time.monotonic() past which the parse is refused
    calls: int = 0

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    def _tick(self) -> None:
        # A backstop checked from the callbacks: the parse runs in one call to the standard
        # library's parser, whose own worst cases `_defuse_tail` removes.
        self.calls += 1
        if not self.calls & 31 and time.monotonic() > self.deadline:
            raise LoadError(f"HTML took more than {MAX_PARSE_SECONDS:g} s to parse: not an article")

    def _hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1].hidden

    def _main(self) -> bool:
        return bool(self.stack) and self.stack[-1].main

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tick()
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (a.get("property") or a.get("name") or a.get("itemprop") or "").lower()
            if key and a.get("content"):
                self.meta.setdefault(key, a["content"])
        if tag == "time" and a.get("datetime"):
            self.meta.setdefault("time", a["datetime"])
        if tag == "link" and a.get("rel", "").lower() == "canonical" and a.get("href"):
            self.meta.setdefault("canonical", a["href"])
        if tag in _BLOCK:
            self.parts.append(("\n", self._main()))
        if tag in _VOID:
            return
        if len(self.stack) >= MAX_DEPTH:
            raise LoadError(f"HTML nested more than {MAX_DEPTH} elements deep: not an article")
        hidden = (tag in _SKIP or "hidden" in a or a.get("aria-hidden", "").lower() == "true"
                  or bool(_HIDDEN_STYLE.search(a.get("style", ""))))
        main = tag in ("article", "main") or a.get("role") == "main"
        self.stack.append(_Frame(tag, hidden or self._hidden(), main or self._main()))
        self.open_tags[tag] += 1

    def _pop(self, i: int) -> None:
        for f in self.stack[i:]:
            self.open_tags[f.tag] -= 1
        del self.stack[i:]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        self._tick()
        # Only searched when the tag is open, so the search costs no more than the pop.
        for i in range(len(self.stack) - 1, -1, -1) if self.open_tags[tag] > 0 else ():
            if self.stack[i].tag == tag:
                self._pop(i)
                break
        if tag in _BLOCK:
            self.parts.append(("\n", self._main()))

    def handle_data(self, data: str) -> None:
        self._tick()
        if self.open_tags["title"] > 0:
            self.title_parts.append(data)
            return
        if self._hidden():
            return
        if self.open_tags["h1"] > 0:
            self.h1_parts.append(data)
        self.parts.append((data, self._main()))


def _defuse_tail(markup: str) -> str:
    """`markup` with each "<" after its last ">" written as "&lt;". No tag can start there, and
    the standard library's parser rescans to the end from every such "<" (minutes for a few
    hundred KB of "<a '<a '…"); as "&lt;" they are the same text, read once."""
    cut = markup.rfind(">") + 1
    return markup if "<" not in markup[cut:] else markup[:cut] + markup[cut:].replace("<", "&lt;")


def extract_html(markup: str) -> HtmlArticle:
    """Visible main text of `markup` (the <article>/<main> part when the page has one),
    with title, published date and canonical URL from the page's metadata. Raises
    LoadError for nesting deeper than MAX_DEPTH or a parse longer than MAX_PARSE_SECONDS."""
    parser = _Parser(deadline=time.monotonic() + MAX_PARSE_SECONDS)
    try:
        parser.feed(_defuse_tail(markup))
        parser.close()
    except AssertionError:  # the standard library's parser on some "<![" declarations (Python < 3.13)
        raise LoadError("malformed HTML declaration: not an article") from None
    in_main = [p for p, m in parser.parts if m]
    raw = "".join(in_main if "".join(in_main).strip() else [p for p, _ in parser.parts])
    lines = (" ".join(line.split()) for line in raw.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    m = parser.meta
    title = (m.get("og:title") or " ".join("".join(parser.title_parts).split())
             or " ".join("".join(parser.h1_parts).split()) or None)
    published = m.get("article:published_time") or m.get("datepublished") or m.get("date") or m.get("time")
    return HtmlArticle(text=text, title=title, published=published,
                       url=m.get("og:url") or m.get("canonical"), outlet=m.get("og:site_name") or m.get("application-name"))


def visible_markdown(text: str) -> str:
    """`text` without what a Markdown renderer hides: HTML comments, `[//]: # (...)` comment
    lines and HTML elements marked hidden. Hidden text is where injected instructions hide."""
    return _MD_HIDDEN.sub("", text) if ("<" in text or "]:" in text) else text
