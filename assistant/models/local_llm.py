"""The local LLM (a model of `local_models.CATALOGUE`, by default Qwen2.5-Coder-1.5B, or any GGUF
file) served by llama-cpp-python's OpenAI-compatible server, started on 127.0.0.1,
health-checked and stopped on exit. The app reaches it through the same `openai` client as any endpoint;
`LocalGenerator` owns the server and restarts it once when it crashes (a llama.cpp built
for another CPU dies with SIGSEGV/SIGILL on its first completion)."""
from __future__ import annotations

import atexit
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from assistant.core import errors
from assistant.core.data import Passage, Usage
from assistant.core.settings import Settings
from assistant.models.generate import OpenAIGenerator, StreamEnd
from assistant.models.local_models import CATALOGUE, DEFAULT_MODEL, resolve

_REBUILD = ("rebuild llama-cpp-python portably with `rm -rf .wheels && make local-llm` (it builds with "
           "CMAKE_ARGS=-DGGML_NATIVE=OFF), or set ASSISTANT_GENERATOR=openai to use another endpoint")
# Local models read only the best few passages, and answer briefly: on 2 cores the prompt is
# read at ~55 tokens/s (Qwen2.5-1.5B) to a few hundred (0.5B), so every passage costs seconds.
LOCAL_PASSAGES = 3
LOCAL_MAX_TOKENS = 160


def available(model: str | None = None) -> bool:
    """True when llama-cpp-python's server and every package of catalogue model `model`
    (default: the default model) are installed. A GGUF path counts as installed."""
    if importlib.util.find_spec("llama_cpp") is None:
        return False
    if model is not None and model not in CATALOGUE:
        return True
    try:
        CATALOGUE[model or DEFAULT_MODEL].part_files()
    except errors.LocalModelNotInstalled:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalLLMServer:
    """One `python -m llama_cpp.server` child process bound to 127.0.0.1.

    `start()` waits until `/v1/models` answers (or the process dies, or `startup_timeout`
    passes) and registers `stop()` to run at interpreter exit. `command` replaces the
    llama.cpp command line (a stand-in server); `{port}` in it becomes the port."""

    model_path: str | None = None  # a GGUF file; None: the default catalogue model
    port: int = 0
    alias: str = "local"  # the model's name in the server's answers
    n_ctx: int = 4096
    startup_timeout: float = 120.0
    command: list[str] | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: Any = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LocalLLMServer":
        """Start the server unless it runs; returns self once it answers. Raises ConfigError
        (not installed), LocalModelCrashed (killed by a signal while loading) or ModelUnavailable."""
        if self.running():
            return self
        self.port = self.port or _free_port()
        cmd = self._command()
        self._log = tempfile.TemporaryFile()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=env)
        atexit.unregister(self.stop)  # once per server, however often it restarts
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code, died = self._proc.returncode, self.died()
                self.stop()
                if code < 0:
                    raise errors.LocalModelCrashed(f"the local LLM server process died at start ({died}); {_REBUILD}")
                raise errors.ModelUnavailable(f"the local LLM server exited at start ({died}); "
                                              "reinstall with `make local-llm`")
            if self.healthy():
                return self
            time.sleep(0.25)
        self.stop()
        raise errors.ModelUnavailable(f"the local LLM server did not answer within {self.startup_timeout:.0f} s")

    def _command(self) -> list[str]:
        if self.command is not None:
            return [arg.replace("{port}", str(self.port)) for arg in self.command]
        if importlib.util.find_spec("llama_cpp") is None:
            raise errors.ConfigError("llama-cpp-python is not installed: run `make local-llm` (pip install '.[local]')")
        if self.model_path is None:
            self.alias, path = resolve(None)
        else:
            path = Path(self.model_path)
        if not path.is_file():
            raise errors.ConfigError(f"local model file {path} not found; set ASSISTANT_LOCAL_MODEL")
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", self.alias,
                "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx)]

    def running(self) -> bool:
        """True while the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def died(self, wait: float = 0.0) -> str | None:
        """How the server process ended ("killed by SIGSEGV; last log line: ..."), or None
        while it runs (after waiting up to `wait` seconds for it to end) or was stopped."""
        if self._proc is None:
            return None
        try:
            code = self._proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return None
        how = f"killed by {_signal_name(-code)}" if code < 0 else f"exit code {code}"
        return f"{how}; last log line: {self._tail()}"

    def restart(self) -> "LocalLLMServer":
        """Stop what is left of the server and start it again on the same port."""
        self.stop()
        return self.start()

    def healthy(self) -> bool:
        """True when the server lists its model."""
        try:
            with urllib.request.urlopen(f"{self.url}/models", timeout=2) as r:
                return r.status == 200 and bool(json.load(r).get("data"))
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _tail(self) -> str:
        if self._log is None:
            return "no output"
        self._log.seek(0)
        lines = [ln for ln in self._log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1][:200] if lines else "no output"

    def stop(self) -> None:
        """Terminate the server (then kill it if it lingers)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass
class LocalGenerator(OpenAIGenerator):
    """The OpenAI-protocol generator for the local server it owns. A server found dead is
    restarted before a request; a request that failed because the server died is retried
    once on a restarted server, and a second death raises LocalModelCrashed (what happened
    and how to fix it). A death mid-answer cannot be retried (the text is already out): the
    stream ends incomplete, its reason naming the crash."""

    model: str = DEFAULT_MODEL
    name: str = "local"
    # Small models name the wrong country in a sentence the checker accepts; without the rule
    # Qwen2.5-0.5B's facts on the seeds gold set fall from 0.770 to 0.689 (README "Evaluation").
    must_agree: bool = True
    server: LocalLLMServer = field(default_factory=LocalLLMServer, repr=False)

    @classmethod
    def from_settings(cls, s: Settings) -> "LocalGenerator":
        """A generator whose server is started with ASSISTANT_LOCAL_MODEL (a catalogue name or
        a GGUF file; the catalogue's model is assembled and checked first) on
        ASSISTANT_LOCAL_PORT, with the LLM limits of `s`: context capped at 3000 tokens, at most
        LOCAL_MAX_TOKENS of answer."""
        name, path = resolve(s.local_model)
        server = LocalLLMServer(str(path), s.local_port, alias=name).start()
        entry = CATALOGUE.get(name)
        prompt = entry.prompt if entry else "answer"
        trust = dict(must_agree=entry.must_agree, defers_refusal=entry.defers_refusal) if entry else {}
        return cls(model=name, base_url=server.url, system_prompt=prompt, timeout=s.llm_timeout, retries=s.llm_retries,
                   context_tokens=min(s.llm_context_tokens, 3000), max_tokens=min(s.llm_max_tokens, LOCAL_MAX_TOKENS),
                   price_in=s.llm_price_in, price_out=s.llm_price_out, server=server, **trust)

    def fit(self, question: str, passages: Sequence[Passage],
            history: Sequence[tuple[str, str]] = ()) -> list[Passage]:
        """The best LOCAL_PASSAGES passages that fit the context (prompt reading is the cost on 2 cores)."""
        return super().fit(question, list(passages)[:LOCAL_PASSAGES], history)

    def stream(self, question: str, passages: Sequence[Passage],
               history: Sequence[tuple[str, str]] = ()) -> Iterator[str | Usage | StreamEnd]:
        """As `OpenAIGenerator.stream`, surviving one crash before the first text."""
        for attempt in (1, 2):
            self._ensure_running()
            try:
                for item in super().stream(question, passages, history):
                    yield self._explained(item) if isinstance(item, StreamEnd) else item
                return
            except errors.ModelUnavailable:  # raised only before any text was yielded
                if not self._recovered(attempt):
                    raise

    def complete(self, messages: list[dict[str, str]], max_tokens: int = 200) -> tuple[str, Usage]:
        """As `OpenAIGenerator.complete`, surviving one crash."""
        for attempt in (1, 2):
            self._ensure_running()
            try:
                return super().complete(messages, max_tokens)
            except errors.ModelUnavailable:
                if not self._recovered(attempt):
                    raise
        raise AssertionError("unreachable: the second failure raises")

    def _ensure_running(self) -> None:
        if not self.server.running():
            self._restart()

    def _restart(self) -> None:
        self.server.restart()
        self._client = None  # no pooled connection to the dead process

    def _recovered(self, attempt: int) -> bool:
        """After a failed request: False when the server still runs (the error stands); True
        once a first crash was followed by a restart; LocalModelCrashed after a second."""
        died = self.server.died(wait=1.0)  # the connection can drop just before the exit is visible
        if died is None:
            return False
        if attempt > 1:
            raise errors.LocalModelCrashed(f"the local LLM server process died again after a restart ({died}); "
                                           f"its build likely does not run on this CPU: {_REBUILD}") from None
        self._restart()
        return True

    def _explained(self, end: StreamEnd) -> StreamEnd:
        """A stream cut without a finish reason: if the server died, say so in the reason."""
        if end.complete or end.finish_reason is not None:
            return end
        died = self.server.died(wait=1.0)
        if died is None:
            return end
        return StreamEnd(f"the local LLM server crashed mid-answer, {died}; if it recurs, "
                         "rebuild it: `rm -rf .wheels && make local-llm`", complete=False)
