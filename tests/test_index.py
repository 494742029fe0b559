"""The index keeps every article through threads, other processes, torn files, damaged
vector files, an interrupted repair and a full disk (tests/test_soak.py kills it at random)."""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, TERRITORY_Q

from assistant import Assistant
from assistant.core.errors import DiskFull, IndexDamaged

WORDS = ("harbour council mayor river bridge storm election budget school hospital police market festival road "
         "train port factory court minister village").split()


def write_articles(path: Path, n: int, start: int = 0, sentences: int = 30) -> Path:
    """A JSONL file of `n` distinct synthetic articles with ids."""
    rng = random.Random(start)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(start, start + n):
            text = " ".join(f"Town {i} reported that the {rng.choice(WORDS)} {rng.choice(WORDS)} grew by "
                            f"{rng.randint(1, 999)} percent." for _ in range(sentences))
            f.write(json.dumps({"id": f"town-{i}", "title": f"Town {i} news", "text": text}) + "\n")
    return path


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, "ASSISTANT_INGEST_WORKERS": "0"})


def test_threads_of_one_process_take_turns_writing(tmp_path):
    """Two threads (one Assistant, and two Assistants) ingest and delete at once: no spurious
    'being written by another process', and every document lands."""
    index = tmp_path / "index"
    files = [write_articles(tmp_path / f"part{i}.jsonl", 12, start=100 * i, sentences=6) for i in range(4)]
    shared = Assistant(index=index)
    others = [shared, shared, Assistant(index=index), Assistant(index=index)]
    errors: list[BaseException] = []

    def run(bot: Assistant, path: Path) -> None:
        try:
            bot.ingest([path])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(bot, f)) for bot, f in zip(others, files)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    fresh = Assistant(index=index)
    assert len(fresh.documents()) == 48
    assert fresh.keyword().size == sum(d.chunks for d in fresh.documents())


def test_torn_or_tampered_bm25_files_are_rebuilt_not_trusted(tmp_path, seeds_copy):
    index = tmp_path / "index"
    Assistant(index=index).ingest([seeds_copy])
    cache = Assistant(index=index).index.cache_dir
    expected = Assistant(index=index).ask(TERRITORY_Q).answer
    damages = {
        "rows.npz": lambda p: p.write_bytes(p.read_bytes()[:100]),         # torn: BadZipFile before
        "seg": lambda p: p.write_bytes(_flip(p.read_bytes())),             # one byte changed
        "vocab.txt": lambda p: p.write_text("harbour\nmayor", encoding="utf-8"),
        "manifest.json": lambda p: p.write_text(p.read_text().replace('"rows\\": ', '"rows\\": 1'), encoding="utf-8"),
    }
    for name, damage in damages.items():
        target = next(cache.glob("seg-*.npz")) if name == "seg" else cache / name
        damage(target)
        bot = Assistant(index=index)
        answer = bot.ask(TERRITORY_Q)
        assert answer.answer == expected, name
        assert bot.keyword().size == 18
        assert bot.index.keyword() is bot.keyword()  # in step again: saved afresh, nothing re-read


def _flip(data: bytes) -> bytes:
    at = len(data) // 2
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


@pytest.fixture(scope="module")
def big_index(tmp_path_factory) -> Path:
    """300 articles (1,200 chunks: enough for Chroma to write HNSW files); copy before changing."""
    base = tmp_path_factory.mktemp("big")
    src = write_articles(base / "towns.jsonl", 300)
    report = Assistant(index=base / "index", ingest_workers=0).ingest([src])
    assert len(report.added) == 300
    return base / "index"


def _damage_vectors(index: Path) -> None:
    bot = Assistant(index=index)
    segment = next(p for p in index.iterdir() if (p / "index_metadata.pickle").exists())
    (segment / "header.bin").write_bytes(os.urandom(100))
    del bot


def test_damaged_vector_files_name_repair_which_restores_every_article(tmp_path, big_index):
    index = tmp_path / "index"
    shutil.copytree(big_index, index)
    _damage_vectors(index)
    with pytest.raises(IndexDamaged, match="assistant repair"):
        Assistant(index=index).ask("What did town 7 report about the harbour?")
    asked = cli("ask", "What did town 7 report?", "--index", str(index))
    assert asked.returncode == 1 and "assistant repair" in asked.stderr and "Traceback" not in asked.stderr
    out = cli("repair", "--index", str(index), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"documents": 300, "chunks": 1200, "resumed": False}
    bot = Assistant(index=index)
    assert len(bot.documents()) == 300
    hits = bot.retrieve("Town 7 reported", top_k=5)
    assert hits and hits[0].doc_id == "town-7"
    assert not list(index.glob("damaged-*")) and not list(index.glob("*.repair.jsonl"))


def test_an_interrupted_repair_is_named_at_open_and_finished_by_the_next(tmp_path, big_index):
    index = tmp_path / "index"
    shutil.copytree(big_index, index)
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "repair", "--index", str(index)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "ASSISTANT_INGEST_WORKERS": "0"})
    backup = index / "bm25-articles.repair.jsonl"
    deadline = time.monotonic() + 120
    while not backup.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(0.3)  # somewhere in the drop or the rebuild
    proc.kill()
    proc.wait()
    assert backup.exists(), "the repair finished before it could be interrupted"
    with pytest.raises(IndexDamaged, match="repair of this index was interrupted"):
        Assistant(index=index).documents()
    out = cli("repair", "--index", str(index), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["resumed"] is True and json.loads(out.stdout)["documents"] == 300
    assert len(Assistant(index=index).documents()) == 300


def test_a_damaged_database_says_what_to_do(tmp_path, seeds_copy):
    index = tmp_path / "index"
    Assistant(index=index).ingest([seeds_copy])
    db = index / "chroma.sqlite3"
    data = bytearray(db.read_bytes())
    data[:100] = os.urandom(100)  # the SQLite header
    db.write_bytes(bytes(data))
    out = cli("ask", TERRITORY_Q, "--index", str(index))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "damaged" in out.stderr and "--rebuild" in out.stderr


def test_another_process_deleting_and_re_adding_is_followed_exactly(tmp_path, seeds_copy):
    """A long-lived Assistant (the UI) follows every write of another process."""
    index = tmp_path / "index"
    ui = Assistant(index=index)
    ui.ingest([seeds_copy])
    target = next(d.id for d in ui.documents() if d.source.endswith("000_27f29ae969c6fbd6.txt"))
    assert any(p.doc_id == target for p in ui.retrieve(TERRITORY_Q))
    assert cli("docs", "delete", target, "--index", str(index)).returncode == 0
    assert all(p.doc_id != target for p in ui.retrieve(TERRITORY_Q)) and ui.ask(TERRITORY_Q).refused
    assert cli("ingest", str(seeds_copy), "--index", str(index)).returncode == 0
    assert any(p.doc_id == target for p in ui.retrieve(TERRITORY_Q))
    assert not ui.ask(TERRITORY_Q).refused
    changed = seeds_copy / "000_27f29ae969c6fbd6.txt"
    changed.write_text(changed.read_text(encoding="utf-8").replace("502 square", "777 square"), encoding="utf-8")
    assert cli("ingest", str(seeds_copy), "--index", str(index)).returncode == 0
    assert "777 square" in ui.ask(TERRITORY_Q).answer


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="needs root to mount a small tmpfs")
def test_a_full_disk_says_so_and_loses_nothing(tmp_path, seeds_copy):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "2m"):
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        index = disk / "index"
        Assistant(index=index, ingest_workers=0).ingest([seeds_copy])
        src = write_articles(tmp_path / "towns.jsonl", 300)
        with pytest.raises(DiskFull, match="disk holding the index is full.*nothing already indexed was lost"):
            Assistant(index=index, ingest_workers=0).ingest([src])
        subprocess.run(["mount", "-o", "remount,size=256m", str(disk)], check=True)
        # As the message says: free space and run the command again (a new process).
        asked = cli("ask", TERRITORY_Q, "--index", str(index), "--json")
        assert asked.returncode == 0 and not json.loads(asked.stdout)["refused"], asked.stderr  # seeds still there
        again = cli("ingest", str(src), "--index", str(index), "--json")
        assert again.returncode == 0, again.stderr
        report = json.loads(again.stdout)
        assert len(report["added"]) + len(report["unchanged"]) == 300
        listed = cli("docs", "list", "--json", "--index", str(index))
        assert len(json.loads(listed.stdout)) == 302
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)



def test_a_crash_before_the_commit_point_keeps_the_old_version_readable(tmp_path, seeds_copy):
    """put_many writes a new version's text before the document record (the commit point):
    stopped right there, the old version must still be whole and retrievable."""
    from assistant.index.store import text_id
    from assistant.ingest.load import load_paths

    index = tmp_path / "index"
    Assistant(index=index).ingest([seeds_copy])
    path = seeds_copy / "000_27f29ae969c6fbd6.txt"
    old_text = path.read_text(encoding="utf-8")
    path.write_text(old_text.replace("502 square", "777 square"), encoding="utf-8")
    new = next(d for d in load_paths([path], 10**7).documents)
    store = Assistant(index=index).store
    store._texts.upsert(ids=[text_id(new.id, new.content_hash)], embeddings=[[1.0]],  # the write before the commit
                        metadatas=[{"text": new.text, "content_hash": new.content_hash, "doc_id": new.id}])
    bot = Assistant(index=index)
    assert bot.document(new.id).text == Assistant(index=index).document(new.id).text
    assert "502 square" in bot.document(new.id).text
    assert "502 square" in bot.ask(TERRITORY_Q).answer
    report = bot.ingest([seeds_copy])  # the rerun completes it, and the old version's text goes
    assert report.updated == (new.id,) and "777 square" in Assistant(index=index).ask(TERRITORY_Q).answer
    assert Assistant(index=index).store._texts.get(where={"doc_id": new.id})["ids"] == [text_id(new.id, new.content_hash)]


def test_a_delete_stopped_after_its_first_write_leaves_no_half_document(tmp_path, seeds_copy, monkeypatch):
    """Found by the soak: a delete killed between its writes left a listed document with
    no chunks in Chroma. Its first write must be the commit point: stopped right after it,
    the document is gone from every view, and the next write clears what is left."""
    from chromadb.api.models.Collection import Collection

    index = tmp_path / "index"
    Assistant(index=index).ingest([seeds_copy])
    bot = Assistant(index=index)
    doc_id = next(d.id for d in bot.documents() if d.id.startswith("000_"))  # the article TERRITORY_Q asks about
    bot.store  # opened before the fault is planted
    done: list[str] = []

    class Killed(Exception):
        pass

    real = Collection.delete

    def delete(self, *args, **kwargs):
        real(self, *args, **kwargs)
        done.append(self.name)
        raise Killed  # the process dies right after its first write

    monkeypatch.setattr(Collection, "delete", delete)
    with pytest.raises(Killed):
        bot.delete(doc_id)
    monkeypatch.undo()
    assert len(done) == 1
    after = Assistant(index=index)
    assert doc_id not in {d.id for d in after.documents()}  # the record went first: no half document
    assert all(p.doc_id != doc_id for p in after.retrieve(TERRITORY_Q, top_k=10))
    after.ingest([seeds_copy])  # the next write clears the orphans and adds the article again
    final = Assistant(index=index)
    info = {d.id: d for d in final.documents()}[doc_id]
    assert len(final.store.chunk_texts([doc_id])) == info.chunks
    assert "502 square" in final.ask(TERRITORY_Q).answer
