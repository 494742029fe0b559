"""What the command groups share: the Assistant for the common flags, filters, progress
bars and the human formats of reports and answers."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from tqdm import tqdm

from assistant.core.data import Answer, IngestReport
from assistant.facade import Assistant

FILTER_KEYS = ("since", "until", "outlet", "as_of")
BACKEND_KEYS = ("chroma_url", "collection", "embedder", "generator", "llm_model", "llm_base_url", "answer_policy")


def make_assistant(args: argparse.Namespace) -> Assistant:
    """The Assistant for the common flags."""
    keys = BACKEND_KEYS
    overrides = {k: getattr(args, k, None) for k in keys}
    if getattr(args, "top_k", None):
        overrides["top_k"] = args.top_k
    return Assistant(index=getattr(args, "index", None), **overrides)


def format_report(report: IngestReport) -> str:
    """Human summary of an ingest."""
    lines = [f"added {len(report.added)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}, "
             f"skipped {len(report.skipped)}" + (f", removed {len(report.removed)}" if report.removed else "")
             + f" ({report.chunks_added} chunks indexed)"]
    lines += [f"  skipped {s.source}: {s.reason}" for s in report.skipped]
    return "\n".join(lines)


def format_answer(answer: Answer) -> str:
    """Answer text followed by its numbered sources (quote, title, character span)."""
    lines = [answer.answer]
    if answer.warning:
        lines.append(f"warning: {answer.warning}")
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"[{c.n}] {c.title}{dateline(c.published, c.outlet)} ({c.doc_id}, chars {c.start}-{c.end})"
                         f"\n    “{c.quote}”")
    return "\n".join(lines)


def dateline(published: str | None, outlet: str | None) -> str:
    """" (published 2025-03-04, Outlet)" beside a source; "" when neither is known."""
    parts = [f"published {published[:10]}" if published else "undated", *([outlet] if outlet else [])]
    return f" ({', '.join(parts)})" if published or outlet else ""


def filters_of(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k, None) for k in FILTER_KEYS}


def progress_bar(desc: str) -> Any:
    bar = tqdm(total=0, unit="q", desc=desc, file=sys.stderr, disable=None)

    def progress(done: int, total: int, label: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(str(label)[:30])
        bar.refresh()

    return bar, progress

