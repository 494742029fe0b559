"""HTML and text the chat window shows, built from answer objects (`openai_format.answer_object`:
plain JSON, sources without server paths). Every article text, title, question and error
is HTML-escaped here; nothing from an article becomes a link except the article's own
http(s) URL, shown as its text."""
from __future__ import annotations

import html
import re
from typing import Any, Sequence

Turn = dict[str, Any]  # {"question": str, "answer": answer object}


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _anchor(turn: int, n: int) -> str:
    return f"source-{turn}-{n}"


def plain_text(answer: dict[str, Any]) -> str:
    """The answer as plain text, what *Copy* puts on the clipboard: the sentences with their
    [n] markers, then each [n] with its quote, title and date. No markup."""
    if answer.get("refused"):
        return answer.get("answer", "")
    lines = [" ".join((s["text"] + "".join(f" [{n}]" for n in s["citations"])).strip()
                      for s in answer.get("sentences", [])) or answer.get("answer", "")]
    if answer.get("citations"):
        lines.append("")
    for c in answer.get("citations", []):
        when = ", ".join(x for x in (c.get("outlet"), c.get("published")) if x)
        lines.append(f"[{c['n']}] “{c['quote']}” ({c['title']}{', ' + when if when else ''})")
    return "\n".join(lines)


def render_answer(answer: dict[str, Any], turn: int) -> str:
    """The chat bubble of answer number `turn` (0-based) of the conversation: escaped
    sentences whose [n] link to this answer's own source cards (`#source-<turn>-<n>`, the
    quote in the hover title), unsupported sentences marked, refusals styled apart, a details
    fold, and the plain text *Copy* uses (hidden)."""
    if answer.get("refused"):
        body = f"<span class='refusal'><span class='glyph'>i</span> {_e(answer['answer'])}</span>"
    else:
        quotes = {c["n"]: c["quote"] for c in answer.get("citations", [])}
        parts = []
        for s in answer.get("sentences", []):
            marks = "".join(f"<a class='cite' href='#{_anchor(turn, n)}' "
                            f"title='{_e(quotes.get(n, ''))}'>[{n}]</a>" for n in s["citations"])
            if s["supported"]:
                parts.append(f"{_e(s['text'])} {marks}")
            else:
                parts.append(f"<span class='unsupported' title='not supported by the articles'>⚠ {_e(s['text'])}</span>")
        body = " ".join(parts) or _e(answer.get("answer", ""))
        if answer.get("warning"):
            body += f"<br><span class='answer-warning'>⚠ {_e(answer['warning'])}</span>"
    return body + details(answer) + f"<span class='plain-text'>{_e(plain_text(answer))}</span>"


def details(answer: dict[str, Any]) -> str:
    """The per-answer fold: backend and model, tokens, cost, time per stage, and the
    retrieval scores of each cited passage."""
    u = answer.get("usage") or {}
    cost = f" · cost ${u['cost_usd']:.6f}" if u.get("cost_usd") is not None else ""
    stages = " · ".join(f"{k} {v:.0f} ms" for k, v in (answer.get("timings_ms") or {}).items())
    model = f" ({_e(answer['model'])})" if answer.get("model") else ""
    extra = f"<br>searched for: {_e(answer['standalone_question'])}" if answer.get("standalone_question") else ""
    by_chunk = {p["chunk_id"]: p for p in answer.get("passages", [])}
    scores = []
    for c in answer.get("citations", []):
        p = by_chunk.get(c["chunk_id"])
        if p is not None:
            s = f"[{c['n']}] rank {p['rank']} · fused {p['score']:.4f}"
            s += f" · dense {p['dense_score']:.3f}" if p.get("dense_score") is not None else ""
            s += f" · bm25 {p['bm25_score']:.2f}" if p.get("bm25_score") is not None else ""
            scores.append(s)
    score_text = "<br>" + "<br>".join(_e(s) for s in scores) if scores else ""
    return (f"<details class='answer-details'><summary>details</summary><small>backend {_e(answer.get('backend'))}"
            f"{model} · tokens {u.get('prompt_tokens', 0)} in / {u.get('completion_tokens', 0)} out{cost} · "
            f"groundedness {answer.get('groundedness', 0):.2f}<br>{_e(stages)}{extra}{score_text}</small></details>")


def _link(url: str | None) -> str:
    """The article's own URL as a link whose text is the URL itself; anything but http(s) as text."""
    if not url:
        return ""
    if url.startswith(("http://", "https://")):
        return f"<a class='article-url' href='{_e(url)}' target='_blank' rel='noopener noreferrer nofollow'>{_e(url)}</a>"
    return _e(url)


def source_cards(answer: dict[str, Any], turn: int, urls: dict[str, str] | None = None) -> str:
    """The source cards of one answer: for each [n], title, outlet, date, the article's URL,
    and the quote highlighted inside its passage. No scores, no server path."""
    if not answer.get("citations"):
        return "<p>No sources: the articles do not answer this question.</p>"
    by_chunk = {p["chunk_id"]: p for p in answer.get("passages", [])}
    cards = []
    for c in answer["citations"]:
        p = by_chunk.get(c["chunk_id"])
        published = c.get("published") or (p or {}).get("published")
        outlet = c.get("outlet") or (p or {}).get("outlet")
        meta = [_e(x) for x in (outlet, published) if x]
        url = (urls or {}).get(c["doc_id"])
        if url:
            meta.append(_link(url))
        if p is not None:
            a, b = c["start"] - p["start"], c["end"] - p["start"]
            body = _e(p["text"][:a]) + f"<mark class='cite-quote'>{_e(p['text'][a:b])}</mark>" + _e(p["text"][b:])
        else:
            body = f"<mark class='cite-quote'>{_e(c['quote'])}</mark>"
        hint = f"<br><small class='date-hint'>{_e(c['date_hint'])}</small>" if c.get("date_hint") else ""
        cards.append(f"<div class='source-card' id='{_anchor(turn, c['n'])}'><b>[{c['n']}] {_e(c['title'])}</b>"
                     f"<br><small>{' · '.join(meta) or 'no date or outlet known'}</small><p>{body}</p>{hint}</div>")
    return "".join(cards)


def render_sources(turns: Sequence[Turn], urls: dict[str, str] | None = None, shown: int | None = None) -> str:
    """The sources panel: one group of cards per answer (`#answer-sources-<turn>`); only the
    group of answer `shown` (default: the newest) is visible, and clicking a [n] in any
    answer shows that answer's group (see `JS`)."""
    if not turns:
        return "<p>Sources of each answer appear here.</p>"
    shown = len(turns) - 1 if shown is None else shown
    groups = []
    for t, turn in enumerate(turns):
        hidden = "" if t == shown else " hidden-group"
        groups.append(f"<div class='source-group{hidden}' id='answer-sources-{t}'><p class='group-title'>"
                      f"Sources of answer {t + 1}: {_e(turn['question'][:120])}</p>"
                      f"{source_cards(turn['answer'], t, urls)}</div>")
    return "".join(groups)


def export_markdown(turns: Sequence[Turn]) -> str:
    """The conversation as Markdown, each answer followed by its citations. Questions,
    answers, titles and quotes are escaped (`markdown_text`): no link or image from
    an article or an answer is ever rendered, and URLs show as code, never followed."""
    m = markdown_text
    lines = ["# Conversation", ""]
    for t in turns:
        a = t["answer"]
        lines += [f"## {m(t['question'])}", "", m(a["answer"]), ""]
        for c in a["citations"]:
            lines.append(f"[{c['n']}] {m(c['title'])} ({m(c['doc_id'])}, chars {c['start']}-{c['end']}): “{m(c['quote'])}”")
        lines.append("")
    return "\n".join(lines)


def chat_messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The Chatbot's messages for a stored conversation."""
    out: list[dict[str, str]] = []
    for t, turn in enumerate(turns):
        out += [{"role": "user", "content": _e(turn["question"])},
                {"role": "assistant", "content": render_answer(turn["answer"], t)}]
    return out


def welcome(count: int, newest: Sequence[Any], examples: Sequence[str]) -> str:
    """The first screen: how many articles are indexed, the newest few, how to ask."""
    if not count:
        return ("<div class='welcome'><b>No articles indexed yet.</b> Upload some in the <i>Documents</i> tab "
                "(or run <code>assistant ingest FOLDER</code>), then ask about them here.</div>")
    items = "".join(f"<li>{_e(d.title)}" + (f" <small>({_e(', '.join(x for x in (d.outlet, d.published) if x))})</small>"
                                          if d.outlet or d.published else "") + "</li>" for d in newest)
    tips = "Click an example below or type your own question." if examples else "Type a question below."
    return (f"<div class='welcome'><b>{count} article{'s' if count != 1 else ''} indexed.</b> Newest:"
            f"<ul>{items}</ul>Every sentence of an answer cites the exact passage it comes from; "
            f"when the articles do not say, the assistant says so. {tips}</div>")


def render_timeline(entries: Sequence[Any], topic: str) -> str:
    """The *Timeline* tab: one escaped line per dated sentence, oldest first."""
    if not entries:
        return f"<p>Nothing in the articles mentions “{_e(topic)}”{' within the filters' if topic else ''}.</p>"
    rows = []
    for e in entries:
        when = _e(e.date or "undated") + ("*" if e.dated_by == "sentence" else "")
        who = ", ".join(_e(x) for x in (e.outlet, e.title) if x)
        also = f" <small>(also in {len(e.also_in)} more)</small>" if e.also_in else ""
        hint = f"<br><small class='date-hint'>{_e(e.date_hint)}</small>" if e.date_hint else ""
        rows.append(f"<li class='timeline-line'><b>{when}</b> {who}{also}<br>“{_e(e.quote)}”{hint}</li>")
    note = ("<p><small>* placed on the date the sentence itself names, resolved against its article's date."
            "</small></p>" if any(e.dated_by == "sentence" for e in entries) else "")
    return f"<ol class='timeline'>{''.join(rows)}</ol>{note}"


# URLs in any form a Markdown renderer or browser would follow: with a scheme, protocol-
# relative ("//host/..."), or "www.".
_URL = re.compile(r"(?:\b[a-z][a-z0-9+.-]*:)?//[^\s`]+|\bwww\.[^\s`]+|\b(?:mailto|data|javascript):[^\s`]+",
                  re.IGNORECASE)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>!|~&])")
_MD_LEADING = re.compile(r"^(?:([#+=>-])|(\d+)([.)]))")  # a heading, list, rule or quote at a line's start


def markdown_text(text: Any) -> str:
    """`text` as Markdown that renders as exactly that text: every character Markdown or HTML
    would act on is escaped (no link, image, reference definition or tag can form), and each
    URL becomes a code span, shown but never followed."""
    out, at = [], 0
    value = " ".join(str(text).split())  # one line: no block syntax (headings, definitions)
    for m in _URL.finditer(value):
        out.append(_MD_SPECIAL.sub(r"\\\1", value[at:m.start()]))
        out.append(_code_span(m.group(0)))
        at = m.end()
    out.append(_MD_SPECIAL.sub(r"\\\1", value[at:]))
    return _MD_LEADING.sub(lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), "".join(out))


def _code_span(text: str) -> str:
    ticks = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks} {text} {ticks}"
