"""Model backends: embedders (a registry by name), the OpenAI-compatible generator, the local
LLM server, word vectors and prompt templates."""

from assistant.models.embed import Embedder, WordLlamaEmbedder, make_embedder
from assistant.models.generate import Generator, OpenAIGenerator, StreamEnd
from assistant.models.local_llm import LocalGenerator, LocalLLMServer, available
from assistant.models.prompts import load_prompt
from assistant.models.word_vectors import word_vectors

__all__ = [
    "Embedder",
    "Generator",
    "LocalGenerator",
    "LocalLLMServer",
    "OpenAIGenerator",
    "StreamEnd",
    "WordLlamaEmbedder",
    "available",
    "load_prompt",
    "make_embedder",
    "word_vectors",
]
