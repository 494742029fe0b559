"""Files shipped inside installed packages (model weights, tokenizers, GGUF parts): found
without importing the package, and their SHA-256, read once per process per file version."""
from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path


def package_file(package: str, relative: str) -> Path | None:
    """The path of `relative` inside the installed import package `package`, or None when the
    package or the file is missing. The package is located, never imported."""
    spec = importlib.util.find_spec(package)
    for base in (spec.submodule_search_locations or []) if spec else []:
        path = Path(base) / relative
        if path.is_file():
            return path
    return None


def sha256_of(path: Path) -> str:
    """The file's SHA-256 hex digest; hashed once per process for one size and modification time."""
    stat = path.stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
