"""Main text of an HTML page: no script, style, hidden or navigation elements (comments are
dropped by the parser); and the visible text of Markdown (no HTML comments or hidden blocks)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_SKIP = {"script", "style", "noscript", "template", "svg", "iframe", "object", "canvas", "nav",
         "footer", "aside", "form", "button", "select", "head", "figcaption", "dialog", "menu"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
         "source", "track", "wbr"}
_BLOCK = {"p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6",
          "li", "ul", "ol", "blockquote", "pre", "table", "tr", "br", "hr", "figure", "dd", "dt"}
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


@dataclass
class _Frame:
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

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    def _hidden(self) -> bool:
        return any(f.hidden for f in self.stack)

    def _main(self) -> bool:
        return any(f.main for f in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
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
        hidden = (tag in _SKIP or "hidden" in a or a.get("aria-hidden", "").lower() == "true"
                  or bool(_HIDDEN_STYLE.search(a.get("style", ""))))
        self.stack.append(_Frame(tag, hidden, tag in ("article", "main") or a.get("role") == "main"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break
        if tag in _BLOCK:
            self.parts.append(("\n", self._main()))

    def handle_data(self, data: str) -> None:
        tags = [f.tag for f in self.stack]
        if "title" in tags:
            self.title_parts.append(data)
            return
        if self._hidden():
            return
        if "h1" in tags:
            self.h1_parts.append(data)
        self.parts.append((data, self._main()))


def extract_html(markup: str) -> HtmlArticle:
    """Visible main text of `markup` (the <article>/<main> part when the page has one),
    with title, published date and canonical URL from the page's metadata."""
    parser = _Parser()
    parser.feed(markup)
    parser.close()
    in_main = [p for p, m in parser.parts if m]
    raw = "".join(in_main if "".join(in_main).strip() else [p for p, _ in parser.parts])
    lines = (" ".join(line.split()) for line in raw.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    m = parser.meta
    title = (m.get("og:title") or " ".join("".join(parser.title_parts).split())
             or " ".join("".join(parser.h1_parts).split()) or None)
    published = m.get("article:published_time") or m.get("datepublished") or m.get("date") or m.get("time")
    return HtmlArticle(text=text, title=title, published=published,
                       url=m.get("og:url") or m.get("canonical"))


def visible_markdown(text: str) -> str:
    """`text` without what a Markdown renderer hides: HTML comments, `[//]: # (...)` comment
    lines and HTML elements marked hidden. Hidden text is where injected instructions hide."""
    return _MD_HIDDEN.sub("", text) if ("<" in text or "]:" in text) else text
