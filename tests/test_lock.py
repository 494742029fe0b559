"""The lock: every install set pins exact versions with hashes, agrees with the one
resolution in locks/all.txt, covers pyproject's dependencies; the drift report names moved
packages; the `openai` client is handed only its own types."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest
from conftest import ROOT

LOCKS = ROOT / "locks"
SETS = ("run", "test", "bench", "build", "data", "tools", "llama-cpp-python")
sys.path.insert(0, str(ROOT / "tools"))
import drift  # noqa: E402


def requirements(name: str) -> list[str]:
    """The requirement blocks of one lock file (a line with its continuation lines)."""
    text = (LOCKS / f"{name}.txt").read_text(encoding="utf-8")
    return [b for b in re.split(r"\n(?=[A-Za-z0-9])", text) if b and not b.startswith("#")]


@pytest.mark.parametrize("name", SETS + ("all",))
def test_every_requirement_is_pinned_exactly_with_hashes(name: str) -> None:
    blocks = requirements(name)
    assert blocks
    for block in blocks:
        first = block.splitlines()[0]
        assert re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?==\S+", first), first
        assert "--hash=sha256:" in block, first


@pytest.mark.parametrize("name", ("run", "test", "bench", "llama-cpp-python"))
def test_each_install_set_agrees_with_the_one_resolution(name: str) -> None:
    everything = drift.locked(LOCKS / "all.txt")
    for package, version in drift.locked(LOCKS / f"{name}.txt").items():
        assert everything.get(package) == version, f"{package}=={version} in {name}.txt, {everything.get(package)} in all.txt"


def test_the_locks_cover_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name = lambda req: drift.canonical(re.split(r"[<>=\[;!~ ]", req, maxsplit=1)[0])  # noqa: E731
    run = drift.locked(LOCKS / "run.txt")
    assert {name(r) for r in project["dependencies"]} <= set(run)
    extras = project["optional-dependencies"]
    test = set(drift.locked(LOCKS / "test.txt")) | {"llama-cpp-python"}  # built from its pinned sdist
    assert {name(r) for r in extras["test"] + extras["local"]} <= test
    assert {name(r) for r in extras["bench"]} <= set(drift.locked(LOCKS / "bench.txt"))


def test_the_pinned_pytest_is_one_that_formats_failures_here() -> None:
    # pytest 9.2 on CPython 3.11.7 crashes while it formats a failure (SystemError in the AST
    # rewriter), which ends the run at the first failing test and hides the rest.
    version = tuple(int(x) for x in drift.locked(LOCKS / "test.txt")["pytest"].split(".")[:2])
    assert version < (9, 2)


def test_drift_names_what_moved() -> None:
    lock = {"openai": "2.9.0", "gradio": "6.31.0", "gone": "1.0", "pip": "26.3"}
    now = {"openai": "3.63.0", "gradio": "6.31.0", "pip": "23.2.1"}
    assert drift.drift(lock, now) == ["openai 2.9.0 -> 3.63.0", "gone 1.0 -> (not installed)"]


def test_drift_runs_the_suite_and_passes_its_exit_code_on(tmp_path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text("pytest==0.0.1 \\\n    --hash=sha256:00\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "drift.py"), str(lock), "--run", sys.executable, "-c",
                          "raise SystemExit(7)"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 7
    assert "pytest 0.0.1 -> " in out.stdout and "FAILED (exit 7)" in out.stdout and "moved from the lock: pytest" in out.stdout


def test_the_openai_client_gets_its_own_timeout_type() -> None:
    """openai 3 moved to httpx2 and rejects an `httpx.Timeout`; the client must be built
    from the library's own `openai.Timeout` (or numbers) with whatever version is installed."""
    import openai

    from assistant.models.generate import OpenAIGenerator

    client = OpenAIGenerator(model="m", base_url="http://127.0.0.1:9/v1", api_key="k", timeout=12.0).client()
    assert isinstance(client, openai.OpenAI)
    assert isinstance(client.timeout, openai.Timeout)
    assert client.timeout.read == 12.0 and client.timeout.connect == 5.0
