"""The ingest worker process, started by `prepare.Preparer` (never run it by hand).

It reads length-prefixed pickled frames on stdin: the `Settings`, then batches of
documents; it answers each batch on stdout with ("ok", results), ("error",
AssistantError) or ("crash", traceback). It ends at the end of its input, and on Linux
is killed with its parent even in the middle of a batch."""
from __future__ import annotations

import os
import pickle
import signal
import sys
import traceback
from typing import Any

from assistant.core import errors
from assistant.ingest.chunk import Chunker
from assistant.ingest.prepare import prepare, read_frame, write_frame
from assistant.models.embed import make_embedder


def main() -> int:
    """Serve batches until stdin ends; argv: [package dir, parent pid]."""
    _die_with_parent(int(sys.argv[2]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it ends us
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints from libraries go to stderr, not into the replies
    sys.stdout = sys.stderr
    requests = sys.stdin.buffer
    settings = read_frame(requests)
    if settings is None:
        return 0
    failure: errors.AssistantError | None = None
    try:
        chunker, embedder = Chunker(settings.chunk_tokens, settings.chunk_overlap), make_embedder(settings)
    except errors.AssistantError as e:  # reported with each batch, so the caller gets its type
        failure = e
    while (docs := read_frame(requests)) is not None:
        reply: tuple[str, Any]
        try:
            if failure is not None:
                raise failure
            reply = ("ok", prepare(docs, chunker, embedder))
        except errors.AssistantError as e:
            reply = ("error", e)
        except Exception:
            reply = ("crash", traceback.format_exc())
        try:
            write_frame(replies, reply)
        except (pickle.PicklingError, TypeError, AttributeError):
            write_frame(replies, ("crash", traceback.format_exc()))
    return 0


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # the end of stdin still stops us between batches
    if os.getppid() != parent:  # the parent died before we could ask to die with it
        os._exit(1)
