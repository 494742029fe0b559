"""The answer backends behind one registry, keyed by name (`ASSISTANT_GENERATOR`, `--generator`):
`extractive` (verbatim evidence sentences, no model), `openai` (any OpenAI-compatible
endpoint) and `local` (the tiny model served by llama.cpp on 127.0.0.1). Built-in backends
are registered the same way a caller registers its own: `registry | {"mine": factory}`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from assistant.answer.extractive import ExtractiveGenerator
from assistant.core.errors import ConfigError
from assistant.core.settings import Settings
from assistant.models.generate import Generator, OpenAIGenerator
from assistant.models.local_llm import LocalGenerator


@dataclass(frozen=True)
class GeneratorParts:
    """What a backend may be built from: the settings and the index's word statistics."""

    settings: Settings
    idf: Callable[[str], float]
    embed: Callable[[Sequence[str]], np.ndarray]
    parse: Callable[[str], Any] | None = None  # spaCy's parse of a text (None: the reader uses rules only)
    similar: Callable[[str, str], float] | None = None  # word similarity in [0, 1]


GeneratorFactory = Callable[[GeneratorParts], Generator]


def openai_generator(s: Settings, model: str, base_url: str | None, api_key: str | None,
                     name: str = "openai") -> OpenAIGenerator:
    """An OpenAI-compatible backend with the LLM limits of `s`."""
    return OpenAIGenerator(model=model, base_url=base_url, api_key=api_key, timeout=s.llm_timeout,
                           retries=s.llm_retries, context_tokens=s.llm_context_tokens, max_tokens=s.llm_max_tokens,
                           price_in=s.llm_price_in, price_out=s.llm_price_out, name=name)


def _openai(parts: GeneratorParts) -> Generator:
    s = parts.settings
    if not s.llm_model:
        raise ConfigError("generator 'openai' needs a model: set ASSISTANT_LLM_MODEL (or --model)")
    return openai_generator(s, s.llm_model, s.llm_base_url, s.llm_api_key)


def _local(parts: GeneratorParts) -> Generator:
    return LocalGenerator.from_settings(parts.settings)  # starts its server; restarts it once if it crashes


def extractive_generator(parts: GeneratorParts) -> ExtractiveGenerator:
    """The extractive reader: the `extractive` backend, and the gate and fallback behind an LLM."""
    return ExtractiveGenerator(idf=parts.idf, embed=parts.embed, parse=parts.parse, similar=parts.similar)


BUILTIN_GENERATORS: Mapping[str, GeneratorFactory] = {"extractive": extractive_generator, "openai": _openai, "local": _local}


def make_generator(parts: GeneratorParts, registry: Mapping[str, GeneratorFactory] = BUILTIN_GENERATORS) -> Generator:
    """The backend named by `parts.settings.generator`; ConfigError for an unknown name."""
    name = parts.settings.generator
    if name not in registry:
        raise ConfigError(f"unknown generator {name!r}; use one of: {', '.join(registry)} (ASSISTANT_GENERATOR)")
    return registry[name](parts)
