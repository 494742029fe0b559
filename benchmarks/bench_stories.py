"""Near-duplicate story grouping (assistant/stories.py) on real news: CNN/DailyMail
articles from HaluEval summarization (dev: lines 1-2,500; test: lines 2,501-5,000; lines
past 5,000 are never read). Each article gets 0-3 copies made the way outlets and updates
change a wire story: trimmed (last 20-50% of sentences dropped), re-headlined, re-paragraphed,
lightly edited (words and figures changed, an UPDATED paragraph, two paragraphs swapped),
and an outlet byline/footer. Different articles are negatives; the pairs of different
articles with the highest content-word overlap (same people and places) are reported as
hard negatives. Shingle size and thresholds are chosen on dev; test is scored once.
Prints numbers and ratios; asserts nothing.

    .venv/bin/python benchmarks/bench_stories.py [--dev 2500] [--test 2500] [--hard 300]
"""
from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datasketch import MinHash, MinHashLSH  # noqa: E402

from assistant.core.text import sentence_spans, terms  # noqa: E402
from assistant.evaluation.halueval import SUMMARY_FILE, data_path, read_lines  # noqa: E402
from assistant.index.story_grouping import MinHashGroups, StoryParams, shingles  # noqa: E402

OUTLETS = [
    ("By Associated Press", "Copyright 2015 The Associated Press. All rights reserved. This material may not be "
                            "published, broadcast, rewritten or redistributed."),
    ("From Reuters", "Reporting by staff; editing by the desk. Our Standards: The Thomson Reuters Trust Principles."),
    ("MailOnline reporter", "Share or comment on this article. Follow us on Twitter and Facebook for more news."),
    ("", "Read more: sign up for our daily newsletter to get the top stories delivered to your inbox every morning."),
    ("", ""),
]
UPDATES = ["UPDATED: This story has been updated with comment from officials.",
           "UPDATE 2 - Adds details from a police statement, paragraphs 4-6.",
           "Updated at 3:45 p.m. ET: Officials said later on Thursday that the investigation is continuing."]
FILLER = ["officials", "reported", "Tuesday", "nearly", "local", "several", "police", "former", "major", "early"]


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def paragraphs(sents: list[str], rng: random.Random, lo: int = 3, hi: int = 3) -> str:
    out, i = [], 0
    while i < len(sents):
        n = rng.randint(lo, hi)
        out.append(" ".join(sents[i:i + n]))
        i += n
    return "\n\n".join(out)


def dress(body: str, rng: random.Random) -> str:
    """Add an outlet byline and footer (shared by many unrelated articles: a false-positive trap)."""
    byline, footer = rng.choice(OUTLETS)
    return "\n\n".join(p for p in (byline, body, footer) if p)


def variant(sents: list[str], rng: random.Random) -> tuple[str, str]:
    """One copy of an article; returns (kind, text)."""
    kinds = rng.sample(["trim", "rehead", "repara", "edit"], rng.randint(1, 3))
    s = list(sents)
    if "trim" in kinds:
        s = s[:max(1, round(len(s) * rng.uniform(0.5, 0.8)))]
    if "edit" in kinds:
        for _ in range(rng.randint(2, 5)):
            i = rng.randrange(len(s))
            ws = s[i].split()
            j = rng.randrange(len(ws))
            ws[j] = str(rng.randint(2, 99)) if any(c.isdigit() for c in ws[j]) else rng.choice(FILLER)
            s[i] = " ".join(ws)
        if rng.random() < 0.6:
            s.insert(0 if rng.random() < 0.5 else len(s), rng.choice(UPDATES))
    body = paragraphs(s, rng, 1, 4) if "repara" in kinds else paragraphs(s, rng)
    if "edit" in kinds and body.count("\n\n") >= 2:
        paras = body.split("\n\n")
        i = rng.randrange(len(paras) - 1)
        paras[i], paras[i + 1] = paras[i + 1], paras[i]
        body = "\n\n".join(paras)
    if "rehead" in kinds:
        ws = [w for w in " ".join(s).split() if w.isalpha()]
        start = rng.randrange(max(1, len(ws) - 8))
        body = " ".join(ws[start:start + rng.randint(6, 10)]).capitalize() + " | " + rng.choice(
            ["World News", "Breaking", "Live", "US"]) + "\n\n" + body
    return "+".join(sorted(kinds)), dress(body, rng)


def build(first: int, last: int, seed: int) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """{doc id: text}, {doc id: true story (base id)}, {variant id: kind}."""
    rng = random.Random(seed)
    docs, truth, kinds = {}, {}, {}
    for n, row in enumerate(read_lines(first, last, data_path(SUMMARY_FILE)), start=first):
        sents = sentences(row["document"])
        if len(sents) < 4:
            continue
        base = f"a{n}"
        docs[base], truth[base] = dress(paragraphs(sents, rng), rng), base
        for v in range(rng.choice([0, 1, 1, 2, 3])):
            kind, text = variant(sents, rng)
            vid = f"{base}v{v}"
            docs[vid], truth[vid], kinds[vid] = text, base, kind
    return docs, truth, kinds


def hard_negatives(docs: dict[str, str], truth: dict[str, str], limit: int) -> list[tuple[str, str, float]]:
    """Pairs of different base articles with the highest content-word Jaccard."""
    bases = [d for d in docs if truth[d] == d]
    sets = {d: set(terms(docs[d])) for d in bases}
    lsh, sigs = MinHashLSH(threshold=0.15, num_perm=64), {}
    for d in bases:
        mh = MinHash(num_perm=64, seed=7)
        mh.update_batch([t.encode() for t in sets[d]])
        sigs[d] = mh
        lsh.insert(d, mh)
    pairs = {tuple(sorted((d, c))) for d in bases for c in lsh.query(sigs[d]) if c != d}
    scored = [(a, b, len(sets[a] & sets[b]) / len(sets[a] | sets[b])) for a, b in pairs]
    return sorted(scored, key=lambda x: -x[2])[:limit]


def corpus_duplicates(docs: dict[str, str], truth: dict[str, str], share: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of different source articles that are already versions of one story in
    CNN/DailyMail (the Mail republishes updated articles): at least `share` of the smaller
    one's exact 8-word shingles are in the other. Checked exactly, not by MinHash."""
    bases = [d for d in docs if truth[d] == d]
    sets = {d: shingles(docs[d], 8) for d in bases}
    lsh, sigs = MinHashLSH(threshold=0.1, num_perm=64), {}
    for d in bases:
        mh = MinHash(num_perm=64, seed=9)
        mh.update_batch(list(sets[d]))
        sigs[d] = mh
        lsh.insert(d, mh)
    pairs = {tuple(sorted((d, c))) for d in bases for c in lsh.query(sigs[d]) if c != d}
    return [(a, b) for a, b in sorted(pairs)
            if sets[a] and sets[b] and len(sets[a] & sets[b]) / min(len(sets[a]), len(sets[b])) >= share]


def merged_truth(docs: dict[str, str], truth: dict[str, str]) -> tuple[dict[str, str], int]:
    """`truth` with the corpus's own near-duplicate articles joined into one story."""
    dups = corpus_duplicates(docs, truth)
    roots = components(sorted(set(truth.values())), dups)
    return {d: roots[t] for d, t in truth.items()}, len(dups)


def components(ids: list[str], edges: list[tuple[str, str]]) -> dict[str, str]:
    parent = {d: d for d in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {d: find(d) for d in ids}


def score(pred: dict[str, str], truth: dict[str, str]) -> dict[str, float]:
    """Pairwise precision/recall of same-story decisions, and exact-group precision/recall."""
    pairs = lambda c: sum(n * (n - 1) // 2 for n in c.values())  # noqa: E731
    tp = pairs(Counter((pred[d], truth[d]) for d in truth))
    pp, tt = pairs(Counter(pred.values())), pairs(Counter(truth.values()))
    groups = lambda lab: {frozenset(g) for g in _invert(lab).values() if len(g) > 1}  # noqa: E731
    pg, tg = groups(pred), groups(truth)
    p, r = tp / pp if pp else 1.0, tp / tt if tt else 1.0
    return {"P": p, "R": r, "F1": 2 * p * r / (p + r) if p + r else 0.0, "pred_pairs": pp, "true_pairs": tt,
            "group_P": len(pg & tg) / len(pg) if pg else 1.0, "group_R": len(pg & tg) / len(tg) if tg else 1.0}


def _invert(lab: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d, s in lab.items():
        out.setdefault(s, []).append(d)
    return out


def candidates(docs: dict[str, str], p: StoryParams) -> list[tuple[str, str, float, float]]:
    """Every LSH candidate pair with its estimated (Jaccard, containment)."""
    index = MinHashGroups(p)
    sig = {d: index.signature(t) for d, t in docs.items()}
    lsh = MinHashLSH(num_perm=p.num_perm, params=(p.bands, p.rows))
    out = []
    for d, (mh, n) in sig.items():
        for c in lsh.query(mh):
            jac = float(mh.jaccard(sig[c][0]))
            shared = jac * (n + sig[c][1]) / (1 + jac)
            out.append((d, c, jac, min(1.0, shared / max(1, min(n, sig[c][1])))))
        lsh.insert(d, mh)
    return out


def fmt(m: dict[str, float]) -> str:
    return (f"pairwise P={m['P']:.4f} R={m['R']:.4f} F1={m['F1']:.4f} (pred pairs {m['pred_pairs']}, "
            f"true pairs {m['true_pairs']}); groups P={m['group_P']:.4f} R={m['group_R']:.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev", type=int, default=2500, help="articles from line 1 (max 2500)")
    ap.add_argument("--test", type=int, default=2500, help="articles from line 2501 (max 2500)")
    ap.add_argument("--hard", type=int, default=300, help="hard-negative pairs to report")
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    t0 = time.perf_counter()
    dev, dev_truth, _ = build(1, min(2500, args.dev), args.seed)
    print(f"dev: {len(dev)} documents, {len(set(dev_truth.values()))} stories "
          f"({sum(1 for d in dev if dev_truth[d] != d)} copies)")
    dev_strict = dev_truth
    dev_truth, ndup = merged_truth(dev, dev_truth)
    print(f"  {ndup} pairs of dev source articles are already near-duplicates in CNN/DailyMail; "
          f"scored as one story (strict scores treat them as different)")
    best = None
    for k in (3, 4, 5):
        base = StoryParams(shingle=k)
        cands = candidates(dev, base)
        for con in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            for mj in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3):
                edges = [(a, b) for a, b, j, c in cands if j >= mj and c >= con]
                m = score(components(list(dev), edges), dev_truth)
                key = (round(m["F1"], 4), m["P"], -abs(con - 0.5))
                if best is None or key > best[0]:
                    best = (key, StoryParams(shingle=k, containment=con, min_jaccard=mj), m)
        print(f"  shingle={k}: {len(cands)} LSH candidate pairs; best so far {best[1]}")
    _, params, m = best
    print(f"chosen on dev: shingle={params.shingle} containment>={params.containment} "
          f"jaccard>={params.min_jaccard} num_perm={params.num_perm} LSH bands={params.bands} rows={params.rows}")
    print(f"dev  {fmt(m)}")
    for k in (3, 4, 5):
        sweep = StoryParams(shingle=k, containment=params.containment, min_jaccard=params.min_jaccard)
        edges = [(a, b) for a, b, j, c in candidates(dev, sweep) if j >= sweep.min_jaccard and c >= sweep.containment]
        print(f"     shingle={k} at the chosen thresholds: {fmt(score(components(list(dev), edges), dev_truth))}")
    print(f"dev  strict truth: {fmt(score(components(list(dev), [(a, b) for a, b, j, c in candidates(dev, params) if j >= params.min_jaccard and c >= params.containment]), dev_strict))}")

    test, truth, kinds = build(2501, 2500 + min(2500, args.test), args.seed + 1)
    print(f"test: {len(test)} documents, {len(set(truth.values()))} stories ({len(kinds)} copies)")
    index = MinHashGroups(params)
    t = time.perf_counter()
    for d, text in test.items():
        index.add(d, text)
    add_ms = (time.perf_counter() - t) * 1000 / len(test)
    sample = list(test.items())[:1000]
    tracemalloc.start()
    probe = MinHashGroups(params)
    for d, text in sample:
        probe.add(d, text)
    mem = tracemalloc.get_traced_memory()[0] / len(sample)
    tracemalloc.stop()
    pred = index.assignments()
    strict = truth
    truth, ndup = merged_truth(test, truth)
    print(f"test {fmt(score(pred, truth))}  [{ndup} corpus near-duplicate pairs joined]")
    print(f"test strict truth: {fmt(score(pred, strict))}")
    by_kind: dict[str, list[bool]] = {}
    for d, kind in kinds.items():
        for part in kind.split("+"):
            by_kind.setdefault(part, []).append(pred[d] == pred[strict[d]])
    print("test recall of copy->original by transform: " +
          ", ".join(f"{k} {sum(v) / len(v):.3f} (n={len(v)})" for k, v in sorted(by_kind.items())))
    hard = [h for h in hard_negatives(test, strict, args.hard * 2) if truth[h[0]] != truth[h[1]]][:args.hard]
    fp = [(a, b, j) for a, b, j in hard if pred[a] == pred[b]]
    print(f"test hard negatives: {len(hard)} different-article pairs, content-word Jaccard "
          f"{min((j for *_, j in hard), default=0):.2f}-{max((j for *_, j in hard), default=0):.2f}; "
          f"grouped together: {len(fp)}")
    bases_by_story = _invert({d: pred[d] for d in test if strict[d] == d})
    merged = [(a, b) for g in bases_by_story.values() for a, b in itertools.combinations(g, 2) if truth[a] != truth[b]]
    print(f"test different articles (not corpus near-duplicates) merged into one story: {len(merged)} pairs")
    for a, b in merged[:5]:
        print(f"   {a}: {test[a][:90]!r}\n   {b}: {test[b][:90]!r}")
    blob = index.to_bytes()
    t = time.perf_counter()
    MinHashGroups.from_bytes(blob)
    load_s = time.perf_counter() - t
    print(f"add: {add_ms:.2f} ms/document; memory {mem / 1024:.2f} KiB/document "
          f"(signature alone {params.num_perm * 4} B); saved {len(blob) / len(test):.0f} B/document, "
          f"load {load_s * 1000 / len(test):.3f} ms/document; total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
