"""`make test-latest`: which installed packages differ from the lock, then the test suite.

Run with the interpreter of the venv that holds the newest allowed versions:
    python tools/drift.py locks/test.txt --run python -m pytest -q
Prints every package whose installed version differs from the lock (and those new or gone),
runs the command, and ends with one line that names the moved packages next to the result,
so a failure points at the release that broke it. Exits with the command's exit code."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, str]:
    """Package -> version pinned in a requirements lock file."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _PIN.match(line)
        if m:
            pins[canonical(m.group(1))] = m.group(2)
    return pins


def installed() -> dict[str, str]:
    """Package -> version installed for this interpreter."""
    return {canonical(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}


TOOLING = frozenset({"pip", "setuptools", "wheel"})  # the venv's own installers, not the application's


def drift(lock: dict[str, str], now: dict[str, str]) -> list[str]:
    """One line per package whose version moved, or that the lock has and the venv lacks
    (the venv's own pip/setuptools/wheel left out)."""
    lock = {k: v for k, v in lock.items() if k not in TOOLING}
    lines = [f"{name} {lock[name]} -> {now[name]}" for name in sorted(lock) if name in now and now[name] != lock[name]]
    lines += [f"{name} {lock[name]} -> (not installed)" for name in sorted(lock) if name not in now]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lock", type=Path, help="the lock file to compare with (e.g. locks/test.txt)")
    parser.add_argument("--run", nargs=argparse.REMAINDER, default=[], help="the test command to run afterwards")
    args = parser.parse_args(argv)
    moved = drift(locked(args.lock), installed())
    print(f"test-latest: {len(moved)} package(s) differ from {args.lock}:")
    for line in moved:
        print(f"  {line}")
    code = subprocess.call(args.run) if args.run else 0
    verdict = "passed" if code == 0 else f"FAILED (exit {code})"
    names = ", ".join(m.split(" ", 1)[0] for m in moved) or "none"
    print(f"test-latest: the suite {verdict} on the newest allowed versions; moved from the lock: {names}")
    return code


if __name__ == "__main__":
    sys.exit(main())
