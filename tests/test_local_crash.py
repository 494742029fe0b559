"""A local LLM server that crashes (llama.cpp built for another CPU dies with SIGSEGV on its
first completion): restarted once, then a typed error that names the signal and the fix.

The stand-in is a real process: a `llama_cpp` package put first on the path of this process
and its children, so the app runs its own `python -m llama_cpp.server --model ... --port N`
command line. It serves `FakeOpenAI` on that port and kills itself with SIGSEGV on a chat
completion. The model file's text is the crash mode: `always`, `once` or `mid` (mid-answer,
the first time). Each start appends a line to `starts` next to the model file."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, TERRITORY_Q

from assistant import Assistant
from assistant.core import errors
from assistant.models.local_llm import LocalLLMServer

TESTS = Path(__file__).resolve().parent
SENTENCE = "Ukraine lost 502 square kilometers in July."
LOG_LINE = "ggml_cpu: about to run a kernel"

STANDIN = f'''
import faulthandler, os, resource, signal, sys, threading, time
from pathlib import Path
from fake_openai import FakeOpenAI, Script, _QuietServer

faulthandler.disable()  # die the way llama.cpp does, without a Python traceback
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
args = sys.argv[1:]
port, model = int(args[args.index("--port") + 1]), Path(args[args.index("--model") + 1])
mode, crashed = model.read_text().strip(), model.parent / "crashed"
with open(model.parent / "starts", "a") as f:
    f.write(f"{{os.getpid()}}\\n")


def die():
    print({LOG_LINE!r}, flush=True)
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(60)  # the signal may land on another thread first; a real fault never returns


def reply(body):
    first = not crashed.exists()
    crashed.touch()
    if mode == "always" or (mode == "once" and first):
        die()
    if mode == "mid" and first:
        threading.Timer(1.0, die).start()  # after about 20 streamed words
        return Script(text=" ".join([{SENTENCE!r}] * 10), delay=0.05)
    return {SENTENCE!r}


fake = FakeOpenAI()
fake.responder = reply
fake.server.server_close()
server = _QuietServer(("127.0.0.1", port), fake.server.RequestHandlerClass)
print(f"stand-in llama.cpp server on port {{port}}", flush=True)
server.serve_forever()
'''


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Install the stand-in; `standin(mode)` returns the directory holding `starts`."""
    def install(mode: str) -> Path:
        pkg = tmp_path / "standin" / "llama_cpp"
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "server.py").write_text(STANDIN)
        model = tmp_path / "model.gguf"
        model.write_text(mode)
        monkeypatch.syspath_prepend(str(pkg.parent))
        path = [str(pkg.parent), str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])]
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(path))
        monkeypatch.setenv("ASSISTANT_LOCAL_MODEL", str(model))
        return tmp_path

    return install


def starts(state: Path) -> int:
    return len((state / "starts").read_text().splitlines())


def test_a_crash_on_the_first_completion_restarts_the_server_once(seeded_index, standin):
    state = standin("once")
    with Assistant(index=seeded_index, generator="local") as bot:
        answer = bot.ask(TERRITORY_Q)
        assert answer.backend == "local" and not answer.refused and "502 square kilometers" in answer.answer
        assert starts(state) == 2
        assert not bot.ask(TERRITORY_Q).refused and starts(state) == 2  # the restarted server stays


def test_a_server_that_crashes_every_time_is_a_typed_error_with_the_fix(seeded_index, standin):
    state = standin("always")
    with Assistant(index=seeded_index, generator="local", llm_retries=0) as bot:
        with pytest.raises(errors.LocalModelCrashed) as err:
            bot.ask(TERRITORY_Q)
    message = str(err.value)
    assert isinstance(err.value, errors.ModelUnavailable) and "\n" not in message
    assert "SIGSEGV" in message and LOG_LINE in message
    assert "rm -rf .wheels && make local-llm" in message and "ASSISTANT_GENERATOR=openai" in message
    assert "ASSISTANT_LLM_BASE_URL" not in message
    assert starts(state) == 2  # one restart, then the error


def test_the_cli_shows_the_crash_and_the_fix_in_one_line(seeded_index, standin):
    standin("always")
    out = subprocess.run([sys.executable, "-m", "assistant", "ask", TERRITORY_Q, "--local", "--index",
                          str(seeded_index)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    line = out.stderr.strip()
    assert line.startswith("error: ") and len(line.splitlines()) == 1
    assert "SIGSEGV" in line and "make local-llm" in line and "ASSISTANT_LLM_BASE_URL" not in line


def test_a_crash_mid_answer_is_an_incomplete_answer_that_says_so(seeded_index, standin):
    state = standin("mid")
    with Assistant(index=seeded_index, generator="local") as bot:
        pieces = list(bot.stream(TERRITORY_Q))
        answer = pieces[-1]
        assert "".join(p for p in pieces if isinstance(p, str)).startswith(SENTENCE)
        assert answer.incomplete and not answer.refused
        assert "crashed" in answer.warning and "SIGSEGV" in answer.warning and "make local-llm" in answer.warning
        again = bot.ask(TERRITORY_Q)  # the dead server is restarted before the next question
        assert not again.refused and not again.incomplete and starts(state) == 2


def test_a_server_killed_while_loading_is_a_typed_error(tmp_path: Path):
    script = ("import os, resource, signal; resource.setrlimit(resource.RLIMIT_CORE, (0, 0)); "
              "print('loading model', flush=True); os.kill(os.getpid(), signal.SIGILL)")
    server = LocalLLMServer(command=[sys.executable, "-c", script, "--port", "{port}"], startup_timeout=30)
    with pytest.raises(errors.LocalModelCrashed, match=r"killed by SIGILL; last log line: loading model"):
        server.start()
    assert not server.running()
