"""Saved conversations (`assistant.serve.ui_history`): per owner, replaced tails, caps."""
from __future__ import annotations

from assistant.serve import ui_history
from assistant.serve.ui_history import HistoryStore


def turn(q: str) -> dict:
    return {"question": q, "answer": {"answer": f"answer to {q}", "citations": []}}


def test_conversations_belong_to_their_owner(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite3")
    ann = store.create("ann")
    assert store.save("ann", ann, [turn("Who won?"), turn("And then?")])
    assert [c.title for c in store.list("ann")] == ["Who won?"] and store.list("ann")[0].turns == 2
    assert store.list("bob") == [] and store.turns("bob", ann) == []
    assert not store.save("bob", ann, [turn("hijack")]) and not store.rename("bob", ann, "x")
    assert not store.delete("bob", ann) and store.turns("ann", ann)[1]["question"] == "And then?"
    assert store.rename("ann", ann, "  Election   night ") and store.list("ann")[0].title == "Election night"
    store.save("ann", ann, [turn("Who won?")])  # a regenerated or edited answer replaces the tail
    assert [t["question"] for t in store.turns("ann", ann)] == ["Who won?"]
    assert HistoryStore(tmp_path / "h.sqlite3").turns("ann", ann)[0]["answer"]["answer"] == "answer to Who won?"
    assert store.delete("ann", ann) and store.list("ann") == []


def test_most_recent_first_and_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(ui_history, "MAX_CONVERSATIONS", 3)
    monkeypatch.setattr(ui_history, "MAX_TURNS", 2)
    store = HistoryStore(tmp_path / "h.sqlite3")
    ids = [store.create("ann") for _ in range(5)]
    assert len(store.list("ann")) == 3 and not store.owns("ann", ids[0])
    store.save("ann", ids[2], [turn("a"), turn("b"), turn("c")])
    assert store.list("ann")[0].id == ids[2]
    assert [t["question"] for t in store.turns("ann", ids[2])] == ["b", "c"]
    assert len(store.list("ann")[0].title) <= ui_history.MAX_TITLE
