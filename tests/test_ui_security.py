"""The chat window against an attacker (issue 15): HTML that parses in bounded time, uploads
that never replace another file or write through a link, exports and notes that render no
outside URL, write actions only from the page itself, rate limits per client that a new
session does not reset; then the running server, over raw HTTP and gradio_client: Host
check, no other web origin, body caps, login limits, hidden handlers refused."""
from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import TERRITORY_Q, free_port, start_serve


def request(host: str = "127.0.0.1:7860", origin: str | None = "http://127.0.0.1:7860", client: str = "10.0.0.5",
            user: str | None = None, session: str = "s1") -> SimpleNamespace:
    """What a handler sees of a Gradio request."""
    headers = {"host": host, **({"origin": origin} if origin else {})}
    return SimpleNamespace(headers=headers, client=SimpleNamespace(host=client), username=user, session_hash=session)


@pytest.fixture
def writable(seeded_index: Path, tmp_path: Path):
    from assistant import Assistant

    index = tmp_path / "index"
    shutil.copytree(seeded_index, index)
    return lambda **kw: Assistant(index=index, **kw)


# -- HTML parse --------------------------------------------------------------------------
def test_deep_nesting_is_refused_not_parsed_for_minutes():
    from assistant.core.errors import LoadError
    from assistant.ingest.html_text import MAX_DEPTH, extract_html

    with pytest.raises(LoadError, match="nested"):
        extract_html("<div>x" * (MAX_DEPTH + 10))
    deep = "<section>" * 5000 + "<p hidden>secret</p><p>shown</p>" + "</section>" * 5000
    assert extract_html(deep).text == "shown"  # deep but allowed: same text as before, hidden still hidden


def test_malformed_markup_is_read_once_and_the_budget_holds(monkeypatch):
    from assistant.core.errors import LoadError
    from assistant.ingest import html_text

    # Each of these made the standard parser rescan to the end from every "<" (minutes).
    for unit in ("<a '", "<a", "</ ", "<?"):
        assert html_text.extract_html("<p>ok</p>" + unit * 30000).text.startswith("ok")
    with pytest.raises(LoadError, match="declaration"):
        html_text.extract_html("<![" * 100 + ">")
    monkeypatch.setattr(html_text, "MAX_PARSE_SECONDS", 0.0)
    with pytest.raises(LoadError, match="to parse"):
        html_text.extract_html("<span>x</span>" * 5000)


# -- uploads -------------------------------------------------------------------------------
def test_same_name_uploads_are_kept_apart_and_links_are_never_followed(writable, tmp_path):
    from assistant.serve.ui import UI

    bot = writable()
    ui = UI(bot)
    a, b = tmp_path / "a" / "notes.txt", tmp_path / "b" / "notes.txt"
    for f, text in ((a, "Alpha Report\n\nThe alpha council met on Monday and approved the harbour plan."),
                    (b, "Beta Report\n\nThe beta council met on Friday and rejected the bridge plan.")):
        f.parent.mkdir()
        f.write_text(text, encoding="utf-8")
    ui.upload([str(a)])
    ui.upload([str(b)])
    titles = {d.title for d in bot.documents()}
    assert {"Alpha Report", "Beta Report"} <= titles  # the second notes.txt replaced nothing
    stored = sorted((bot.settings.index_path / "uploads").rglob("notes.txt"))
    assert len(stored) == 2 and {p.read_text()[:5] for p in stored} == {"Alpha", "Beta "}

    # A link planted where the next upload would land: the target outside is untouched.
    outside = tmp_path / "outside.txt"
    outside.write_text("precious", encoding="utf-8")
    c = tmp_path / "c" / "notes.txt"
    c.parent.mkdir()
    c.write_text("Gamma Report\n\nThe gamma council met on Sunday and delayed the tunnel plan.", encoding="utf-8")
    import hashlib

    sub = bot.settings.index_path / "uploads" / hashlib.sha256(c.read_bytes()).hexdigest()[:16]
    sub.mkdir()
    (sub / "notes.txt").symlink_to(outside)
    ui.upload([str(c)])
    assert outside.read_text() == "precious" and not (sub / "notes.txt").is_symlink()
    # A planted link as a whole hash folder is refused, not followed.
    d = tmp_path / "d" / "notes.txt"
    d.parent.mkdir()
    d.write_text("Delta Report\n\nThe delta council met on Tuesday.", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (bot.settings.index_path / "uploads" / hashlib.sha256(d.read_bytes()).hexdigest()[:16]).symlink_to(elsewhere)
    note = ui.upload([str(d)])
    assert "not a plain folder" in note and list(elsewhere.iterdir()) == []


def test_deleting_an_uploaded_article_removes_its_file(writable, tmp_path):
    from assistant.serve.ui import UI

    bot = writable()
    ui = UI(bot)
    f = tmp_path / "orkney.txt"
    f.write_text("Orkney Lighthouse\n\nThe council will hire four lighthouse keepers for Noup Head.", encoding="utf-8")
    ui.upload([str(f)])
    doc = next(d for d in bot.documents() if d.title == "Orkney Lighthouse")
    assert Path(doc.source).is_file()
    note = ui.delete(doc.id)
    assert note.startswith("Deleted “Orkney Lighthouse”") and not Path(doc.source).exists()
    assert len(bot.documents()) == 2  # the seeds stay


# -- what is rendered and exported ----------------------------------------------------------
HOSTILE = ("See ![pixel](http://evil.example/p.png) and <img src=//evil.example/i.png> and //evil.example/x "
           "and [ref][1]\n[1]: http://evil.example/r and [click](https://evil.example/c) www.evil.example "
           "<https://evil.example/auto>")


def test_export_renders_no_outside_link_or_image():
    from markdown_it import MarkdownIt

    from assistant.serve.ui import export_markdown

    turns = [{"question": "Q " + HOSTILE, "answer": {"answer": HOSTILE, "citations": [
        {"n": 1, "title": HOSTILE, "doc_id": "d1", "start": 0, "end": 5, "quote": HOSTILE}]}}]
    text = export_markdown(turns)
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<a " not in html and "<img" not in html and "evil.example" in html  # shown, as text only
    assert "[1]: http" not in text


def test_notes_are_escaped_html_never_markdown(writable):
    from assistant.serve.ui import build

    config = build(writable()).get_config_file()
    kinds = {c["props"].get("elem_id"): c["type"] for c in config["components"]}
    assert kinds["ingest-note"] == "html"  # a Markdown note turned an article's image link into a fetch


# -- write actions, limits, feedback, exports ---------------------------------------------
def test_write_actions_need_the_page_origin_and_a_user_when_login_is_on(writable):
    from assistant.serve.ui import UI

    bot = writable()
    doc = bot.documents()[0]
    ui = UI(bot, login=True)
    for bad in (request(origin=None, user="ann"), request(origin="http://localhost:9999", user="ann"), request(user=None)):
        note = ui.delete(doc.id, bad)
        assert note.startswith("⚠") and doc.id in {d.id for d in bot.documents()}
        assert ui.comment("👍 helpful", "x", [{"question": "q", "answer": {"answer": "a", "citations": []}}],
                          bad)[0].startswith("⚠")
    note = ui.delete(doc.id, request(user="ann"))
    assert note.startswith("Deleted") and doc.id not in {d.id for d in bot.documents()}


def test_question_limit_is_per_client_not_per_session(writable):
    from assistant.serve.ui import UI

    ui = UI(writable(ui_rate_per_min=2))
    prefs = {"generator": "extractive", "top_k": 5, "retrieval": "hybrid", "answer_policy": "refuse"}
    shown = []
    for session in ("s1", "s2", "s3"):  # a new session id each time, one client address
        *_, (chat, *_rest) = ui.respond(TERRITORY_Q, [], prefs, "", request(session=session))
        shown.append(chat[-1]["content"])
    assert "502 square kilometers" in shown[0] and "Too many questions" in shown[2]
    *_, (chat, *_rest) = ui.respond(TERRITORY_Q, [], prefs, "", request(client="10.0.0.6"))
    assert "502 square kilometers" in chat[-1]["content"]  # another client is not affected


def test_feedback_is_capped_in_rate_and_size(writable):
    from assistant.serve.ui import UI

    bot = writable(ui_feedback_per_min=2)
    ui = UI(bot)
    turns = [{"question": "q", "answer": {"answer": "a", "citations": []}}]
    notes = [ui.comment("👍 helpful", "c", turns, request(session=s))[0] for s in ("a", "b", "c")]
    assert notes[:2] == ["Thanks: feedback saved."] * 2 and "Too much feedback" in notes[2]
    path = bot.settings.index_path / "feedback.jsonl"
    assert len(path.read_text().splitlines()) == 2
    full = UI(writable(ui_feedback_max_mb=0.000001))
    assert "ASSISTANT_UI_FEEDBACK_MAX_MB" in full.comment("👍 helpful", "c", turns, request(client="10.9.9.9"))[0]


def test_exports_are_private_and_one_per_session(writable, tmp_path):
    from assistant.serve.ui import UI
    from assistant.serve.uploads import PrivateFiles

    files = PrivateFiles(str(tmp_path))
    ui = UI(writable(), files=files)
    turns = [{"question": "q", "answer": {"answer": "a", "citations": []}}]
    first = Path(ui.export(turns, request()))
    second = Path(ui.export(turns + turns, request()))
    assert (first == second or not first.exists()) and list(second.parent.iterdir()) == [second]
    assert second.read_text().count("## q") == 2  # the newer conversation
    assert stat.S_IMODE(second.stat().st_mode) == 0o600 and stat.S_IMODE(files.root.stat().st_mode) == 0o700
    assert ui.export(turns, request(origin=None)) is None  # not for a client off the page
    ui.forget(request())
    assert not second.exists()
    files.remove()
    assert not files.root.exists()


def test_login_is_rate_limited_per_user(writable):
    from fastapi import HTTPException

    from assistant.serve.ui_access import Limits, login_checker

    check = login_checker(Limits(writable(ui_login_per_min=3).settings), "ann", "right")
    assert [check("ann", "wrong") for _ in range(3)] == [False] * 3
    with pytest.raises(HTTPException) as e:
        check("ann", "right")  # even the right password waits: guessing cannot go on
    assert e.value.status_code == 429
    assert check("bob", "x") is False  # another user name has its own bucket


# -- the running server ------------------------------------------------------------------------
USER, PASSWORD = "ann", "correct horse"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    index = tmp_path_factory.mktemp("uisec") / "index"
    port = free_port()
    proc, url = start_serve(index, port, env={"ASSISTANT_UI_USER": USER, "ASSISTANT_UI_PASSWORD": PASSWORD,
                                               "ASSISTANT_UI_RATE_PER_MIN": "3", "ASSISTANT_UI_LOGIN_PER_MIN": "8"})
    cookie = login(url, USER, PASSWORD)
    assert cookie
    yield SimpleNamespace(url=url, port=port, index=index, cookie=cookie)
    proc.terminate()
    proc.wait(timeout=30)


def login(url: str, user: str, password: str) -> str | None:
    data = f"username={user}&password={password}".encode()
    req = urllib.request.Request(url + "login", data, {"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return "; ".join(c.split(";")[0] for c in r.headers.get_all("set-cookie"))
    except urllib.error.HTTPError as e:
        return str(e.code)


def fetch(url: str, headers: dict[str, str] | None = None, data: bytes | None = None, method: str | None = None):
    req = urllib.request.Request(url, data, headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def raw(port: int, head: bytes, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(head + body)
        return s.recv(4096)


@pytest.mark.slow
def test_host_header_must_name_this_server(server):
    status, _, _ = fetch(server.url, {"Host": f"rebound.example:{server.port}", "Cookie": server.cookie})
    assert status == 400


@pytest.mark.slow
def test_other_local_pages_get_no_cors_and_no_data(server):
    other = "http://localhost:9999"
    status, headers, body = fetch(server.url + "config", {"Origin": other, "Cookie": server.cookie})
    assert status == 403 and not any(k.lower() == "access-control-allow-origin" for k in headers)
    status, headers, _ = fetch(server.url + "gradio_api/queue/join", {
        "Origin": other, "Access-Control-Request-Method": "POST", "Cookie": server.cookie}, method="OPTIONS")
    assert status == 403 and not any(k.lower() == "access-control-allow-origin" for k in headers)
    status, _, _ = fetch(server.url + "config", {"Origin": server.url.rstrip("/"), "Cookie": server.cookie})
    assert status == 200  # the page itself


@pytest.mark.slow
def test_oversized_requests_are_refused_before_they_are_read(server):
    head = (f"POST /gradio_api/queue/join HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: 100000000\r\n\r\n").encode()
    assert b" 413 " in raw(server.port, head, b"{}")
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    head = (f"POST /gradio_api/queue/join HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
            f"Cookie: {server.cookie}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
        s.sendall(head)
        try:
            for _ in range(64):  # 4 MB, more than the 1 MB cap
                s.sendall(chunk)
        except OSError:
            pass
        assert b" 413 " in s.recv(4096)


@pytest.mark.slow
def test_hidden_delete_handler_refused_without_the_page(server):
    url = server.url
    cfg = json.loads(fetch(url + "config", {"Cookie": server.cookie})[2])
    from assistant import Assistant

    def join(value: str, data: list) -> bytes:
        button = next(c["id"] for c in cfg["components"] if c.get("props", {}).get("value") == value)
        fn = next(i for i, d in enumerate(cfg["dependencies"]) if [button, "click"] in [list(t) for t in d["targets"]])
        return json.dumps({"data": data, "fn_index": fn, "session_hash": "attacker", "trigger_id": button,
                           "event_data": None}).encode()

    def run(body: bytes) -> dict:
        status, _, _ = fetch(url + "gradio_api/queue/join", {"Content-Type": "application/json",
                                                             "Cookie": server.cookie}, body)
        assert status == 200
        req = urllib.request.Request(url + "gradio_api/queue/data?session_hash=attacker",
                                     headers={"Cookie": server.cookie})
        with urllib.request.urlopen(req, timeout=60) as r:
            return next(json.loads(line[5:]) for line in r if b"process_completed" in line)

    doc_id = Assistant(index=server.index).documents()[0].id
    # Deleting takes two steps: "Delete document…" asks (it changes nothing), "Yes, delete it" deletes.
    body = join("Yes, delete it", [None])
    # Without the login cookie: refused outright.
    status, _, _ = fetch(url + "gradio_api/queue/join", {"Content-Type": "application/json"}, body)
    assert status == 401
    # Logged in, but not from the page (a script, no Origin): asking is answered, deleting refused.
    assert "cannot be undone" in json.dumps(run(join("Delete document…", [doc_id])))
    assert "own page only" in json.dumps(run(body))
    assert doc_id in {d.id for d in Assistant(index=server.index).documents()}
    # A file upload from anywhere but the page is refused too.
    status, _, _ = fetch(url + "gradio_api/upload", {"Content-Type": "multipart/form-data; boundary=x",
                                                     "Cookie": server.cookie}, b"--x--\r\n")
    assert status == 403


@pytest.mark.slow
def test_ask_api_is_limited_per_client_across_sessions(server):
    from gradio_client import Client

    results = []
    for _ in range(4):  # a new client, so a new session id, each time
        try:
            results.append(Client(server.url, auth=(USER, PASSWORD), verbose=False).predict(TERRITORY_Q, api_name="/ask"))
        except Exception as e:  # gradio_client raises AppError for the refused call
            results.append(str(e))
    assert isinstance(results[0], dict) and any("Too many questions" in str(r) for r in results)


@pytest.mark.slow
def test_no_transcript_or_upload_lands_world_readable_in_tmp(server):
    import tempfile

    mine = [p for p in Path(tempfile.gettempdir()).glob("assistant-ui-*") if p.stat().st_uid == os.getuid()]
    assert mine and all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in mine)


@pytest.mark.slow
def test_login_guessing_is_rate_limited(server):
    codes = [login(server.url, USER, f"guess-{i}") for i in range(12)]
    assert "429" in codes and codes[0] == "400"


def test_conversations_are_private_to_each_user_and_saved_only_from_the_page(writable):
    from assistant.serve.ui import UI

    ui = UI(writable(), login=True)
    prefs = {"generator": "extractive", "top_k": 5, "retrieval": "hybrid", "answer_policy": "refuse"}
    *_, (_, _, _, turns, cid) = ui.respond(TERRITORY_Q, [], prefs, "", request(user="ann"))
    assert cid and ui.open(None, request(user="ann")) == (cid, turns)
    assert ui.conversations(request(user="bob")) == [] and ui.open(cid, request(user="bob")) == ("", [])
    assert ui.open(cid, request(user=None)) == ("", [])  # not logged in: nothing
    assert ui.rename(cid, "mine now", request(user="bob")).startswith("Ask a question first")
    assert ui.delete_conversation(cid, request(user="bob")) == "Nothing to delete."
    assert ui.delete_conversation(cid, request(origin=None, user="ann")).startswith("⚠")  # a script, not the page
    # A client off the page may ask (reading), but nothing it asks is saved.
    *_, (_, _, _, _, other) = ui.respond(TERRITORY_Q, [], prefs, "", request(origin=None, user="carl"))
    assert other == "" and ui.conversations(request(user="carl")) == []
    assert ui.conversations(request(user="ann"))[0][1] == cid


# -- issue 25 ---------------------------------------------------------------------------------
BAD = "Who \ud800 leads the council?"


def test_lone_surrogates_get_a_plain_message_everywhere(writable):
    """Text a client sends through Gradio's JSON may hold a lone surrogate: each entry answers
    with a plain message (never echoing it, never a traceback) and stores nothing."""
    from assistant.serve.ui import UI

    ui = UI(writable(), login=True)
    prefs = {"generator": "extractive", "top_k": 5, "retrieval": "hybrid", "answer_policy": "refuse"}
    ann = request(user="ann")
    *_, (chat, _, box, turns, cid) = ui.respond(BAD, [], prefs, "", ann)
    assert "invalid Unicode" in chat[-1]["content"] and "\ud800" not in "".join(m["content"] for m in chat)
    assert turns == [] and cid == "" and ui.conversations(ann) == []
    *_, (chat, _, _, turns, _) = ui.respond("Who leads?", [], prefs, "", ann,
                                            {"since": "2025-01-01", "until": "2025\udc00-12-31", "outlet": None})
    assert "invalid Unicode" in chat[-1]["content"] and turns == []
    assert "invalid Unicode" in ui.timeline("the \udfff ceasefire", "", "", "", ann)
    assert "invalid Unicode" in ui.timeline("the ceasefire", "", "", "Reu\ud83dters", ann)
    *_, (_, _, _, turns, cid) = ui.respond(TERRITORY_Q, [], prefs, "", ann)
    assert "invalid Unicode" in ui.rename(cid, "mine \ud800", ann)
    assert ui.conversations(ann)[0][0].startswith(TERRITORY_Q[:20])  # the title is unchanged
    note, _ = ui.comment("Helpful", "great \udc00", turns, ann)
    assert "invalid Unicode" in note and not (ui.bot.settings.index_path / "feedback.jsonl").exists()


def test_upload_names_keep_their_type_and_fit_the_file_system():
    from assistant.ingest.load import suffix_of
    from assistant.serve.ui import safe_upload_name

    for name, suffix in (("a" * 300 + ".jsonl", ".jsonl"), ("é" * 200 + ".md", ".md"),
                         ("b" * 300 + ".warc.gz", ".warc.gz"), ("x\ud800y.txt", ".txt")):
        got = safe_upload_name(name)
        assert suffix_of(Path(got)) == suffix and len(got) <= 120 and len(got.encode("utf-8")) <= 200, got
        got.encode("utf-8")  # no lone surrogate left


def test_history_uploads_and_a_new_index_are_private(writable, tmp_path):
    from assistant import Assistant
    from assistant.serve.ui import UI

    bot = writable()
    ui = UI(bot)
    f = tmp_path / "orkney.txt"
    f.write_text("Orkney Lighthouse\n\nThe council will hire four lighthouse keepers for Noup Head.", encoding="utf-8")
    ui.upload([str(f)])
    (stored,) = (bot.settings.index_path / "uploads").rglob("orkney.txt")
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert {stat.S_IMODE(p.stat().st_mode) for p in (stored.parent, stored.parent.parent)} == {0o700}
    assert stat.S_IMODE((bot.settings.index_path / "ui_history.sqlite3").stat().st_mode) == 0o600
    fresh = Assistant(index=tmp_path / "new" / "index")
    fresh.ingest([f])
    assert stat.S_IMODE((tmp_path / "new" / "index").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new" / "index" / "chroma.sqlite3").stat().st_mode) == 0o600


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    """A UI server without login, 2 login attempts a minute per client address, no trusted proxy."""
    index = tmp_path_factory.mktemp("uiproxy") / "index"
    port = free_port()
    proc, url = start_serve(index, port, env={"ASSISTANT_UI_LOGIN_PER_MIN": "2"})
    yield SimpleNamespace(url=url, port=port, index=index)
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.slow
def test_forwarded_for_does_not_pick_a_fresh_bucket(open_server):
    codes = [fetch(open_server.url + "login", {"Content-Type": "application/x-www-form-urlencoded",
                                                "X-Forwarded-For": f"203.0.113.{i}"},
                   f"username=u{i}&password=p".encode())[0] for i in range(3)]
    assert codes[-1] == 429, codes


@pytest.mark.slow
def test_ui_host_header_must_be_there_once(open_server):
    good = f"Host: 127.0.0.1:{open_server.port}\r\n".encode()
    for head in (b"GET /config HTTP/1.1\r\nHost: rebound.example\r\n" + good + b"\r\n",
                 b"GET /config HTTP/1.1\r\n" + good + b"Host: rebound.example\r\n\r\n",
                 b"GET /config HTTP/1.0\r\n\r\n"):
        assert raw(open_server.port, head).split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), head


@pytest.mark.slow
def test_index_made_by_serve_is_private(open_server):
    index = open_server.index
    assert stat.S_IMODE(index.stat().st_mode) == 0o700
    loose = [p for p in index.rglob("*") if not p.is_symlink() and stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []
