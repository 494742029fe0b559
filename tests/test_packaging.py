"""The built wheel works on its own: installed into a clean venv (no editable install, no
repository on the path), it ingests the seeds and answers through the LLM path with the
prompt templates it carries inside (`prompts/` ships as package data)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, TERRITORY_Q
from fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow

# What a source distribution would hold; everything else (the venv, the index, build output)
# stays behind so the build cannot write into the working tree or pick up stale artifacts.
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", ".venv-*", ".wheels", "build", "dist", "*.egg-info", "__pycache__",
                                     ".pytest_cache", "test-artifacts", "results", "runs")


def NOT_SOURCE(folder: str, names: list[str]) -> set[str]:
    """What the copy leaves out; the index data directory only at the top (`assistant/index/` is code)."""
    return set(_NOT_SOURCE(folder, names)) | ({"index"} if Path(folder) == ROOT else set())

# Runs inside the clean venv: the installed package, the real pipeline, the fake server's URL.
CLIENT = """
import json, sys
import assistant
from assistant import Assistant
index, seeds, url, question = sys.argv[1:]
report = Assistant(index=index).ingest([seeds])
answer = Assistant(index=index, generator="openai", llm_model="fake-model", llm_base_url=url,
                   llm_api_key="sk-fake", llm_timeout=10, llm_retries=0).ask(question)
print(json.dumps({"file": assistant.__file__, "added": len(report.added),
                  "answer": answer.answer, "refused": answer.refused}))
"""


def run(args: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    out = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    command = " ".join(map(str, args))[:200]
    assert out.returncode == 0, f"{command} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return out.stdout


def test_the_wheel_answers_with_its_own_prompts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PYTHONNOUSERSITE"] = "1"
    work = tmp_path / "cwd"
    work.mkdir()

    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-cache-dir", "--no-deps", "-w", tmp_path / "dist", source],
        work, env)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    shutil.rmtree(source)  # nothing but the wheel can supply the package or its prompts now

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], work, env)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel],
        work, env)
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], work, env).strip())
    # The dependencies come from this test run's venv: a path line in a .pth joins sys.path,
    # but the .pth files in that directory (the repository's editable finder) are not run.
    (site / "_test_runner_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")

    with FakeOpenAI() as fake:
        fake.replies = ["Ukraine lost 502 square kilometers in July."]
        stdout = run([python, "-c", CLIENT, tmp_path / "index", SEEDS, fake.url, TERRITORY_Q], work, env)
    result = json.loads(stdout.strip().splitlines()[-1])

    assert Path(result["file"]).is_relative_to(site) and not Path(result["file"]).is_relative_to(ROOT)
    assert result["added"] == 2
    system = (ROOT / "prompts" / "answer.md").read_text(encoding="utf-8").strip()
    sent = [r["messages"][0] for r in fake.chat_requests()]
    assert {"role": "system", "content": system} in sent
    assert not result["refused"] and "502 square kilometers" in result["answer"]
