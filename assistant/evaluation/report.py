"""Evaluation reports: JSON for machines, Markdown for people, and a self-contained HTML
page with plots (inline SVG, no network) and a table of every failed question."""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Sequence

from assistant.evaluation import metrics

RATIO_SECTIONS = ("retrieval", "answers", "citations", "refusals")


def write_reports(report: dict[str, Any], out: str | Path) -> dict[str, Path]:
    """Write report.json, report.md and report.html into `out`; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "md": out / "report.md", "html": out / "report.html"}
    paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    paths["md"].write_text(markdown(report), encoding="utf-8")
    paths["html"].write_text(html_page(report), encoding="utf-8")
    return paths


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def markdown(report: dict[str, Any]) -> str:
    """The human summary: one table per metric section, per-type table, failed questions."""
    m, run = report["metrics"], report.get("run", {})
    s = run.get("settings", {})
    lines = [f"# Evaluation: {run.get('items', '?')} questions",
             "", f"backend `{s.get('generator')}` {s.get('llm_model') or ''}, retrieval `{s.get('retrieval')}`, "
             f"top-k {run.get('k')}, {run.get('duration_s', '?')} s, {m.get('errors', 0)} errors", ""]
    for section in RATIO_SECTIONS:
        lines += [f"## {section}", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in m[section].items()]
        lines.append("")
    lines += ["## latency (ms)", "", "| stage | p50 | p95 |", "|---|---|---|"]
    lines += [f"| {stage} | {_fmt(v['p50'])} | {_fmt(v['p95'])} |" for stage, v in m["latency_ms"].items()]
    lines += ["", "## tokens", "", " ".join(f"{k}: {_fmt(v)}" for k, v in m["tokens"].items()), ""]
    lines += ["## by type", "", "| type | n | refused | failed | F1 | fact coverage |", "|---|---|---|---|---|---|"]
    for t, v in report.get("by_type", {}).items():
        lines.append(f"| {t} | {v['n']} | {_fmt(v['refused'])} | {v['failed']} | {_fmt(v.get('f1'))} | "
                     f"{_fmt(v.get('fact_coverage'))} |")
    failed = [r for r in report["items"] if r.get("failed")]
    lines += ["", f"## failed questions ({len(failed)})", ""]
    for r in failed:
        got = r.get("error") or ("(refused)" if r.get("refused") else r.get("answer", ""))
        lines.append(f"- **{r['id']}** ({r['type']}) {r['question']} → {got[:200]}  (gold: {', '.join(r['gold']) or 'refuse'})")
    return "\n".join(lines) + "\n"


def markdown_compare(rows: Sequence[tuple[str, float | None, float | None, float | None]], a: str, b: str) -> str:
    """Side-by-side metrics of two runs with the delta."""
    lines = [f"| metric | {a} | {b} | Δ |", "|---|---|---|---|"]
    for name, va, vb, d in rows:
        delta = "" if d is None else f"{d:+.4g}"
        lines.append(f"| {name} | {_fmt(va)} | {_fmt(vb)} | {delta} |")
    return "\n".join(lines) + "\n"


def _bars(title: str, values: dict[str, float]) -> str:
    """A horizontal bar chart of values in [0, 1] as inline SVG."""
    items = [(k, v) for k, v in values.items() if isinstance(v, (int, float)) and k != "n" and 0 <= v <= 1]
    h = 22 * len(items) + 30
    rows = []
    for i, (k, v) in enumerate(items):
        y = 25 + 22 * i
        rows.append(f"<text x='0' y='{y + 13}' font-size='12'>{html.escape(k)}</text>"
                    f"<rect x='150' y='{y}' width='{300 * v:.1f}' height='16' fill='#4a7bd0'/>"
                    f"<text x='{155 + 300 * v:.1f}' y='{y + 13}' font-size='12'>{v:.3f}</text>")
    return (f"<figure><svg width='520' height='{h}' role='img' aria-label='{html.escape(title)}'>"
            f"<text x='0' y='14' font-weight='bold'>{html.escape(title)}</text>{''.join(rows)}</svg></figure>")


def _histogram(values: Sequence[float], title: str, bins: int = 12) -> str:
    """A latency distribution (per-question total ms) as an inline SVG histogram."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    width = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    top = max(counts)
    bars = "".join(f"<rect x='{40 + i * 36}' y='{170 - 140 * c / top:.1f}' width='32' height='{140 * c / top:.1f}' "
                   f"fill='#d08a4a'><title>{lo + i * width:.0f}-{lo + (i + 1) * width:.0f} ms: {c}</title></rect>"
                   for i, c in enumerate(counts))
    p50, p95 = metrics.percentile(values, 50), metrics.percentile(values, 95)
    return (f"<figure><svg width='520' height='200' role='img' aria-label='{html.escape(title)}'>"
            f"<text x='0' y='14' font-weight='bold'>{html.escape(title)}</text>{bars}"
            f"<text x='40' y='190' font-size='11'>{lo:.0f} ms</text><text x='400' y='190' font-size='11'>{hi:.0f} ms"
            f"</text></svg><figcaption>p50 {p50:.1f} ms, p95 {p95:.1f} ms</figcaption></figure>")


def html_page(report: dict[str, Any]) -> str:
    """A self-contained page: per-metric bars, latency distribution, failed questions."""
    esc = html.escape
    m = report["metrics"]
    charts = "".join(_bars(section, m[section]) for section in RATIO_SECTIONS)
    totals = [r["timings_ms"]["total"] for r in report["items"] if "timings_ms" in r and "total" in r["timings_ms"]]
    charts += _histogram(totals, "latency per question (total ms)")
    rows = []
    for r in report["items"]:
        if not r.get("failed"):
            continue
        retrieved = "<br>".join(f"{p['rank']}. {esc(p['title'][:60])}: {esc(p['text'][:120])}…"
                                for p in r.get("retrieved", [])[:3])
        cited = "<br>".join(f"[{c['n']}] {esc(c['quote'][:160])}" for c in r.get("citations", []))
        got = r.get("error") or ("(refused)" if r.get("refused") else r.get("answer", ""))
        rows.append(f"<tr><td>{esc(r['id'])}</td><td>{esc(r['type'])}</td><td>{esc(r['question'])}</td>"
                    f"<td>{esc(', '.join(r['gold']) or 'refuse')}</td><td>{esc(got)}</td><td>{retrieved}</td>"
                    f"<td>{cited}</td></tr>")
    run = report.get("run", {})
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Evaluation report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}} table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:4px;vertical-align:top}} figure{{display:inline-block;margin:1em}}</style></head>
<body><h1>Evaluation: {esc(str(run.get('items', '?')))} questions</h1>
<p>{esc(json.dumps({k: run.get('settings', {}).get(k) for k in ('generator', 'llm_model', 'retrieval', 'top_k')}))}
· {esc(str(run.get('duration_s', '?')))} s</p>
{charts}
<h2>Failed questions ({len(rows)})</h2>
<table><tr><th>id</th><th>type</th><th>question</th><th>gold</th><th>answer</th><th>retrieved (top 3)</th><th>cited</th></tr>
{''.join(rows)}</table></body></html>
"""
