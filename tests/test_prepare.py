"""The ingest worker: it never runs the caller's main module, it dies with its parent (even
in the middle of a batch), and every way it can fail reaches the caller as a typed error
that says what to do, with nothing already indexed lost."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from assistant import Assistant
from assistant.core import errors
from assistant.core.data import Document
from assistant.core.settings import Settings
from assistant.ingest.chunk import Chunker
from assistant.ingest.prepare import Prepared, Preparer
from assistant.models.embed import make_embedder

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and uses ps")


def news(path: Path, n: int, prefix: str = "n") -> list[str]:
    """A JSONL file of `n` distinct short articles; returns their ids."""
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"{prefix}{i:04d}", "title": f"Harbour report {prefix} {i}",
                                "text": f"The harbour of town {prefix}{i} landed {100 + i} tonnes of cod this week, "
                                        f"the port authority said. Fishers in town {prefix}{i} expect a busy season. "
                                        f"The mayor of town {prefix}{i} opened a new pier on Tuesday."}) + "\n")
    return [f"{prefix}{i:04d}" for i in range(n)]


def docs(n: int) -> list[Document]:
    return [Document(id=f"d{i}", title=f"Report {i}", source=f"mem:{i}", content_hash=f"{i:064x}",
                     text=f"Town {i} landed {i} tonnes of cod. The mayor opened a new pier on Tuesday.")
            for i in range(n)]


def run_script(cwd: Path, code: str) -> subprocess.Popen:
    script = cwd / "user_script.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(script)], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def descendants(pid: int) -> dict[int, str]:
    """Live processes below `pid` (children, their children...), with their command lines."""
    ps = subprocess.Popen(["ps", "-e", "-o", "pid=,ppid=,args="], stdout=subprocess.PIPE, text=True)
    rows = ps.communicate()[0]
    kids: dict[int, list[tuple[int, str]]] = {}
    for row in rows.splitlines():
        child, parent, args = (row.split(None, 2) + [""])[:3]
        if int(child) != ps.pid:
            kids.setdefault(int(parent), []).append((int(child), args))
    found, todo = {}, [pid]
    while todo:
        for child, args in kids.get(todo.pop(), []):
            found[child] = args
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def wait_gone(pids: dict[int, str], seconds: float) -> dict[int, str]:
    """The processes of `pids` still alive after `seconds` (at most)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return {p: args for p, args in pids.items() if alive(p)}


@pytest.mark.slow
def test_a_script_without_a_main_guard_runs_once_and_ingests_everything(tmp_path: Path):
    news(tmp_path / "news.jsonl", 220)  # above the size at which a worker prepares the documents
    proc = run_script(tmp_path, (
        "with open('marker.txt', 'a') as f:\n"
        "    f.write('ran\\n')\n"
        "from assistant import Assistant\n"
        "report = Assistant(index='index', ingest_workers=1).ingest(['news.jsonl'])\n"
        "print(len(report.added), len(report.skipped))\n"))
    out, err = proc.communicate(timeout=300)
    assert (tmp_path / "marker.txt").read_text().splitlines() == ["ran"]
    assert proc.returncode == 0, err[-3000:]
    assert out.split() == ["220", "0"]
    assert len(Assistant(index=tmp_path / "index").documents()) == 220


@pytest.mark.slow
@linux_only
def test_killing_the_ingest_process_ends_its_worker(tmp_path: Path):
    news(tmp_path / "news.jsonl", 600)
    proc = run_script(tmp_path, (
        "from assistant import Assistant\n"
        "if __name__ == '__main__':\n"
        "    Assistant(index='index', ingest_workers=1).ingest(['news.jsonl'],\n"
        "                                                      on_document=lambda d, s: print(d, flush=True))\n"))
    try:
        first = proc.stdout.readline()  # a batch is committed: the worker is up and preparing the next
        assert first.strip() == "n0000", proc.stderr.read()[-3000:]
        below = descendants(proc.pid)
        assert below, "no worker process was started"
    finally:
        proc.kill()
        proc.wait()
    left = wait_gone(below, 5)
    assert not left, f"still running after the ingest process was killed: {left}"
    assert not any("resource_tracker" in args for args in below.values())


@pytest.mark.slow
@linux_only
def test_the_worker_dies_with_its_parent_in_the_middle_of_a_batch(tmp_path: Path):
    proc = run_script(tmp_path, (
        "from assistant.ingest.chunk import Chunker\n"
        "from assistant.models.embed import make_embedder\n"
        "from assistant.ingest.prepare import Preparer\n"
        "from assistant.core.settings import Settings\n"
        "from assistant.core.data import Document\n"
        "if __name__ == '__main__':\n"
        "    docs = [Document(id=f'd{i}', title='t', source='s', content_hash=f'{i:064x}',\n"
        "                     text=f'Town {i} landed {i} tonnes of cod. ' * 40) for i in range(6000)]\n"
        "    s = Settings.load()\n"
        "    job = Preparer(s, Chunker(), make_embedder(s), 1).submit(docs)\n"
        "    print('submitted', flush=True)\n"
        "    job.result()\n"))
    try:
        assert proc.stdout.readline().strip() == "submitted", proc.stderr.read()[-3000:]
        below = descendants(proc.pid)
        assert below, "no worker process was started"
        time.sleep(4)  # started, and busy with a batch that takes much longer than that
        assert all(alive(p) for p in below)
    finally:
        proc.kill()
        proc.wait()
    left = wait_gone(below, 3)
    assert not left, f"still running after its parent was killed: {left}"


@pytest.mark.slow
@linux_only
def test_a_killed_worker_fails_the_ingest_with_the_fix_and_loses_nothing(tmp_path: Path):
    early = news(tmp_path / "early.jsonl", 5, prefix="e")
    ids = news(tmp_path / "news.jsonl", 220)
    Assistant(index=tmp_path / "index").ingest([tmp_path / "early.jsonl"])
    ours = set(descendants(os.getpid()))
    committed: list[str] = []

    def kill_the_worker(doc_id: str, status: str) -> None:
        committed.append(doc_id)
        if len(committed) == 1:
            for pid in set(descendants(os.getpid())) - ours:
                os.kill(pid, signal.SIGKILL)

    bot = Assistant(index=tmp_path / "index", ingest_workers=1)
    with pytest.raises(errors.IngestWorkerFailed, match="ASSISTANT_INGEST_WORKERS=0") as failed:
        bot.ingest([tmp_path / "news.jsonl"], on_document=kill_the_worker)
    assert "SIGKILL" in str(failed.value) and "again" in str(failed.value)
    assert 0 < len(committed) < 220
    assert {d.id for d in Assistant(index=tmp_path / "index").documents()} == set(early) | set(committed)
    again = Assistant(index=tmp_path / "index", ingest_workers=0).ingest([tmp_path / "news.jsonl"])
    assert sorted(again.unchanged) == sorted(committed) and sorted(again.added + again.unchanged) == ids
    assert len(Assistant(index=tmp_path / "index").documents()) == 225


def fake_python(tmp_path: Path, body: str) -> str:
    """An executable standing in for the interpreter that starts the worker."""
    exe = tmp_path / "python"
    exe.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    exe.chmod(0o755)
    return str(exe)


@linux_only
@pytest.mark.parametrize("body, says", [
    ("echo 'ModuleNotFoundError: No module named numpy' >&2; exit 3",
     ["exited with code 3", "No module named numpy"]),
    ("printf 'Traceback? no: garbage on stdout'; exec sleep 30", ["sent a malformed reply"]),
    ("kill -SEGV $$", ["was killed by SIGSEGV"]),
])
def test_a_worker_that_cannot_serve_fails_typed_and_leaves_no_process(tmp_path: Path, monkeypatch, body, says):
    monkeypatch.setattr(sys, "executable", fake_python(tmp_path, body))
    settings = Settings.load()
    before = set(descendants(os.getpid()))
    with Preparer(settings, Chunker(), make_embedder(settings), 1) as prep:
        with pytest.raises(errors.IngestWorkerFailed) as failed:
            prep.submit(docs(3)).result(timeout=20)
        with pytest.raises(errors.IngestWorkerFailed):  # and every later batch
            prep.submit(docs(3)).result(timeout=20)
    for text in says + ["ASSISTANT_INGEST_WORKERS=0"]:
        assert text in str(failed.value)
    assert not wait_gone({p: "" for p in set(descendants(os.getpid())) - before}, 5)


def test_a_worker_that_cannot_be_started_fails_typed(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    settings = Settings.load()
    with Preparer(settings, Chunker(), make_embedder(settings), 1) as prep:
        with pytest.raises(errors.IngestWorkerFailed, match="cannot be started.*ASSISTANT_INGEST_WORKERS=0"):
            prep.submit(docs(3))


def test_the_worker_prepares_what_this_process_would_and_keeps_setting_errors_typed():
    settings = Settings.load()
    chunker, embedder = Chunker(), make_embedder(settings)
    with Preparer(settings, chunker, embedder, 1) as there, Preparer(settings, chunker, embedder, 0) as here:
        jobs = [there.submit(docs(40)[i:i + 10]) for i in range(0, 40, 10)]  # several in flight, answered in order
        theirs = [r for job in jobs for r in job.result(timeout=60)]
        ours = here.submit(docs(40)).result()
    assert all(isinstance(r, Prepared) for r in theirs) and [r.doc.id for r in theirs] == [r.doc.id for r in ours]
    for a, b in zip(theirs, ours):
        assert a.chunks == b.chunks and a.terms == b.terms and (abs(a.vectors - b.vectors).max() < 1e-6)
    bad = settings.replace(embedder="wordllama:999")  # the dimension is checked when the model loads
    with Preparer(bad, chunker, embedder, 1) as prep:
        with pytest.raises(errors.ConfigError, match="dimension must be 8..256"):
            prep.submit(docs(2)).result(timeout=60)
