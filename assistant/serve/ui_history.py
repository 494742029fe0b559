"""Conversations of the chat window, kept in `ui_history.sqlite3` beside the index so a
reload or a restart loses nothing. Each conversation belongs to one owner (the login user,
or "local" when login is off); every read and write names the owner, so one user never
sees or changes another's conversations."""
from __future__ import annotations

import json
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core.private import private_dir, private_files, sqlite_files

MAX_CONVERSATIONS = 500  # per owner; the oldest beyond it are removed
MAX_TURNS = 200  # per conversation; older turns are dropped from the front
MAX_TITLE = 80


@dataclass(frozen=True)
class Conversation:
    """One saved conversation (no turns)."""

    id: str
    title: str
    created: float
    updated: float
    turns: int


class HistoryStore:
    """Conversations and their turns (question + answer object) in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        private_dir(path.parent)
        with closing(self._connect()) as db, db:
            db.executescript("""
                CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, owner TEXT NOT NULL,
                    title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
                CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, updated);
                CREATE TABLE IF NOT EXISTS turns (conversation TEXT NOT NULL, seq INTEGER NOT NULL,
                    question TEXT NOT NULL, answer TEXT NOT NULL, PRIMARY KEY (conversation, seq));
            """)
        private_files(*sqlite_files(path))

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def create(self, owner: str, title: str = "New conversation") -> str:
        """A new, empty conversation of `owner`; returns its id."""
        cid, now = secrets.token_hex(8), time.time()
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)", (cid, owner, _title(title), now, now))
            old = [r[0] for r in db.execute("SELECT id FROM conversations WHERE owner = ? ORDER BY updated DESC "
                                            "LIMIT -1 OFFSET ?", (owner, MAX_CONVERSATIONS))]
            for o in old:
                self._drop(db, o)
        return cid

    def list(self, owner: str) -> list[Conversation]:
        """`owner`'s conversations, most recently used first."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT c.id, c.title, c.created, c.updated, COUNT(t.seq) FROM conversations c "
                              "LEFT JOIN turns t ON t.conversation = c.id WHERE c.owner = ? GROUP BY c.id "
                              "ORDER BY c.updated DESC, c.id", (owner,)).fetchall()
        return [Conversation(*r) for r in rows]

    def owns(self, owner: str, cid: str | None) -> bool:
        """True when conversation `cid` exists and belongs to `owner`."""
        if not cid:
            return False
        with closing(self._connect()) as db:
            return db.execute("SELECT 1 FROM conversations WHERE id = ? AND owner = ?", (cid, owner)).fetchone() is not None

    def turns(self, owner: str, cid: str) -> list[dict[str, Any]]:
        """The turns of `owner`'s conversation `cid`, oldest first ([] when not theirs)."""
        if not self.owns(owner, cid):
            return []
        with closing(self._connect()) as db:
            rows = db.execute("SELECT question, answer FROM turns WHERE conversation = ? ORDER BY seq", (cid,)).fetchall()
        return [{"question": q, "answer": json.loads(a)} for q, a in rows]

    def save(self, owner: str, cid: str, turns: list[dict[str, Any]]) -> bool:
        """Replace the turns of `owner`'s conversation `cid` with `turns` (a regenerated or
        edited answer replaces the tail). A conversation still called "New conversation"
        takes its first question as title. False when `cid` is not `owner`'s."""
        turns = turns[-MAX_TURNS:]
        with closing(self._connect()) as db, db:
            row = db.execute("SELECT title FROM conversations WHERE id = ? AND owner = ?", (cid, owner)).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM turns WHERE conversation = ?", (cid,))
            db.executemany("INSERT INTO turns VALUES (?, ?, ?, ?)",
                           [(cid, i, t["question"], json.dumps(t["answer"], ensure_ascii=False))
                            for i, t in enumerate(turns)])
            title = _title(turns[0]["question"]) if row[0] == "New conversation" and turns else row[0]
            db.execute("UPDATE conversations SET updated = ?, title = ? WHERE id = ?", (time.time(), title, cid))
        return True

    def rename(self, owner: str, cid: str, title: str) -> bool:
        """Give `owner`'s conversation `cid` a new title; False when it is not theirs."""
        with closing(self._connect()) as db, db:
            done = db.execute("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                              (_title(title), cid, owner)).rowcount
        return bool(done)

    def delete(self, owner: str, cid: str) -> bool:
        """Remove `owner`'s conversation `cid` and its turns; False when it is not theirs."""
        with closing(self._connect()) as db, db:
            if db.execute("SELECT 1 FROM conversations WHERE id = ? AND owner = ?", (cid, owner)).fetchone() is None:
                return False
            self._drop(db, cid)
        return True

    @staticmethod
    def _drop(db: sqlite3.Connection, cid: str) -> None:
        db.execute("DELETE FROM turns WHERE conversation = ?", (cid,))
        db.execute("DELETE FROM conversations WHERE id = ?", (cid,))


def _title(text: str) -> str:
    text = " ".join((text or "").split())
    return (text[:MAX_TITLE - 1] + "…") if len(text) > MAX_TITLE else (text or "Untitled")
