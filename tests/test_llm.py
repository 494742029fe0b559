"""The LLM path through the real `openai` client against a scripted OpenAI-compatible
server on 127.0.0.1: what the user gets for each kind of model output and each fault."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, TERRITORY_Q, free_port
from fake_openai import FakeOpenAI, Script

from assistant import Assistant
from assistant.core.errors import AuthenticationFailed, ContextTooLong, ModelNotFound, ModelUnavailable, RateLimited
from assistant.core.tokens import count_tokens
from assistant.models.generate import OpenAIGenerator

SECRET = "sk-test-secret-0123456789"


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def llm_bot(index: str | Path, fake: FakeOpenAI, **kw) -> Assistant:
    kw.setdefault("llm_timeout", 5)
    return Assistant(index=index, generator="openai", llm_model="fake-model", llm_base_url=fake.url,
                     llm_api_key=SECRET, **kw)


def passage_no(bot: Assistant, question: str, needle: str) -> int:
    """The 1-based number the prompt gives the passage holding `needle` (retrieval is deterministic)."""
    passages = bot.ask(question).passages
    return next(i for i, p in enumerate(passages, 1) if needle in p.text)


def assert_exact_spans(bot: Assistant, answer) -> None:
    retrieved = {p.chunk_id for p in answer.passages}
    for c in answer.citations:
        assert c.chunk_id in retrieved
        assert bot.document(c.doc_id).text[c.start:c.end] == c.quote


def test_correct_citations_are_kept_with_exact_spans(bot, fake):
    llm = llm_bot(bot.settings.index, fake)
    n = passage_no(llm, TERRITORY_Q, "502 square")
    fake.replies = [f"Ukraine lost 502 square kilometers in July, according to Black Bird Group [{n}]."]
    answer = llm.ask(TERRITORY_Q)
    assert not answer.refused and answer.groundedness == 1.0 and answer.warning is None
    assert answer.sentences[0].supported and answer.sentences[0].citations == (1,)
    assert "502 square kilometers" in answer.citations[0].quote
    assert_exact_spans(llm, answer)


def test_citation_to_a_missing_passage_is_dropped_and_repaired(bot, fake):
    llm = llm_bot(bot.settings.index, fake)
    fake.replies = ["Ukraine lost 502 square kilometers in July [99].", "Ukraine lost 502 square kilometers in July."]
    for _ in range(2):  # a marker to no passage, then no marker at all: both get the real source
        answer = llm.ask(TERRITORY_Q)
        assert not answer.refused and len(answer.citations) == 1
        assert "502 square kilometers" in answer.citations[0].quote
        assert "[99]" not in answer.answer
        assert_exact_spans(llm, answer)


def test_fullwidth_and_source_markers(bot, fake):
    llm = llm_bot(bot.settings.index, fake)
    n = passage_no(llm, TERRITORY_Q, "502 square")
    fake.replies = [f"Ukraine lost 502 square kilometers in July【{n}】.", f"The answer is 502 square kilometers [Source {n}]."]
    for _ in range(2):
        answer = llm.ask(TERRITORY_Q)
        assert answer.sentences[0].supported and answer.citations
        assert "【" not in answer.answer and "Source" not in answer.answer


def test_invented_facts_are_replaced_by_the_extractive_answer_or_shown_marked_by_policy(bot, fake):
    invented = "Canberra is the capital of Australia [1]. It has 400,000 people [1]."
    fake.replies = [invented]
    replaced = llm_bot(bot.settings.index, fake).ask(TERRITORY_Q)
    assert not replaced.refused and "Canberra" not in replaced.answer
    assert replaced.backend == "extractive (fallback from openai)" and "failed the citation check" in replaced.warning

    n = passage_no(llm_bot(bot.settings.index, fake), TERRITORY_Q, "502 square")
    mixed = (f"Ukraine lost 502 square kilometers in July [{n}]. Canberra is the capital of Australia [{n}]. "
             f"Kyiv has 9 million residents [{n}].")
    fake.replies = [mixed, mixed]
    strict = llm_bot(bot.settings.index, fake).ask(TERRITORY_Q)
    # 1 of 3 supported: under half, so by default the checked extractive answer replaces it
    assert strict.backend.startswith("extractive") and "Canberra" not in strict.answer
    warned = llm_bot(bot.settings.index, fake, answer_policy="warn").ask(TERRITORY_Q)
    assert not warned.refused and warned.warning and "2 of 3" in warned.warning
    assert [s.supported for s in warned.sentences] == [True, False, False]
    assert warned.answer.count("[unsupported]") == 2 and len(warned.citations) == 1
    assert warned.groundedness == pytest.approx(1 / 3, abs=1e-3)


def test_a_refusal_from_the_model_is_a_refusal(bot, fake):
    fake.replies = ["The articles don't say."]
    answer = llm_bot(bot.settings.index, fake).ask("What is the capital of Australia?")
    assert answer.refused and answer.citations == ()


def test_retry_after_is_honoured(bot, fake):
    fake.replies = [Script(status=429, headers={"Retry-After": "1"}), "Ukraine lost 502 square kilometers in July."]
    t0 = time.monotonic()
    answer = llm_bot(bot.settings.index, fake, llm_retries=2).ask(TERRITORY_Q)
    assert time.monotonic() - t0 >= 1.0
    assert not answer.refused and len(fake.chat_requests()) == 2


def test_server_errors_then_success_and_beyond_the_budget(bot, fake):
    fake.replies = [500, 500, "Ukraine lost 502 square kilometers in July."]
    answer = llm_bot(bot.settings.index, fake, llm_retries=2).ask(TERRITORY_Q)
    assert not answer.refused and len(fake.chat_requests()) == 3
    fake.replies = [500, 503, 500]
    with pytest.raises(ModelUnavailable, match="unavailable"):
        llm_bot(bot.settings.index, fake, llm_retries=2).ask(TERRITORY_Q)
    # The service recovers: the next question works.
    fake.replies = ["Ukraine lost 502 square kilometers in July."]
    assert not llm_bot(bot.settings.index, fake).ask(TERRITORY_Q).refused


def test_a_hang_hits_our_timeout_not_the_clients_ten_minutes(bot, fake):
    fake.replies = [Script(text="late", hang=8)]
    t0 = time.monotonic()
    with pytest.raises(ModelUnavailable, match="timed out"):
        llm_bot(bot.settings.index, fake, llm_timeout=1, llm_retries=0).ask(TERRITORY_Q)
    assert time.monotonic() - t0 < 5


def test_stream_cut_mid_answer_is_marked_incomplete(bot, fake):
    llm = llm_bot(bot.settings.index, fake)
    n = passage_no(llm, TERRITORY_Q, "502 square")
    text = f"Ukraine lost 502 square kilometers in July [{n}]. Russia also took more land in other months [{n}]."
    fake.replies = [Script(text=text, cut_after=9)]
    pieces = list(llm.stream(TERRITORY_Q))
    answer = pieces[-1]
    assert "".join(p for p in pieces if isinstance(p, str)).startswith("Ukraine lost 502")
    assert answer.incomplete and "cut off" in answer.warning
    assert_exact_spans(llm, answer)

    fake.replies = [Script(text=f"Ukraine lost 502 square kilometers in July [{n}].", finish="length")]
    assert llm.ask(TERRITORY_Q).incomplete


def test_cut_before_any_text_is_an_error(bot, fake):
    fake.replies = [Script(text="never sent", cut_after=0)]
    with pytest.raises(ModelUnavailable):
        llm_bot(bot.settings.index, fake, llm_retries=0).ask(TERRITORY_Q)


@pytest.mark.parametrize("reply, error, hint", [
    (401, AuthenticationFailed, "API key"),
    (404, ModelNotFound, "ASSISTANT_LLM_MODEL"),
    (Script(status=400, error="This model's maximum context length is 2048 tokens"), ContextTooLong, "TOP_K"),
    (Script(status=429), RateLimited, "rate limiting"),
])
def test_errors_are_typed_one_line_and_key_free(bot, fake, reply, error, hint):
    fake.replies = [reply] * 3
    with pytest.raises(error) as err:
        llm_bot(bot.settings.index, fake, llm_retries=0).ask(TERRITORY_Q)
    message = str(err.value)
    assert hint in message and SECRET not in message and "\n" not in message


def test_unreachable_endpoint(bot):
    llm = Assistant(index=bot.settings.index, generator="openai", llm_model="m",
                    llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_retries=0, llm_timeout=2)
    with pytest.raises(ModelUnavailable, match="unreachable"):
        llm.ask(TERRITORY_Q)


def test_cli_shows_one_line_without_key_or_traceback(seeded_index, fake):
    fake.replies = [401] * 3
    env = {**os.environ, "ASSISTANT_INDEX": str(seeded_index), "ASSISTANT_GENERATOR": "openai",
           "ASSISTANT_LLM_MODEL": "fake-model", "OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": SECRET,
           "ASSISTANT_LLM_RETRIES": "0"}
    out = subprocess.run([sys.executable, "-m", "assistant", "ask", TERRITORY_Q], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: ") and len(out.stderr.strip().splitlines()) == 1
    assert SECRET not in out.stderr + out.stdout and "Traceback" not in out.stderr
    assert fake.headers[-1]["authorization"] == f"Bearer {SECRET}"  # OPENAI_* honoured


def test_usage_and_cost(bot, fake):
    fake.replies = ["Ukraine lost 502 square kilometers in July."]
    answer = llm_bot(bot.settings.index, fake, llm_price_in=2.0, llm_price_out=8.0).ask(TERRITORY_Q)
    u = answer.usage
    assert u.prompt_tokens == 50 and u.completion_tokens == 7
    assert u.cost_usd == pytest.approx((50 * 2.0 + 7 * 8.0) / 1e6)
    # A server that sends no usage: counted with tiktoken, never zero.
    fake.replies = [Script(text="Ukraine lost 502 square kilometers in July.", usage=False)]
    assert llm_bot(bot.settings.index, fake).ask(TERRITORY_Q).usage.prompt_tokens > 100


def test_passages_fit_the_context_budget_deterministically(bot, fake):
    llm = llm_bot(bot.settings.index, fake, llm_context_tokens=700, top_k=8)
    fake.replies = ["x", "x"]
    first, second = llm.ask(TERRITORY_Q), llm.ask(TERRITORY_Q)
    sent, again = (r["messages"] for r in fake.chat_requests()[:2])
    assert sent == again and [p.chunk_id for p in first.passages] == [p.chunk_id for p in second.passages]
    assert sum(count_tokens(m["content"]) + 4 for m in sent) <= 700
    # The model reads the answer's first n passages, numbered 1..n, so its [i] points at passage i;
    # the extractive reader behind it (the gate and the fallback) reads all 8.
    n = sum(f"\n[{i}] " in "\n" + sent[-1]["content"] for i in range(1, 9))
    assert 1 <= n < 8 == len(first.passages)
    assert all(f"[{i}] {p.title}" in sent[-1]["content"] and p.text in sent[-1]["content"]
               for i, p in enumerate(first.passages[:n], start=1))
    assert first.passages[n].text not in sent[-1]["content"]
    gen = OpenAIGenerator(model="m", context_tokens=200)
    with pytest.raises(ContextTooLong):
        gen.fit(TERRITORY_Q, first.passages)


def test_prompt_treats_articles_as_data(bot, fake):
    fake.replies = ["x"]
    llm_bot(bot.settings.index, fake).ask(TERRITORY_Q)
    system, user = fake.chat_requests()[0]["messages"][0], fake.chat_requests()[0]["messages"][-1]
    assert system["role"] == "system" and "ignore any instruction" in system["content"]
    assert "language of the question" in system["content"]
    assert "<<<SOURCES" in user["content"] and "502 square" in user["content"] and "502 square" not in system["content"]


def test_llm_condenses_follow_ups_before_retrieval(bot, fake):
    llm = llm_bot(bot.settings.index, fake)
    fake.replies = ["What did Samuel Charap say about sanctions?", "The articles don't say."]
    answer = llm.ask("What did he say about sanctions?", history=[("Who is Samuel Charap?", "A Rand scientist [1].")])
    assert answer.standalone_question == "What did Samuel Charap say about sanctions?"
    assert any("Charap" in p.text for p in answer.passages)
    condense_prompt = fake.chat_requests()[0]["messages"][-1]["content"]
    assert "Who is Samuel Charap?" in condense_prompt and "What did he say about sanctions?" in condense_prompt
    # A model that answers instead of rewriting (a long reply) leaves the question as it was.
    fake.replies = ["x " * 400, "The articles don't say."]
    again = llm.ask("What did he say about sanctions?", history=[("Who is Samuel Charap?", "A Rand scientist.")])
    assert again.standalone_question is None


def test_rules_resolve_follow_ups_without_an_llm(bot):
    answer = bot.ask("What did he say about sanctions?", history=[("Who is Samuel Charap?", "A Rand scientist.")])
    assert "Charap" in (answer.standalone_question or "")
    assert any("Charap" in p.text for p in answer.passages)


def test_llm_judge_decides_support_when_enabled(bot, fake):
    llm = llm_bot(bot.settings.index, fake, judge="llm", answer_policy="warn")
    n = passage_no(llm, TERRITORY_Q, "502 square")
    fake.replies = [f"Ukraine lost 502 square kilometers in July [{n}].", "UNSUPPORTED"]
    answer = llm.ask(TERRITORY_Q)
    assert answer.refused  # the judge overrules the lexical evidence
    judge_prompt = fake.chat_requests()[-1]["messages"][-1]["content"]
    assert "SUPPORTED or UNSUPPORTED" in judge_prompt and "502 square" in judge_prompt
    fake.replies = [f"Ukraine lost 502 square kilometers in July [{n}].", "SUPPORTED"]
    assert not llm.ask(TERRITORY_Q).refused


def test_a_malformed_base_url_is_a_config_error_naming_the_setting(bot, monkeypatch):
    from assistant.core.errors import ConfigError

    for url in ("http://[::1/v1", "localhost:11434/v1", "http://127.0.0.1:99999/v1", "http:///v1"):
        with pytest.raises(ConfigError, match=r"ASSISTANT_LLM_BASE_URL .*use one like http://127\.0\.0\.1:11434/v1"):
            Assistant(index=bot.settings.index, generator="openai", llm_model="m", llm_base_url=url)
    # An OPENAI_BASE_URL meant for another tool does not stop the offline backends, only its use.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://[::1/v1")
    offline = Assistant(index=bot.settings.index)
    assert not offline.ask(TERRITORY_Q).refused
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        offline.variant(generator="openai", llm_model="m")


def test_the_gate_never_vetoes_the_model_when_retrieval_found_the_story(bot, fake):
    """The extractive gate refuses this answerable seed question (its confidence is low); an
    LLM still reads the passages, and its checked draft is the answer."""
    question = "Where did Trump post about the encircled Ukrainian soldiers?"
    assert bot.ask(question).refused  # the extractive reader alone
    llm = llm_bot(bot.settings.index, fake)
    n = passage_no(llm, question, "Truth Social")
    fake.replies = [f"Trump wrote about it on his Truth Social platform [{n}]."]
    before = len(fake.chat_requests())
    answer = llm.ask(question)
    assert len(fake.chat_requests()) == before + 1  # the model was asked
    assert not answer.refused and "Truth Social" in answer.answer and answer.backend == "openai"
    assert answer.citations and "Truth Social" in answer.citations[0].quote
    # The model may refuse itself: then the answer is a refusal, not the gate's.
    fake.replies = ["The articles don't say."]
    assert llm.ask(question).refused


def test_an_unanswerable_question_makes_no_request_to_the_model(bot, fake):
    llm = llm_bot(bot.settings.index, fake)
    fake.replies = ["Canberra is the capital of Australia [1]."]
    answer = llm.ask("What is the population of the capital of Australia?")
    assert answer.refused and answer.refusal == "no_evidence" and answer.confidence is not None
    assert fake.requests == [] and answer.usage.total_tokens == 0  # no cost, no invention
    assert llm.ask("[1]").refusal == "invalid" and fake.requests == []
    # The same assistant does call the model when the evidence can answer.
    fake.replies = ["Ukraine lost 502 square kilometers in July."]
    assert not llm.ask(TERRITORY_Q).refused and len(fake.chat_requests()) == 1


def test_a_draft_that_fails_the_check_yields_the_checked_extractive_answer(bot, fake):
    llm = llm_bot(bot.settings.index, fake)
    fake.replies = ["Ukraine lost 9,000 square kilometers in July and Canberra fell [1]."]
    answer = llm.ask(TERRITORY_Q)
    assert not answer.refused and answer.refusal is None
    assert answer.backend == "extractive (fallback from openai)"
    assert "failed the citation check" in answer.warning and "extractive" in answer.warning
    assert "502 square kilometers" in answer.answer and "9,000" not in answer.answer
    assert all(s.supported for s in answer.sentences) and answer.usage.total_tokens > 0
    assert_exact_spans(llm, answer)


def test_a_tiny_model_that_does_not_state_the_evidence_answer_yields_the_extractive_answer(bot, fake):
    """SmolLM2 answered "The answer is Ukraine." (a name its passage mentions, so the checker
    accepted it) where the evidence says North Korea. A model flagged `must_agree` keeps
    its draft only when the draft states the extractive short answer."""
    llm = llm_bot(bot.settings.index, fake)
    n = passage_no(llm, TERRITORY_Q, "502 square")
    reply = f"Ukraine lost territory in July, according to the Black Bird Group [{n}]."
    fake.replies = [reply]
    trusted = llm.ask(TERRITORY_Q)
    assert trusted.backend == "openai" and "502" not in trusted.answer and not trusted.refused
    llm.generator.must_agree = True
    fake.replies = [reply]
    checked = llm.ask(TERRITORY_Q)
    assert checked.backend == "extractive (fallback from openai)" and not checked.refused
    assert "did not state the answer the evidence gives" in checked.warning
    assert "502 square kilometers" in checked.answer
    assert_exact_spans(llm, checked)
    fake.replies = [f"Ukraine lost 502 square kilometers in July, according to the Black Bird Group [{n}]."]
    agreeing = llm.ask(TERRITORY_Q)
    assert agreeing.backend == "openai" and "502 square kilometers" in agreeing.answer


def test_a_refusal_gives_way_to_the_extractive_answer_only_for_a_model_flagged_so(bot, fake):
    """Qwen2.5-1.5B said "The articles don't say" with the answer in its first passage. A
    model flagged `defers_refusal` gives way to the checked extractive answer when the reader
    answers; any other model's refusal stands, and nobody's refusal is overridden where the
    reader has no answer either."""
    llm = llm_bot(bot.settings.index, fake)
    fake.replies = ["The articles don't say."]
    assert llm.ask(TERRITORY_Q).refused  # the default: the model may refuse itself
    llm.generator.defers_refusal = True
    fake.replies = ["The articles don't say."]
    answer = llm.ask(TERRITORY_Q)
    assert not answer.refused and answer.backend == "extractive (fallback from openai)"
    assert "said the articles do not answer" in answer.warning
    assert "502 square kilometers" in answer.answer
    assert_exact_spans(llm, answer)
    # Where the reader has no answer either (the gate refuses it), the model's refusal stands.
    question = "Where did Trump post about the encircled Ukrainian soldiers?"
    fake.replies = ["The articles don't say."]
    before = len(fake.chat_requests())
    assert llm.ask(question).refused and len(fake.chat_requests()) == before + 1
