"""Faults in the parts around the assistant: embedding failures mid-ingest, a killed
ingest, a second writer, a Chroma server that goes away; each with its pass condition."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, TERRITORY_Q, free_port
from fake_openai import FakeOpenAI

from assistant import Assistant
from assistant.core.errors import IndexLocked, StoreUnavailable

pytestmark = pytest.mark.slow


def articles(folder: Path, n: int, marker_at: int | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        extra = " POISON-EMBED" if i == marker_at else ""
        p = folder / f"a{i:02d}.txt"
        p.write_text(f"Harbour Report {i}\n\nThe harbour of town {i} landed {100 + i} tonnes of cod on Monday.{extra}\n"
                     f"Fishers in town {i} said prices rose by {i + 2} percent.\n", encoding="utf-8")
        paths.append(p)
    return paths


def fake_embed_bot(index: Path, fake: FakeOpenAI) -> Assistant:
    return Assistant(index=index, embedder="openai:fake-embed", embed_base_url=fake.url)


def test_embedding_failure_skips_one_document_and_a_rerun_completes_it(tmp_path):
    with FakeOpenAI() as fake:
        folder = tmp_path / "docs"
        articles(folder, 5, marker_at=2)
        fake.embed_fail_marker = "POISON-EMBED"
        bot = fake_embed_bot(tmp_path / "index", fake)
        report = bot.ingest([folder])
        assert len(report.added) == 4 and len(report.skipped) == 1
        assert report.skipped[0].source.endswith("a02.txt") and "embedding failed" in report.skipped[0].reason
        assert all(c.doc_id != "a02" and "POISON" not in c.text for c in bot.store.chunks())  # no partial chunks
        fake.embed_fail_marker = None
        again = fake_embed_bot(tmp_path / "index", fake).ingest([folder])
        assert len(again.added) == 1 and len(again.unchanged) == 4 and not again.skipped


def test_killed_ingest_keeps_what_was_reported_done_and_rerun_is_idempotent(tmp_path):
    with FakeOpenAI() as fake:
        folder = tmp_path / "docs"
        articles(folder, 20)
        fake.embed_delay = 0.25
        index = tmp_path / "index"
        env = {**os.environ, "ASSISTANT_EMBEDDER": "openai:fake-embed", "ASSISTANT_EMBED_BASE_URL": fake.url}
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "ingest", str(folder), "--index", str(index),
                                 "--verbose"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                cwd=ROOT)
        done = []
        while len(done) < 4:
            line = proc.stdout.readline()
            assert line, "ingest ended before four documents"
            if line.startswith("added "):
                done.append(line.split()[1])
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        fake.embed_delay = 0
        reopened = fake_embed_bot(index, fake)  # a new process's view: this test process
        ids = {d.id for d in reopened.documents()}
        assert set(done) <= ids and len(ids) < 20
        answer = reopened.ask("How many tonnes of cod did the harbour of town 0 land?")
        assert not answer.refused and answer.citations[0].doc_id == done[0]
        rerun = subprocess.run([sys.executable, "-m", "assistant", "ingest", str(folder), "--index", str(index), "--json"],
                               capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        import json
        report = json.loads(rerun.stdout)
        assert len(report["added"]) + len(report["updated"]) + len(report["unchanged"]) == 20
        assert set(done) <= set(report["unchanged"])
        final = fake_embed_bot(index, fake)
        assert len(final.documents()) == 20
        assert len(final.store.chunk_ids()) == sum(d.chunks for d in final.documents())  # no orphans


def test_reopen_after_clean_exit_with_a_single_chunk(tmp_path):
    doc = tmp_path / "one.txt"
    doc.write_text("Tiny Note\n\nThe ferry to Hoy was cancelled on Sunday because of fog.\n", encoding="utf-8")
    index = tmp_path / "index"
    subprocess.run([sys.executable, "-m", "assistant", "ingest", str(doc), "--index", str(index)], check=True,
                   capture_output=True, cwd=ROOT, timeout=120)
    out = subprocess.run([sys.executable, "-m", "assistant", "ask", "Why was the ferry to Hoy cancelled?", "--json",
                          "--index", str(index)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and "fog" in out.stdout


def test_a_second_writer_is_refused_with_a_clear_message(tmp_path, seeds_copy):
    index = tmp_path / "index"
    Assistant(index=index).ingest([seeds_copy])
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom assistant.index.lock import WriteLock\n"
                               "with WriteLock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)",
                               str(index)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"  # another process is writing
        out = subprocess.run([sys.executable, "-m", "assistant", "ingest", str(seeds_copy), "--index", str(index)],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert out.returncode == 1 and f"being written by process {holder.pid}" in out.stderr
        assert "Traceback" not in out.stderr
        with pytest.raises(IndexLocked):
            Assistant(index=index).delete(Assistant(index=index).documents()[0].id)
        # Readers are not blocked.
        assert not Assistant(index=index).ask(TERRITORY_Q).refused
    finally:
        holder.kill()
        holder.wait()
    assert Assistant(index=index).ingest([seeds_copy]).unchanged  # the lock died with its process


@pytest.fixture
def chroma(tmp_path):
    port = free_port()
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    proc = subprocess.Popen([exe, "run", "--path", str(tmp_path / "chroma"), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    yield url, proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=30)


def test_two_app_processes_share_a_chroma_server_and_its_loss_is_clear(tmp_path, chroma, seeds_copy):
    url, proc = chroma
    env = {**os.environ, "ASSISTANT_CHROMA_URL": url, "ASSISTANT_COLLECTION": "shared"}
    out = subprocess.run([sys.executable, "-m", "assistant", "ingest", str(seeds_copy), "--index", str(tmp_path / "a")],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    with FakeOpenAI() as fake:
        bot = Assistant(index=tmp_path / "b", chroma_url=url, collection="shared", generator="openai",
                        llm_model="m", llm_base_url=fake.url)
        assert len(bot.documents()) == 2  # process B sees process A's writes
        fake.replies = ["Ukraine lost 502 square kilometers in July."]
        assert not bot.ask(TERRITORY_Q).refused
        n_chat = len(fake.chat_requests())
        proc.terminate()
        proc.wait(timeout=30)
        with pytest.raises(StoreUnavailable, match="search unavailable") as err:
            bot.ask(TERRITORY_Q)
        assert url not in str(err.value)
        assert len(fake.chat_requests()) == n_chat  # no LLM call with an empty context
    with pytest.raises(StoreUnavailable, match="search unavailable"):
        Assistant(index=tmp_path / "c", chroma_url=url).documents()  # down at start


# -- bad input ---------------------------------------------------------------------------------
def _pdf_bomb() -> bytes:
    stream = zlib.compress(b"0" * 120_000_000, 9)  # ~120 MB of content from ~120 KB
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)


def _zip_bomb(path: Path) -> None:
    import zipfile
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.txt", b"0" * 50_000_000)


def test_corpus_fuzz_is_skipped_with_reasons_in_bounded_time_and_memory(tmp_path, seeds_copy):
    index = tmp_path / "index"
    Assistant(index=index).ingest([seeds_copy])
    before = {(d.id, d.content_hash, d.chunks) for d in Assistant(index=index).documents()}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "invalid.txt").write_bytes(b"Headline\n\nCaf\xe9 prices \xff\xfe rose.")
    (bad / "nul.txt").write_bytes(b"Headline\n\nText with a NUL \x00 byte in it." + b" more text" * 2000 + b"\x00")
    (bad / "empty.txt").write_bytes(b"")
    (bad / "huge.txt").write_bytes(b"x" * 50_000_000)  # a 50 MB single line
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 400)
    (bad / "bomb.pdf").write_bytes(_pdf_bomb())
    _zip_bomb(bad / "bomb.zip")
    shutil.copy(bad / "bomb.zip", bad / "zip-renamed.txt")
    (bad / "utf16.txt").write_bytes("Tide Tables\n\nHigh tide at Kirkwall is at noon on Friday.\n".encode("utf-16"))
    long_name = tmp_path / ("n" * 9000 + ".txt")
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", (
        "import json, resource, sys; from assistant import Assistant, to_dict; "
        f"r = Assistant(index={str(index)!r}).ingest([{str(bad)!r}, {str(long_name)!r}]); "
        "print(json.dumps({'report': to_dict(r), 'rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))")],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    elapsed = time.monotonic() - t0
    assert out.returncode == 0, out.stderr[-2000:]
    import json
    result = json.loads(out.stdout.strip().splitlines()[-1])
    reasons = {Path(s["source"]).name[:40]: s["reason"] for s in result["report"]["skipped"]}
    assert "not UTF-8" in reasons["invalid.txt"]
    assert "NUL" in reasons["nul.txt"] or "binary" in reasons["nul.txt"]
    assert "empty" in reasons["empty.txt"] and "too large" in reasons["huge.txt"]
    assert "binary" in reasons["binary.txt"] or "unprintable" in reasons["binary.txt"]
    assert any(w in reasons["bomb.pdf"] for w in ("decompression bomb", "PDF", "no text"))  # never its 120 MB
    assert "unsupported file type" in reasons["bomb.zip"]
    assert "binary" in reasons["zip-renamed.txt"] or "UTF-8" in reasons["zip-renamed.txt"]
    assert any(k.startswith("nnnn") for k in reasons)  # the 9,000-character name: a reason, not a crash
    assert [Path(a).name for a in result["report"]["added"]] and len(result["report"]["added"]) == 1  # utf16.txt
    assert elapsed < 120 and result["rss_kb"] < 1_500_000, (elapsed, result["rss_kb"])
    after = {(d.id, d.content_hash, d.chunks) for d in Assistant(index=index).documents()}
    assert before <= after and len(after) == len(before) + 1  # nothing already indexed changed


def test_html_tricks_never_reach_a_chunk_and_visible_text_still_answers(tmp_path):
    page = """<html><head><title>Ferry Timetable Changes</title><style>.m{content:"MARK-STYLE"}</style>
    <script>var x = "MARK-SCRIPT";</script></head><body><article><h1>Ferry Timetable Changes</h1>
    <p onclick="alert('MARK-HANDLER')">The Stromness ferry will leave at 7am from Monday, the operator said.</p>
    <p style="display:none">MARK-HIDDEN-STYLE</p><div hidden>MARK-HIDDEN-ATTR</div>
    <span aria-hidden="true">MARK-ARIA</span><template>MARK-TEMPLATE</template><noscript>MARK-NOSCRIPT</noscript>
    <p>Tickets cost\u200b MARK\u200b-ZW\u200bSP nothing extra. Fares \u202eMARK-BIDI\u202c stay the same.</p>
    </article></body></html>"""
    (tmp_path / "ferry.html").write_text(page, encoding="utf-8")
    bot = Assistant(index=tmp_path / "index")
    assert bot.ingest([tmp_path / "ferry.html"]).added
    stored = " ".join(c.text for c in bot.store.chunks()) + bot.documents()[0].title
    for marker in ("MARK-STYLE", "MARK-SCRIPT", "MARK-HANDLER", "MARK-HIDDEN-STYLE", "MARK-HIDDEN-ATTR", "MARK-ARIA",
                   "MARK-TEMPLATE", "MARK-NOSCRIPT", "\u200b", "\u202e"):
        assert marker not in stored, marker
    answer = bot.ask("When will the Stromness ferry leave from Monday?")
    assert "7am" in answer.answer
