"""Ratings and comments from the chat window, one JSON line each in `feedback.jsonl` beside
the index, under a size cap (`ASSISTANT_UI_FEEDBACK_MAX_MB`)."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core.private import private_dir


@dataclass(frozen=True)
class FeedbackLog:
    """The feedback file of one index."""

    index_path: Path
    max_mb: float

    @property
    def path(self) -> Path:
        return self.index_path / "feedback.jsonl"

    def has_room(self) -> bool:
        """Whether the file is still under its size cap."""
        try:
            return self.path.stat().st_size < self.max_mb * 1_000_000
        except FileNotFoundError:
            return True

    def append(self, entry: dict[str, Any]) -> Path:
        """Append one record (rating, comment, question, answer...) with the time; returns the path."""
        private_dir(self.path.parent)
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **entry}
        with open(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return self.path
