"""Prompt templates: the repository's `prompts/*.md` files (text, not code). They ship inside
the package as `assistant._prompts` (pyproject.toml maps the directory there) and are read
with importlib.resources, so an installed wheel needs no repository."""
from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from assistant.core.errors import ConfigError

PACKAGE = "assistant._prompts"


def prompts_dir() -> Traversable:
    """The directory of the templates: the installed `assistant._prompts` package data or,
    where that package cannot be imported, the source checkout's own `prompts/`: a checkout on
    PYTHONPATH, and setuptools' editable install, whose import hook does not resolve a
    subpackage without `__init__.py` mapped outside its parent's directory."""
    try:
        return resources.files(PACKAGE)
    except ModuleNotFoundError:
        root = Path(__file__).resolve().parents[2]  # the repository (assistant/models/prompts.py)
        if (root / "pyproject.toml").is_file() and (root / "prompts").is_dir():
            return root / "prompts"
        raise ConfigError(f"the prompt templates ({PACKAGE}) are not installed; reinstall the package "
                          "(`pip install -e .` in the repository, or `make install`)") from None


def load_prompt(name: str, directory: Path | None = None) -> str:
    """The text of template `<name>.md` from `directory` (default: `prompts_dir()`), stripped;
    ConfigError names the missing file."""
    base = directory if directory is not None else prompts_dir()
    try:
        return base.joinpath(f"{name}.md").read_text(encoding="utf-8").strip()
    except OSError:
        raise ConfigError(f"prompt template prompts/{name}.md is missing; restore it from the repository") from None
