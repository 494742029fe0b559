"""The Gradio app, launched as `assistant serve` and driven through gradio_client."""
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import SEEDS, TERRITORY_Q, free_port


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory):
    index = tmp_path_factory.mktemp("ui") / "index"
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--index", str(index), "--seed", str(SEEDS),
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"serve exited: {proc.stderr.read()[-2000:]}")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("serve did not start")
    yield url, index
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.slow
def test_ui_seeds_empty_index_and_api_matches_cli_json(ui):
    from gradio_client import Client

    url, index = ui
    page = urllib.request.urlopen(url, timeout=10).read().decode()
    assert "<!doctype html>" in page.lower() and "gradio" in page.lower()
    got = Client(url, verbose=False).predict(TERRITORY_Q, api_name="/ask")
    cli = json.loads(subprocess.run([sys.executable, "-m", "assistant", "ask", TERRITORY_Q, "--json", "--index", str(index)],
                                    capture_output=True, text=True, check=True, timeout=120).stdout)
    assert set(got) == set(cli)
    for item in cli["citations"] + cli["passages"]:  # the UI shows no server path: a file's name
        assert item["source"].startswith("/")
        item["source"] = Path(item["source"]).name
    for key in ("answer", "refused", "citations", "sentences", "passages"):
        assert got[key] == cli[key]
    assert all("/" not in item["source"] for item in got["citations"] + got["passages"])
    assert "502 square kilometers" in got["answer"]


@pytest.mark.slow
def test_ui_binds_loopback_only(ui):
    url, _ = ui
    assert url.startswith("http://127.0.0.1:")
    import socket
    port = int(url.rsplit(":", 1)[1].strip("/"))
    addrs = [a for a in {i[4][0] for i in socket.getaddrinfo(socket.gethostname(), None)} if not a.startswith("127.")]
    for addr in addrs[:1]:
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex((addr, port)) != 0


def test_ui_shows_model_errors_as_one_escaped_line(seeded_index):
    from assistant import Assistant
    from assistant.serve.ui import UI

    secret = "sk-ui-secret-123"
    bot = Assistant(index=seeded_index, generator="openai", llm_model="m", llm_api_key=secret,
                    llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_retries=0, llm_timeout=2)
    ui = UI(bot)
    prefs = {"generator": "openai", "top_k": 5, "retrieval": "hybrid", "answer_policy": "refuse"}
    *_, (chat, sources, box, turns, cid) = ui.respond("<b>How much territory?</b>", [], prefs)
    shown = chat[-1]["content"]
    assert "unreachable" in shown and secret not in shown and "Traceback" not in shown
    assert chat[0]["content"] == "&lt;b&gt;How much territory?&lt;/b&gt;" and turns == [] and cid == ""


def test_upload_names_cannot_escape_the_uploads_folder():
    from assistant.serve.ui import safe_upload_name

    assert safe_upload_name("../../etc/passwd") == "passwd"
    assert safe_upload_name("..\\..\\evil.txt") == "evil.txt"
    assert safe_upload_name("a" * 9000 + ".txt").endswith(".txt") and len(safe_upload_name("a" * 9000 + ".txt")) <= 120
    assert safe_upload_name("..") == "upload" and "\x00" not in safe_upload_name("x\x00y.txt")


def test_plain_text_and_sources_of_each_answer(seeded_index):
    from assistant import Assistant
    from assistant.serve.openai_format import answer_object
    from assistant.serve.ui_render import plain_text, render_answer, render_sources

    bot = Assistant(index=seeded_index)
    first, second = (answer_object(bot.ask(q)) for q in (TERRITORY_Q, "Who is Samuel Charap?"))
    text = plain_text(first)
    assert "502 square kilometers" in text and "[1]" in text and "<" not in text
    assert all(f"[{c['n']}] “{c['quote']}”" in text for c in first["citations"])
    html = render_answer(first, 0)
    assert "href='#source-0-1'" in html and "class='plain-text'" in html
    panel = render_sources([{"question": TERRITORY_Q, "answer": first}, {"question": "Who?", "answer": second}])
    assert "id='source-0-1'" in panel and "id='source-1-1'" in panel
    assert "source-group hidden-group' id='answer-sources-0'" in panel  # only the newest answer's group shows
    assert "fused" not in panel and "/seeds/" not in panel and str(seeded_index) not in panel


def test_settings_name_each_backend_state_and_refuse_an_unusable_one(seeded_index):
    from fake_openai import FakeOpenAI

    from assistant import Assistant
    from assistant.serve.ui import UI

    plain = UI(Assistant(index=seeded_index))
    states = plain.backend_states()
    assert states["extractive"].startswith("ready") and states["openai"].startswith("not configured")
    assert states["local"].startswith("ready") or "make local-llm" in states["local"]
    old = {"generator": "extractive", "top_k": 5, "retrieval": "hybrid", "answer_policy": "refuse"}
    prefs, note = plain.set_prefs("openai", 5, "hybrid", "refuse", old)
    assert prefs == old and "not configured" in note
    down = UI(Assistant(index=seeded_index, llm_model="m", llm_base_url=f"http://127.0.0.1:{free_port()}/v1"))
    assert down.backend_states()["openai"].startswith("endpoint down")
    with FakeOpenAI() as fake:
        up = UI(Assistant(index=seeded_index, llm_model="fake-model", llm_base_url=fake.url, llm_api_key="sk-x"))
        assert up.backend_states()["openai"] == "ready: fake-model"
        prefs, note = up.set_prefs("openai", 3, "bm25", "warn", old)
        assert prefs == {"generator": "openai", "top_k": 3, "retrieval": "bm25", "answer_policy": "warn"}
