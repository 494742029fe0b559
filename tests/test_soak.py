"""Soak: SIGKILL the CLI at random moments of ingest, re-ingest and delete, then reopen.

After every kill: every document the killed process reported committed (`--verbose`
prints it once it is) is there with that version; every reported delete is gone; no
two documents hold the same text; every document is whole (its chunks are all in Chroma
and in BM25); and the index answers. An index that fails is repaired with `repair`
(counted); one that `repair` cannot restore is a failure.

`SOAK_KILLS` sets the number of kills (default 24 in the test run; `make soak` runs 200
and prints the counts that the README reports)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from assistant import Assistant
from assistant.core.errors import StoreUnavailable

pytestmark = pytest.mark.slow

WORDS = ("harbour council mayor river bridge storm election budget school hospital police market festival road "
         "train port factory court minister village").split()


def article(i: int, version: int) -> dict[str, str]:
    rng = random.Random(i * 1000 + version)
    text = " ".join(f"Town {i} said in version {version} that the {rng.choice(WORDS)} {rng.choice(WORDS)} grew by "
                    f"{rng.randint(1, 999)} percent." for _ in range(18))
    return {"id": f"t{i}", "title": f"Town {i}", "text": text}


@dataclass
class Soak:
    """The expected state: doc id -> content hashes it may hold (one once a version was
    reported committed; several while an unreported write may or may not have landed)."""

    index: Path
    work: Path
    rng: random.Random
    expect: dict[str, set[str]] = field(default_factory=dict)
    versions: dict[int, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"kills": 0, "lost": 0, "duplicates": 0, "broken": 0,
                                                           "repaired": 0, "unrecoverable": 0, "reported": 0})

    def run(self, op: str) -> None:
        """Start one CLI write, kill it at a random moment, then check the index."""
        cmd, batch = self._command(op)
        proc = subprocess.Popen([sys.executable, "-m", "assistant", *cmd, "--index", str(self.index)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        reported: list[str] = []
        reader = threading.Thread(target=lambda: reported.extend(line.strip() for line in proc.stdout))
        reader.start()
        if self.rng.random() < 0.25:  # anywhere from start-up on
            time.sleep(self.rng.uniform(0.5, 8.0))
        else:  # inside the writes: after the first commit, whatever the machine's speed
            deadline = time.monotonic() + 120
            while not reported and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(self.rng.uniform(0.0, 2.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            self.counts["kills"] += 1
        proc.wait()
        reader.join()
        self.counts["reported"] += len(reported)
        self._apply(op, batch, reported)
        self.check()

    def _command(self, op: str) -> tuple[list[str], dict[str, str]]:
        if op == "delete":
            ids = sorted(d for d, hashes in self.expect.items() if hashes - {""})
            chosen = self.rng.sample(ids, min(len(ids), self.rng.randint(1, 6)))
            return ["docs", "delete", *chosen], {d: "" for d in chosen}
        n = self.rng.choice([20, 60, 220])
        picks = self.rng.sample(range(400), n)
        path = self.work / f"op{self.counts['kills']}-{self.rng.random():.6f}.jsonl"
        rows = []
        for i in picks:
            if op == "reingest":
                self.versions[i] = self.versions.get(i, 0) + 1
            rows.append(article(i, self.versions.get(i, 0)))
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        from assistant.ingest.load import load_paths

        hashes = {d.id: d.content_hash for d in load_paths([path], 10**8).documents}
        return ["ingest", str(path), "--verbose"], hashes

    def _apply(self, op: str, batch: dict[str, str], reported: list[str]) -> None:
        done = {line.split(" ", 1)[1] for line in reported if " " in line}
        for doc_id, new in batch.items():
            if doc_id in done:
                self.expect[doc_id] = {new}
            else:  # not reported: either outcome may have landed
                self.expect[doc_id] = self.expect.get(doc_id, {""}) | {new}

    def check(self) -> None:
        """Reopen and compare with the expectation; repair a broken index."""
        try:
            self._verify()
        except StoreUnavailable:
            self.counts["broken"] += 1
            try:
                Assistant(index=self.index).repair()
                self.counts["repaired"] += 1
                self._verify()
            except StoreUnavailable:
                self.counts["unrecoverable"] += 1
                raise

    def _verify(self) -> None:
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()  # see the files as a new process would
        bot = Assistant(index=self.index)
        docs = {d.id: d for d in bot.documents()}
        for doc_id, allowed in self.expect.items():
            have = docs[doc_id].content_hash if doc_id in docs else ""
            if have not in allowed:
                self.counts["lost"] += 1
            self.expect[doc_id] = {have}  # what is there now is the new reference
        hashes = [d.content_hash for d in docs.values()]
        self.counts["duplicates"] += len(hashes) - len(set(hashes))
        keyword = bot.keyword()
        in_bm25 = Counter(keyword.row_docs[i] for i in np.flatnonzero(keyword.alive))
        in_chroma = Counter(row[1] for row in bot.store.chunk_texts(sorted(docs)))
        for d in docs.values():  # every document whole: all its chunks in Chroma and in BM25
            assert in_bm25[d.id] == d.chunks == in_chroma[d.id], d.id
        assert keyword.size == sum(d.chunks for d in docs.values())
        if docs:
            some = next(iter(docs.values()))
            hits = bot.retrieve(bot.document(some.id).text[:200], top_k=3)
            assert hits and any(h.doc_id == some.id for h in hits)
            bot.store.query(bot.embedder.embed(["harbour"])[0], 3)  # the vector side answers


def test_kill_9_at_random_moments_loses_nothing(tmp_path):
    kills = int(os.environ.get("SOAK_KILLS", "24"))
    soak = Soak(tmp_path / "index", tmp_path, random.Random(int(os.environ.get("SOAK_SEED", "7"))))
    soak.run("ingest")
    while soak.counts["kills"] < kills:
        ops = ["ingest", "reingest", "delete"] if soak.expect else ["ingest"]
        soak.run(soak.rng.choice(ops))
    summary = {**soak.counts, "documents": len(Assistant(index=soak.index).documents())}
    out = os.environ.get("SOAK_REPORT")
    if out:
        Path(out).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print("soak:", json.dumps(summary))
    assert summary["kills"] >= kills and summary["reported"] > 0
    assert summary["lost"] == 0 and summary["duplicates"] == 0 and summary["unrecoverable"] == 0
