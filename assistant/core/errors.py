"""One error tree. Every message says what to do next."""
from __future__ import annotations


class AssistantError(Exception):
    """Base class for every error the assistant raises on purpose."""


class ConfigError(AssistantError):
    """A setting is missing or invalid."""


class IndexNotFound(AssistantError):
    """The index has no documents yet."""


class EmbedderMismatch(AssistantError):
    """The index was built with another embedder than the configured one."""


class StoreUnavailable(AssistantError):
    """The vector store (e.g. a Chroma server) cannot be reached."""


class LoadError(AssistantError):
    """A file cannot be turned into a document; the message is the reason."""


class DocumentNotFound(AssistantError):
    """No document with that id is in the index."""


class ModelError(AssistantError):
    """The language-model or embedding service failed."""


class ModelUnavailable(ModelError):
    """The model service cannot be reached or keeps failing."""


class AuthenticationFailed(ModelError):
    """The model service rejected the API key."""


class ModelNotFound(ModelError):
    """The model service does not know the configured model."""


class RateLimited(ModelError):
    """The model service keeps answering 429."""


class ContextTooLong(ModelError):
    """The prompt does not fit the model's context window."""


class InvalidQuestion(AssistantError):
    """The question is empty or unusable."""


class IndexLocked(AssistantError):
    """Another process is writing to the same local index."""


class LocalModelCrashed(ModelUnavailable):
    """The local LLM server process died (e.g. SIGSEGV/SIGILL from a build for another CPU)."""


class IndexDamaged(StoreUnavailable):
    """The index's files are broken; the message says how to repair it."""


class DiskFull(StoreUnavailable):
    """The disk holding the index is full; nothing already indexed was lost."""


class IngestWorkerFailed(AssistantError):
    """The ingest worker process crashed, exited, could not start or sent garbage."""


class InvalidFilter(InvalidQuestion):
    """A date or outlet filter (since, until, as_of, outlet) cannot be read."""


class LocalModelNotInstalled(ConfigError):
    """A package holding (a part of) the local model is not installed."""


class LocalModelDamaged(ConfigError):
    """The local model's file does not match its pinned size and SHA-256."""
