"""The `assistant` command as a user runs it (subprocesses)."""
import json
import subprocess
import sys
from pathlib import Path

from conftest import SEEDS, TERRITORY_Q


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          timeout=180, check=check)


def test_ingest_twice_then_ask_json_contract(tmp_path: Path):
    index = str(tmp_path / "idx")
    first = run("ingest", str(SEEDS), "--index", index)
    assert "added 2, updated 0, unchanged 0, skipped 0" in first.stdout
    second = run("ingest", str(SEEDS), "--index", index, "--json")
    report = json.loads(second.stdout)
    assert report["added"] == [] and len(report["unchanged"]) == 2

    out = json.loads(run("ask", TERRITORY_Q, "--json", "--index", index).stdout)
    for key in ("question", "answer", "refused", "citations", "sentences", "passages", "usage", "timings_ms"):
        assert key in out
    assert out["refused"] is False and "502 square kilometers" in out["answer"]
    cite = out["citations"][0]
    assert set(cite) >= {"n", "doc_id", "title", "source", "chunk_id", "quote", "start", "end"}
    assert Path(cite["source"]).read_text(encoding="utf-8")[cite["start"]:cite["end"]] == cite["quote"]
    assert {"text", "citations", "supported"} <= set(out["sentences"][0])
    assert {"rank", "chunk_id", "doc_id", "score", "text"} <= set(out["passages"][0])

    refused = json.loads(run("ask", "What is the capital of Australia?", "--json", "--index", index).stdout)
    assert refused["refused"] is True and refused["citations"] == []


def test_docs_list_show_delete_and_errors(tmp_path: Path):
    index = str(tmp_path / "idx")
    run("ingest", str(SEEDS), "--index", index)
    docs = json.loads(run("docs", "list", "--json", "--index", index).stdout)
    assert len(docs) == 2 and all(d["chunks"] > 0 for d in docs)
    shown = run("docs", "show", docs[0]["id"], "--index", index).stdout
    assert shown.strip() == Path(docs[0]["source"]).read_text(encoding="utf-8").strip()
    assert f"deleted {docs[0]['id']}" in run("docs", "delete", docs[0]["id"], "--index", index).stdout
    assert len(json.loads(run("docs", "--json", "--index", index).stdout)) == 1
    missing = run("docs", "delete", "nope", "--index", index, check=False)
    assert missing.returncode == 1 and "no document 'nope'" in missing.stderr and "Traceback" not in missing.stderr


def test_env_var_selects_index_and_empty_index_error(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_INDEX", str(tmp_path / "env-idx"))
    out = run("ask", TERRITORY_Q, check=False)
    assert out.returncode == 1 and "assistant ingest seeds/" in out.stderr and "Traceback" not in out.stderr
    assert (tmp_path / "env-idx").exists()


def test_help_explains_commands():
    out = run("--help").stdout
    for word in ("ingest", "ask", "chat", "docs", "serve", "ASSISTANT_INDEX"):
        assert word in out
    assert "--json" in run("ask", "--help").stdout


def test_chat_session_with_follow_up(tmp_path: Path):
    index = str(tmp_path / "idx")
    run("ingest", str(SEEDS), "--index", index)
    out = subprocess.run([sys.executable, "-m", "assistant", "chat", "--index", index], text=True, capture_output=True,
                         input="Who is Samuel Charap?\nWhat did he say about the leverage?\n\n", timeout=180)
    assert out.returncode == 0
    assert "Rand Corporation" in out.stdout and "leverage is to keep the fighting" in out.stdout


def test_a_malformed_url_is_one_error_line_that_names_the_setting(seeded_index: Path, monkeypatch):
    cases = [(["--generator", "openai", "--model", "m", "--base-url", "http://[::1/v1"], {}, "ASSISTANT_LLM_BASE_URL"),
             ([], {"ASSISTANT_EMBEDDER": "openai:m", "ASSISTANT_EMBED_BASE_URL": "http://[::1/v1"},
              "ASSISTANT_EMBED_BASE_URL"),
             (["--chroma-url", "http://[::1:8000"], {}, "ASSISTANT_CHROMA_URL")]
    for args, env, setting in cases:
        with monkeypatch.context() as m:
            for name, value in env.items():
                m.setenv(name, value)
            out = run("ask", TERRITORY_Q, *args, "--index", str(seeded_index), check=False)
        line = out.stderr.strip()
        assert out.returncode == 1 and "Traceback" not in line, line
        assert line.startswith("error: ") and len(line.splitlines()) == 1
        assert setting in line and "use one like http://127.0.0.1:" in line and "[::1" not in line


def test_news_filters_dates_beside_sources_and_docs_list_fields(tmp_path: Path):
    index = str(tmp_path / "idx")
    rows = [{"id": f"tolls-{i}", "title": f"Bridge tolls update {i}", "outlet": outlet, "published": day,
             "text": f"The Port Elden bridge toll is now {toll} dollars, the transport authority said."}
            for i, (outlet, day, toll) in enumerate((("Elden Gazette", "2025-03-04", 3), ("Coastal Herald", "2025-03-20", 4)))]
    (tmp_path / "tolls.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    run("ingest", str(tmp_path / "tolls.jsonl"), "--index", index)
    listed = {d["id"]: d for d in json.loads(run("docs", "list", "--json", "--index", index).stdout)}
    assert listed["tolls-1"]["published"] == "2025-03-20" and listed["tolls-1"]["outlet"] == "Coastal Herald"
    assert listed["tolls-1"]["story"] == listed["tolls-0"]["story"] == "tolls-0"  # two versions of one story

    question = "What is the Port Elden bridge toll?"
    for flags, doc in ((["--outlet", "elden gazette"], "tolls-0"), (["--since", "2025-03-10"], "tolls-1"),
                       (["--until", "March 10, 2025"], "tolls-0"), (["--as-of", "2025-03-05"], "tolls-0")):
        out = json.loads(run("ask", question, "--json", "--index", index, *flags).stdout)
        assert {p["doc_id"] for p in out["passages"]} == {doc}, flags
    text = run("ask", question, "--index", index, "--outlet", "Coastal Herald").stdout
    assert "(published 2025-03-20, Coastal Herald)" in text
    bad = run("ask", question, "--index", index, "--since", "someday", check=False)
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr
    chat = subprocess.run([sys.executable, "-m", "assistant", "chat", "--index", index, "--since", "2025-03-10"],
                          input=question + "\n\n", capture_output=True, text=True, timeout=180)
    assert "4 dollars" in chat.stdout and "3 dollars" not in chat.stdout
