"""`assistant eval`: run a gold set through the public `Assistant` API and score
retrieval, answers, citations, refusals, latency and tokens.

Gold format (JSONL, one question per line; see README.md "Evaluation"):
    {"id": "s01", "type": "single-article", "question": "...", "answers": ["..."],
     "facts": ["..."], "evidence": [{"doc": "file.txt", "quote": "exact text"}],
     "turns": ["earlier question", ...]}            # turns: follow-up conversations only
Optional keys: "split" (e.g. dev/test, kept on the item), "filters" ({"since", "until",
"outlet", "as_of"}: this question is asked with them, over the config's [filters]) and
anything else (ignored).

Retrieval metrics score `answer.passages`, the passages the answer was built from (its
top k after fitting), not a second retrieval: what the user was shown is what is scored.
"""
from __future__ import annotations

import json
import time
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from assistant.core import errors
from assistant.core.data import Answer, to_dict
from assistant.evaluation import metrics
from assistant.models.generate import OpenAIGenerator
from assistant.models.prompts import load_prompt
from assistant.retrieve.filters import Filters

TYPES = ("single-article", "multi-article", "multi-sentence", "unanswerable", "paraphrase", "follow-up")
STAGES = ("condense", "retrieve", "generate", "cite", "total")


@dataclass(frozen=True)
class GoldItem:
    """One gold question."""

    id: str
    type: str
    question: str
    answers: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    evidence: tuple[tuple[str, str], ...] = ()  # (document file name or id, exact quote)
    turns: tuple[str, ...] = ()
    split: str = ""
    filters: tuple[tuple[str, str], ...] = ()  # (name, value) of since/until/outlet/as_of

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


def load_gold(path: str | Path) -> list[GoldItem]:
    """Parse and validate a gold JSONL file; errors name the line and what to fix."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise errors.ConfigError(f"cannot read gold file {path}: {e}") from None
    items: list[GoldItem] = []
    seen: set[str] = set()
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{no}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            raise errors.ConfigError(f"{where}: not valid JSON ({e.msg})") from None
        if not isinstance(raw, dict) or not str(raw.get("question", "")).strip():
            raise errors.ConfigError(f"{where}: each line needs a non-empty \"question\"")
        kind = raw.get("type", "single-article")
        if kind not in TYPES:
            raise errors.ConfigError(f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
        item_id = str(raw.get("id") or f"line{no}")
        if item_id in seen:
            raise errors.ConfigError(f"{where}: duplicate id {item_id!r}")
        seen.add(item_id)
        evidence = tuple((str(e.get("doc", "")), str(e["quote"])) for e in raw.get("evidence", []) if e.get("quote"))
        answers = tuple(str(a) for a in raw.get("answers", []))
        if kind != "unanswerable" and not (answers or raw.get("facts")):
            raise errors.ConfigError(f"{where}: an answerable question needs \"answers\" or \"facts\"")
        if kind == "follow-up" and not raw.get("turns"):
            raise errors.ConfigError(f"{where}: a follow-up needs \"turns\" (the earlier questions)")
        items.append(GoldItem(item_id, kind, str(raw["question"]), answers, tuple(str(f) for f in raw.get("facts", [])),
                              evidence, tuple(str(t) for t in raw.get("turns", [])), str(raw.get("split", "")),
                              _filters(raw.get("filters"), where)))
    if not items:
        raise errors.ConfigError(f"{path} holds no questions")
    return items


FILTERS = ("since", "until", "outlet", "as_of")


def _filters(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    """Validated filters of a gold item or a config's [filters] table."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or set(raw) - set(FILTERS):
        raise errors.ConfigError(f"{where}: \"filters\" must be an object with keys among {', '.join(FILTERS)}")
    try:
        Filters.parse(**{k: raw[k] for k in raw})
    except errors.InvalidFilter as e:
        raise errors.ConfigError(f"{where}: {e}") from None
    return tuple((k, str(v)) for k, v in raw.items() if v is not None)


@dataclass(frozen=True)
class EvalConfig:
    """What a run uses: assistant settings, pass/fail thresholds and an optional LLM judge."""

    settings: dict[str, Any] = field(default_factory=dict)
    minimum: dict[str, float] = field(default_factory=dict)
    maximum: dict[str, float] = field(default_factory=dict)
    judge: dict[str, Any] = field(default_factory=dict)
    ingest: tuple[str, ...] = ()
    filters: tuple[tuple[str, str], ...] = ()  # [filters]: since/until/outlet/as_of for every question

    @classmethod
    def load(cls, path: str | Path | None) -> "EvalConfig":
        """Read a TOML config ([run] ingest, [settings], [filters], [thresholds.min], [thresholds.max], [judge]).
        Relative ingest paths are relative to the working directory."""
        if path is None:
            return cls()
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise errors.ConfigError(f"cannot read eval config {path}: {e}") from None
        thresholds = raw.get("thresholds", {})
        return cls(dict(raw.get("settings", {})), {k: float(v) for k, v in thresholds.get("min", {}).items()},
                   {k: float(v) for k, v in thresholds.get("max", {}).items()}, dict(raw.get("judge", {})),
                   tuple(str(p) for p in raw.get("run", {}).get("ingest", [])),
                   _filters(raw.get("filters"), f"eval config {path} [filters]"))


Judge = Callable[[str, Sequence[str], str], bool]  # (question, gold answers, prediction) -> correct?


def llm_judge(config: dict[str, Any]) -> Judge:
    """Answer correctness by an LLM through the `openai` client (prompts/correctness.md)."""
    import os

    key = os.environ.get(config.get("api_key_env", "OPENAI_API_KEY"))
    gen = OpenAIGenerator(model=config["model"], base_url=config.get("base_url"), api_key=key,
                          timeout=float(config.get("timeout", 30)))

    def judge(question: str, golds: Sequence[str], prediction: str) -> bool:
        prompt = load_prompt("correctness").format(question=question, gold=" | ".join(golds), answer=prediction)
        text, _ = gen.complete([{"role": "user", "content": prompt}], max_tokens=5)
        return text.strip().upper().startswith("CORRECT")

    return judge


def evaluate(bot: Any, items: Sequence[GoldItem], judge: Judge | None = None,
             progress: Callable[[int, int, str], None] | None = None, threshold: float | None = None,
             filters: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """Run every gold item through `bot` (an `Assistant`) and return the full report.
    `filters` (an EvalConfig's) apply to every question; an item's own filters win."""
    started = time.time()
    k = bot.settings.top_k
    threshold = threshold or bot.settings.min_support
    docs: dict[str, str] = {}

    def doc_text(doc_id: str) -> str:
        if doc_id not in docs:
            docs[doc_id] = bot.document(doc_id).text
        return docs[doc_id]

    records = []
    for i, item in enumerate(items):
        if progress:
            progress(i, len(items), item.id)
        records.append(_run_item(bot, item, k, threshold, doc_text, judge, {**dict(filters), **dict(item.filters)}))
    if progress:
        progress(len(items), len(items), "done")
    report = summarize(records, k)
    safe = {key: v for key, v in to_dict(bot.settings).items() if "key" not in key}
    report["run"] = {"items": len(items), "settings": safe, "k": k, "judge": judge is not None, "filters": dict(filters),
                     "started": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
                     "duration_s": round(time.time() - started, 2)}
    return report


def _run_item(bot: Any, item: GoldItem, k: int, threshold: float, doc_text: Callable[[str], str],
              judge: Judge | None, filters: dict[str, str] | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": item.id, "type": item.type, "question": item.question, "answerable": item.answerable,
                           "gold": list(item.answers), "facts": list(item.facts)}
    history: list[tuple[str, str]] = []
    try:
        for turn in item.turns:
            history.append((turn, bot.ask(turn, history=history, **(filters or {})).answer))
        answer: Answer = bot.ask(item.question, history=history, **(filters or {}))
    except errors.AssistantError as e:
        rec.update(error=f"{type(e).__name__}: {e}", refused=False, failed=True)
        return rec
    quotes = [q for _, q in item.evidence]
    ranked = sorted(answer.passages, key=lambda p: p.rank)  # what the answer was built from
    rec.update(answer=answer.answer, refused=answer.refused, incomplete=answer.incomplete,
               timings_ms=answer.timings_ms, usage=to_dict(answer.usage),
               retrieved=[{"rank": p.rank, "doc_id": p.doc_id, "title": p.title, "text": p.text[:300]} for p in ranked[:k]],
               citations=[{"n": c.n, "doc_id": c.doc_id, "quote": c.quote, "start": c.start, "end": c.end}
                          for c in answer.citations])
    if item.answerable and quotes:
        rec["retrieval"] = metrics.retrieval_scores(metrics.relevance([p.text for p in ranked], quotes), len(quotes), k)
    if item.answerable:
        pred = "" if answer.refused else answer.answer
        golds = list(item.answers) or list(item.facts)
        rec.update(em=metrics.exact_match(pred, golds), f1=metrics.token_f1(pred, golds),
                   contains=metrics.contains_answer(pred, golds), coverage=metrics.fact_coverage(pred, item.facts)
                   if pred else 0.0)
        if judge is not None and pred:
            rec["judge_correct"] = bool(judge(item.question, golds, pred))
    if not answer.refused:
        quote_of = {c.n: c.quote for c in answer.citations}
        pairs = [(s.text, [quote_of[n] for n in s.citations if n in quote_of]) for s in answer.sentences]
        recall, precision, n_s, n_c = metrics.citation_scores(pairs, metrics.checker_support(threshold, item.question))
        rec["citation"] = {"recall": recall, "precision": precision, "sentences": n_s, "citations": n_c,
                           "exact_spans": sum(doc_text(c.doc_id)[c.start:c.end] == c.quote for c in answer.citations),
                           "spans": len(answer.citations),
                           "evidence_cited": _evidence_cited(answer, quotes) if quotes else None}
    rec["failed"] = _failed(item, rec)
    return rec


def _evidence_cited(answer: Answer, quotes: Sequence[str]) -> bool:
    """True when a citation's quote overlaps a gold evidence quote (shares a run of text)."""
    for c in answer.citations:
        cq = metrics.squeeze(c.quote)
        for q in quotes:
            gq = metrics.squeeze(q)
            if gq in cq or cq in gq or (len(gq) > 30 and gq[:30] in cq):
                return True
    return False


def _failed(item: GoldItem, rec: dict[str, Any]) -> bool:
    if "error" in rec:
        return True
    if not item.answerable:
        return not rec["refused"]
    return rec["refused"] or rec.get("coverage", 0) < 1.0


def summarize(records: Sequence[dict[str, Any]], k: int) -> dict[str, Any]:
    """Aggregate per-question records into the metric sections of the report."""
    ok = [r for r in records if "error" not in r]
    answerable = [r for r in ok if r["answerable"]]
    with_ret = [r["retrieval"] for r in ok if "retrieval" in r]
    cites = [r["citation"] for r in ok if "citation" in r]
    n_cit = sum(c["citations"] for c in cites)
    evid = [c["evidence_cited"] for c in cites if c["evidence_cited"] is not None]
    judged = [r["judge_correct"] for r in answerable if "judge_correct" in r]
    n_spans = sum(c.get("spans", c["citations"]) for c in cites)  # distinct citations (one span each)
    m: dict[str, Any] = {
        "retrieval": {key: round(metrics.mean([x[key] for x in with_ret]), 4)
                      for key in ("hit@1", "hit@k", "recall@k", "mrr", "ndcg@10")} | {"n": len(with_ret), "k": k},
        "answers": {"exact_match": _avg(answerable, "em"), "f1": _avg(answerable, "f1"),
                    "contains": _avg(answerable, "contains"), "fact_coverage": _avg(answerable, "coverage"),
                    "n": len(answerable)},
        "citations": {
            "recall": round(metrics.mean([c["recall"] for c in cites]), 4),
            "precision": round(metrics.mean([c["precision"] for c in cites if c["citations"]]), 4),
            "span_exactness": round(sum(c["exact_spans"] for c in cites) / n_spans, 4) if n_spans else 1.0,
            "evidence_cited": round(metrics.mean([float(e) for e in evid]), 4),
            "answers": len(cites), "citations": n_cit},
        "refusals": {key: round(v, 4) for key, v in metrics.refusal_scores(
            [r["refused"] for r in ok], [not r["answerable"] for r in ok]).items()} | {
            "unanswerable": sum(not r["answerable"] for r in ok)},
        "latency_ms": {stage: {"p50": round(metrics.percentile(v, 50), 2), "p95": round(metrics.percentile(v, 95), 2)}
                       for stage in STAGES if (v := [r["timings_ms"][stage] for r in ok if stage in r["timings_ms"]])},
        "tokens": {key: sum(r["usage"][key] for r in ok) for key in ("prompt_tokens", "completion_tokens", "total_tokens")}
        | {"cost_usd": round(sum(r["usage"]["cost_usd"] or 0 for r in ok), 6)
           if any(r["usage"]["cost_usd"] is not None for r in ok) else None},
        "errors": len(records) - len(ok),
    }
    if judged:
        m["answers"]["judge_accuracy"] = round(metrics.mean([float(j) for j in judged]), 4)
    by_type = {}
    for t in TYPES:
        rows = [r for r in ok if r["type"] == t]
        if rows:
            # right: an answerable question answered with every required fact, an unanswerable one refused
            by_type[t] = {"n": len(rows), "right": round(metrics.mean([float(not r["failed"]) for r in rows]), 4),
                          "refused": round(metrics.mean([float(r["refused"]) for r in rows]), 4),
                          "failed": sum(r["failed"] for r in rows)}
            if rows[0]["answerable"]:
                by_type[t] |= {"f1": _avg(rows, "f1"), "fact_coverage": _avg(rows, "coverage")}
    return {"metrics": m, "by_type": by_type, "items": list(records),
            "failed": [r["id"] for r in records if r["failed"]]}


def _avg(rows: Sequence[dict[str, Any]], key: str) -> float:
    return round(metrics.mean([float(r.get(key, 0.0)) for r in rows]), 4)


def flatten(report: dict[str, Any]) -> dict[str, float]:
    """Every numeric metric as "section.name" (latency as "latency_ms.total.p50")."""
    out: dict[str, float] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else key, value)
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            out[prefix] = float(node)

    walk("", report["metrics"])
    return out


def check_thresholds(report: dict[str, Any], config: EvalConfig) -> list[str]:
    """The threshold violations, e.g. "answers.f1 = 0.21 < 0.30 (min)"; unknown names too."""
    flat = flatten(report)
    problems = []
    for name, bound in config.minimum.items():
        if name not in flat:
            problems.append(f"{name}: no such metric (see the JSON report for names)")
        elif flat[name] < bound:
            problems.append(f"{name} = {flat[name]:.4g} < {bound:.4g} (min)")
    for name, bound in config.maximum.items():
        if name not in flat:
            problems.append(f"{name}: no such metric (see the JSON report for names)")
        elif flat[name] > bound:
            problems.append(f"{name} = {flat[name]:.4g} > {bound:.4g} (max)")
    return problems


def load_run(path: str | Path) -> dict[str, Any]:
    """A saved run: a directory holding report.json, or the JSON file itself."""
    p = Path(path)
    p = p / "report.json" if p.is_dir() else p
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise errors.ConfigError(f"cannot read eval run {path}: {e}; pass a directory written by `assistant eval --out`") from None


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, float | None, float | None, float | None]]:
    """(metric, value in A, value in B, B - A) for every metric in either run."""
    fa, fb = flatten(a), flatten(b)
    rows = []
    for name in sorted(set(fa) | set(fb)):
        va, vb = fa.get(name), fb.get(name)
        rows.append((name, va, vb, None if va is None or vb is None else round(vb - va, 4)))
    return rows
