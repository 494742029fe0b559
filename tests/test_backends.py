"""Backends over real servers on 127.0.0.1: `chroma run`, and an OpenAI-compatible HTTP server."""
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import SEEDS, TERRITORY_Q, free_port
from fake_openai import FakeOpenAI

from assistant import Assistant
from assistant.core.errors import ModelUnavailable, StoreUnavailable


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    proc = subprocess.Popen([chroma, "run", "--path", str(tmp_path_factory.mktemp("chroma")), "--port", str(port),
                             "--host", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma run did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.slow
def test_chroma_server_backend(chroma_server: str, tmp_path: Path):
    bot = Assistant(index=tmp_path / "cache", chroma_url=chroma_server, collection="server-test")
    assert len(bot.ingest([SEEDS]).added) == 2
    answer = bot.ask(TERRITORY_Q)
    assert "502 square kilometers" in answer.answer
    c = answer.citations[0]
    assert bot.document(c.doc_id).text[c.start:c.end] == c.quote
    again = Assistant(index=tmp_path / "other-cache", chroma_url=chroma_server, collection="server-test")
    assert again.ingest([SEEDS]).added == () and again.ask(TERRITORY_Q).answer == answer.answer
    assert not (tmp_path / "cache" / "chroma.sqlite3").exists()  # data lives on the server


def test_unreachable_chroma_server_is_a_clear_error(tmp_path: Path):
    with pytest.raises(StoreUnavailable, match="chroma run"):
        Assistant(index=tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}").documents()


def test_openai_generator_answers_are_checked(bot: Assistant):
    with FakeOpenAI() as fake:
        llm = Assistant(index=bot.settings.index, generator="openai", llm_model="fake-model", llm_base_url=fake.url,
                        llm_api_key="sk-test-secret")
        passages = llm.ask(TERRITORY_Q).passages  # default fake reply: a refusal
        n = next(i for i, p in enumerate(passages, 1) if "502 square" in p.text)
        fake.replies = [f"Ukraine lost 502 square kilometers in July [{n}]. Canberra is the capital of Australia [{n}].",
                        "Paris is the capital of France [1].", "The answer is 502 square kilometers【99】."]
        answer = llm.ask(TERRITORY_Q)
        assert not answer.refused and answer.backend == "openai" and answer.model == "fake-model"
        assert [s.supported for s in answer.sentences] == [True, False]
        assert answer.groundedness == 0.5 and len(answer.citations) == 1
        c = answer.citations[0]
        assert "502 square kilometers" in c.quote and llm.document(c.doc_id).text[c.start:c.end] == c.quote
        assert answer.usage.total_tokens > 0
        fallback = llm.ask(TERRITORY_Q)  # invented, unsupported draft -> the checked extractive answer, marked
        assert "Paris" not in fallback.answer and fallback.backend.startswith("extractive (fallback")
        assert fallback.warning and all(s.supported for s in fallback.sentences if s.citations)
        attached = llm.ask(TERRITORY_Q)  # citation to a passage that does not exist is dropped, then re-attached
        assert attached.citations and all(c.quote in llm.document(c.doc_id).text for c in attached.citations)
        sent = fake.requests[1]
        assert sent["model"] == "fake-model" and sent["stream"] is True
        assert "502 square kilometers" in sent["messages"][-1]["content"]
        assert fake.headers[1]["authorization"] == "Bearer sk-test-secret"


def test_openai_generator_errors_are_typed_and_key_free(bot: Assistant):
    with FakeOpenAI() as fake:
        fake.replies = [500, 500, 500]
        llm = Assistant(index=bot.settings.index, generator="openai", llm_model="m", llm_base_url=fake.url,
                        llm_api_key="sk-secret-value", llm_retries=1, llm_timeout=5)
        with pytest.raises(ModelUnavailable) as err:
            llm.ask(TERRITORY_Q)
        assert "sk-secret-value" not in str(err.value) and "unavailable" in str(err.value)
        assert len(fake.requests) == 2  # one try + one retry


def test_openai_embedder_builds_its_own_index(tmp_path: Path):
    with FakeOpenAI() as fake:
        bot = Assistant(index=tmp_path / "idx", embedder="openai:fake-embed", embed_base_url=fake.url)
        assert len(bot.ingest([SEEDS]).added) == 2
        assert any(r["path"].endswith("/embeddings") and r["model"] == "fake-embed" for r in fake.requests)
        assert "502 square kilometers" in bot.ask(TERRITORY_Q).answer
