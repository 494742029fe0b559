"""News metadata of an HTML page: publication date, outlet (site name), author, title, URL.

The article TEXT always comes from our own defended extractor (`html_text.extract_html`:
hidden text, scripts and invisible characters removed, linear-time parse, limits), so
citation offsets stay exact. This module only reads metadata, from three sources in order:
the page's JSON-LD `NewsArticle`/`Article` (read by a linear scan, bounded), the meta tags
our parser collected (`article:published_time`, `<time datetime>`...), then trafilatura's
metadata extractor (OpenGraph `og:site_name`, bylines; dates through htmldate with its
extensive search off). Nothing here touches the network, and any failure of the third-party
extractors falls back to what was found without them."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from assistant.core import dates
from assistant.ingest.html_text import HtmlArticle

MAX_META_CHARS = 2_000_000  # pages larger than this get the JSON-LD and meta-tag reading only
MAX_LD_BLOCKS = 20
MAX_LD_CHARS = 200_000
_ARTICLE_TYPES = {"newsarticle", "article", "reportagenewsarticle", "analysisnewsarticle", "blogposting",
                  "opinionnewsarticle", "backgroundnewsarticle", "webpage", "report", "liveblogposting"}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PageMeta:
    """What a page says about itself; every field may be None."""

    title: str | None = None     # trafilatura's reading of the title (a fallback)
    headline: str | None = None  # JSON-LD headline (preferred over the page's <title>)
    published: str | None = None
    outlet: str | None = None
    author: str | None = None
    url: str | None = None


def page_meta(markup: str, page: HtmlArticle) -> PageMeta:
    """Metadata of `markup`, given what our own parser found in it (`page`)."""
    ld = json_ld(markup)
    published = dates.normalize(ld.get("datePublished")) or dates.normalize(page.published)
    outlet = page.outlet or _name(ld.get("publisher"))
    author = _name(ld.get("author"))
    headline = " ".join(ld["headline"].split())[:300] if isinstance(ld.get("headline"), str) else None
    title = None
    url = page.url or (ld.get("url") if isinstance(ld.get("url"), str) else None)
    if len(markup) <= MAX_META_CHARS and (published is None or outlet is None or author is None):
        extra = _trafilatura(markup)
        published = published or dates.normalize(extra.get("date"))
        outlet = outlet or extra.get("sitename")
        author = author or extra.get("author")
        title = extra.get("title")
        url = url or extra.get("url")
        if published is None:
            published = _htmldate(markup)
    outlet = " ".join(outlet.split())[:200] if isinstance(outlet, str) and outlet.strip() else None
    return PageMeta(title=title, headline=headline or None, published=published, outlet=outlet, author=author, url=url)


def json_ld(markup: str) -> dict[str, Any]:
    """The first JSON-LD object of an article type in `markup` (or {}). A linear scan of
    at most MAX_LD_BLOCKS blocks of at most MAX_LD_CHARS each: hostile pages stay cheap."""
    lower = markup.lower()
    pos = 0
    for _ in range(MAX_LD_BLOCKS):
        at = lower.find("application/ld+json", pos)
        if at < 0:
            return {}
        start = lower.find(">", at)
        end = lower.find("</script", start)
        if start < 0 or end < 0:
            return {}
        pos = end
        if end - start > MAX_LD_CHARS:
            continue
        try:
            data = json.loads(markup[start + 1:end])
        except (ValueError, RecursionError):
            continue
        found = _article(data)
        if found:
            return found
    return {}


def _article(data: Any, depth: int = 0) -> dict[str, Any] | None:
    if depth > 4:
        return None
    if isinstance(data, list):
        return next((a for a in (_article(x, depth + 1) for x in data[:50]) if a), None)
    if not isinstance(data, dict):
        return None
    kind = data.get("@type")
    kinds = {str(k).lower() for k in (kind if isinstance(kind, list) else [kind])}
    if kinds & _ARTICLE_TYPES and (data.get("datePublished") or data.get("publisher")):
        return data
    return _article(data.get("@graph"), depth + 1) if "@graph" in data else None


def _name(value: Any) -> str | None:
    """A schema.org Organization/Person name (or the first of a list)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _trafilatura(markup: str) -> dict[str, Any]:
    try:
        from trafilatura.metadata import extract_metadata

        meta = extract_metadata(markup, date_config={"extensive_search": False, "original_date": True})
        return {k: v for k, v in meta.as_dict().items() if isinstance(v, str) and v} if meta else {}
    except Exception as e:  # noqa: BLE001 - a metadata reader must never cost us the article
        log.debug("trafilatura metadata failed: %s", type(e).__name__)
        return {}


def _htmldate(markup: str) -> str | None:
    if not markup.lstrip().startswith("<"):  # htmldate downloads a string that looks like a URL
        return None
    try:
        from htmldate import find_date

        return dates.normalize(find_date(markup, extensive_search=False, original_date=True))
    except Exception as e:  # noqa: BLE001
        log.debug("htmldate failed: %s", type(e).__name__)
        return None
