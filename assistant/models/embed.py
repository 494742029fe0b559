"""Embedders behind one protocol, and a registry that builds them from a name.

Names: `wordllama` (default, offline, shipped weights), `openai:MODEL` (any
OpenAI-compatible /embeddings endpoint), `sentence-transformers:MODEL` (needs that
package and a locally available model), `minilm` (all-MiniLM-L6-v2 int8 on onnxruntime, from
the `encoder` extra; `assistant.models.encoder`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from assistant.core.errors import ConfigError, ModelError
from assistant.core.settings import Settings
from assistant.models.encoder import MiniLMEncoder


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed size."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, each of unit length."""
        ...


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


@dataclass
class WordLlamaEmbedder:
    """WordLlama with the weights shipped inside the `wordllama` package: no network."""

    dim: int = 256
    name: str = field(init=False)
    _model: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.name = f"wordllama:l2_supercat:{self.dim}"

    def _load(self) -> Any:
        if self._model is None:
            import wordllama
            from wordllama import WordLlama

            if not 8 <= self.dim <= 256:
                raise ConfigError(f"wordllama dimension must be 8..256, not {self.dim}")
            try:  # the package ships the 256-d weights; smaller sizes are truncations of them
                self._model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True,
                                             dim=256, trunc_dim=self.dim if self.dim < 256 else None)
            except FileNotFoundError:
                raise ConfigError("WordLlama weights are missing from the installed package: "
                                  "reinstall it (`pip install --force-reinstall wordllama`)") from None
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalize(self._load().embed(list(texts)))


@dataclass
class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible `/embeddings` endpoint via the `openai` client."""

    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    batch: int = 128
    name: str = field(init=False)
    _client: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.name = f"openai:{self.model}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import openai

        if self._client is None:
            self._client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key or "not-needed",
                                         timeout=self.timeout, max_retries=2)
        rows: list[list[float]] = []
        try:
            for i in range(0, len(texts), self.batch):
                resp = self._client.embeddings.create(model=self.model, input=list(texts[i:i + self.batch]))
                rows.extend(d.embedding for d in sorted(resp.data, key=lambda d: d.index))
        except openai.APIConnectionError:
            raise ModelError("embedding service unreachable; check ASSISTANT_EMBED_BASE_URL") from None
        except openai.APIStatusError as e:
            raise ModelError(f"embedding service answered {e.status_code} for model {self.model!r}") from None
        return normalize(np.array(rows, dtype=np.float32))


@dataclass
class SentenceTransformerEmbedder:
    """A sentence-transformers model that is already on this machine."""

    model: str
    name: str = field(init=False)
    _model: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.name = f"sentence-transformers:{self.model}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ConfigError("embedder 'sentence-transformers:...' needs `pip install sentence-transformers`") from None
            self._model = SentenceTransformer(self.model)
        return normalize(self._model.encode(list(texts)))


_REGISTRY: dict[str, Callable[[str, Settings], Embedder]] = {
    "wordllama": lambda arg, s: WordLlamaEmbedder(dim=int(arg) if arg else 256),
    "openai": lambda arg, s: OpenAIEmbedder(model=arg or "text-embedding-3-small", base_url=s.embed_base_url,
                                            api_key=s.embed_api_key, timeout=s.llm_timeout),
    "sentence-transformers": lambda arg, s: SentenceTransformerEmbedder(model=arg),
    "minilm": lambda arg, s: MiniLMEncoder(),
}


def make_embedder(settings: Settings) -> Embedder:
    """Build the embedder named by `settings.embedder` (e.g. `wordllama`, `openai:text-embedding-3-small`)."""
    kind, _, arg = settings.embedder.partition(":")
    if kind not in _REGISTRY:
        raise ConfigError(f"unknown embedder {settings.embedder!r}; use one of: wordllama, openai:MODEL, "
                          "sentence-transformers:MODEL, minilm (ASSISTANT_EMBEDDER)")
    try:
        return _REGISTRY[kind](arg, settings)
    except ValueError:
        raise ConfigError(f"bad embedder argument in {settings.embedder!r}") from None
