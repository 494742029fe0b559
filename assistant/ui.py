"""The Gradio chat window. Thin: every handler calls the `Assistant`; nothing here
opens stores or runs pipeline stages itself. All article text, titles, questions and
error messages are HTML-escaped before they reach the page."""
from __future__ import annotations

import html
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from . import local_llm
from .errors import AssistantError
from .facade import Assistant
from .load import SUPPORTED
from .types import Answer, to_dict
from .ui_files import PrivateFiles, drop_upload, feedback_room, markdown_text, store_upload
from .ui_guard import Limits, Refused, UIGuard, check_write, login_checker

CSS = """
.cite-quote {background: #fff3a3; color: #111; padding: 0 2px;}
.source-card {border: 1px solid #ddd; border-radius: 6px; padding: 8px; margin: 6px 0;}
.source-card p {white-space: pre-wrap;}
.source-card.active {border-color: #c48a00; box-shadow: 0 0 0 2px #f5d36b;}
.refusal {color: #8a5a00; font-style: italic;}
.unsupported {text-decoration: underline dotted #c00; color: #8a1c1c;}
.answer-warning {color: #8a1c1c; font-size: 0.9em;}
a.cite {text-decoration: none; font-weight: bold;}
"""

# Clicking [n] in an answer highlights and scrolls to its source card (the quote is also
# in the link's hover title). Delegated, so it works for messages added later.
JS = """
() => {
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('a.cite');
    if (!a) return;
    ev.preventDefault();
    const id = (a.getAttribute('href') || '').replace(/^#/, '');
    document.querySelectorAll('.source-card.active').forEach(c => c.classList.remove('active'));
    const card = document.getElementById(id);
    if (card) { card.classList.add('active'); card.scrollIntoView({block: 'center'}); }
  });
}
"""

MAX_UPLOAD_MB = 20


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def render_answer(answer: Answer) -> str:
    """The chat bubble: escaped sentences with clickable [n] (hover shows the quote),
    unsupported sentences marked, refusals styled apart, a details fold."""
    if answer.refused:
        body = f"<span class='refusal'>🛈 {_e(answer.answer)}</span>"
    else:
        quotes = {c.n: c.quote for c in answer.citations}
        parts = []
        for s in answer.sentences:
            marks = "".join(f"<a class='cite' href='#source-{n}' "
                            f"title='{_e(quotes.get(n, ''))}'>[{n}]</a>" for n in s.citations)
            if s.supported:
                parts.append(f"{_e(s.text)} {marks}")
            else:
                parts.append(f"<span class='unsupported' title='not supported by the articles'>⚠ {_e(s.text)}</span>")
        body = " ".join(parts)
        if answer.warning:
            body += f"<br><span class='answer-warning'>⚠ {_e(answer.warning)}</span>"
    return body + details(answer)


def details(answer: Answer) -> str:
    """The per-answer fold: backend and model, tokens, cost, time per stage."""
    u = answer.usage
    cost = f" · cost ${u.cost_usd:.6f}" if u.cost_usd is not None else ""
    stages = " · ".join(f"{k} {v:.0f} ms" for k, v in answer.timings_ms.items())
    model = f" ({_e(answer.model)})" if answer.model else ""
    extra = f"<br>searched for: {_e(answer.standalone_question)}" if answer.standalone_question else ""
    return (f"<details class='answer-details'><summary>details</summary><small>backend {_e(answer.backend)}{model} · "
            f"tokens {u.prompt_tokens} in / {u.completion_tokens} out{cost} · groundedness {answer.groundedness:.2f}"
            f"<br>{_e(stages)}{extra}</small></details>")


def render_sources(answer: Answer | None) -> str:
    """The sources panel: for each [n], the quote highlighted inside its passage, with
    title, source, date and retrieval scores."""
    if answer is None:
        return "<p>Sources of the last answer appear here.</p>"
    if not answer.citations:
        return "<p>No sources: the articles do not answer this question.</p>"
    by_chunk = {p.chunk_id: p for p in answer.passages}
    cards = []
    for c in answer.citations:
        p = by_chunk.get(c.chunk_id)
        meta = [_e(c.source), f"chars {c.start}–{c.end}"]
        if p is not None:
            a, b = c.start - p.start, c.end - p.start
            body = (_e(p.text[:a]) + f"<mark class='cite-quote'>{_e(p.text[a:b])}</mark>" + _e(p.text[b:]))
            if p.published:
                meta.insert(1, _e(p.published))
            scores = f"rank {p.rank} · fused {p.score:.4f}"
            scores += f" · dense {p.dense_score:.3f}" if p.dense_score is not None else ""
            scores += f" · bm25 {p.bm25_score:.2f}" if p.bm25_score is not None else ""
            meta.append(scores)
        else:
            body = f"<mark class='cite-quote'>{_e(c.quote)}</mark>"
        cards.append(f"<div class='source-card' id='source-{c.n}'><b>[{c.n}] {_e(c.title)}</b>"
                     f"<br><small>{' · '.join(meta)}</small><p>{body}</p></div>")
    return "".join(cards)


def export_markdown(turns: list[dict[str, Any]]) -> str:
    """The conversation as Markdown, each answer followed by its citations. Questions,
    answers, titles and quotes are escaped (`ui_files.markdown_text`): no link or image from
    an article or an answer is ever rendered, and URLs show as code, never followed."""
    m = markdown_text
    lines = ["# Conversation", ""]
    for t in turns:
        a = t["answer"]
        lines += [f"## {m(t['question'])}", "", m(a["answer"]), ""]
        for c in a["citations"]:
            lines.append(f"[{c['n']}] {m(c['title'])} ({m(c['doc_id'])}, chars {c['start']}-{c['end']}): “{m(c['quote'])}”")
        lines.append("")
    return "\n".join(lines)


def safe_upload_name(name: str) -> str:
    """A file name that cannot leave the uploads folder: base name only, no control or
    path characters, at most 120 characters (keeping the extension)."""
    base = re.split(r"[\\/]", name)[-1]
    base = re.sub(r"[\x00-\x1f\x7f<>:\"|?*]", "_", base).strip(" .") or "upload"
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = ext[:10]
    return (stem[: 120 - len(ext) - 1] + ("." + ext if ext else "")) if stem else f"upload.{ext}"


class UI:
    """Handlers over one base Assistant; per-session settings pick a variant of it. Handlers
    take Gradio's request (None for an in-process call): write actions go through
    `ui_guard.check_write`, questions and feedback through per-client `ui_guard.Limits`."""

    def __init__(self, bot: Assistant, login: bool = False, files: PrivateFiles | None = None) -> None:
        self.bot = bot
        self.login = login
        self.limits = Limits(bot.settings)
        self._files = files
        self.variants: dict[tuple[Any, ...], Assistant] = {}

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

    def backends(self) -> list[str]:
        choices = ["extractive"]
        if self.bot.settings.llm_model:
            choices.append("openai")
        if local_llm.available():
            choices.append("local")
        return choices

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

    # -- chat -----------------------------------------------------------------------------
    def respond(self, message: str, chat: list[Any], turns: list[dict[str, Any]], prefs: dict[str, Any],
                request: Any = None) -> Iterator[tuple[list[Any], str, str, list[dict[str, Any]]]]:
        message = (message or "").strip()
        chat = list(chat or [])
        if not message:
            yield chat, render_sources(None), "", turns
            return
        chat.append({"role": "user", "content": _e(message)})
        try:  # per client address and user, not per session: a new session id does not reset it
            self.limits.question(request)
        except Refused as e:
            yield chat + [{"role": "assistant", "content": f"<span class='refusal'>⚠ {_e(e)}</span>"}], \
                render_sources(None), message, turns
            return
        pairs = [(t["question"], t["answer"]["answer"]) for t in turns]
        text = ""
        try:
            bot = self.assistant(prefs)
            for item in bot.stream(message, history=pairs):
                if isinstance(item, Answer):
                    turns = turns + [{"question": message, "answer": to_dict(item)}]
                    yield chat + [{"role": "assistant", "content": render_answer(item)}], render_sources(item), "", turns
                else:
                    text += item
                    yield chat + [{"role": "assistant", "content": _e(text)}], "<p>Checking citations…</p>", "", turns
        except AssistantError as e:
            yield chat + [{"role": "assistant", "content": f"<span class='refusal'>⚠ {_e(e)}</span>"}], \
                render_sources(None), "", turns

    def export(self, turns: list[dict[str, Any]], request: Any = None) -> str | None:
        """This session's conversation as one Markdown file in the private folder (0600; the
        session's previous export is removed); None when there is nothing to export."""
        session = getattr(request, "session_hash", None) if request is not None else None
        if not turns or self.allowed(request):
            self.files.forget(session)
            return None
        return str(self.files.export(session, export_markdown(turns)))

    def forget(self, request: Any = None) -> None:
        """*Start over*: this session's export goes."""
        self.files.forget(getattr(request, "session_hash", None) if request is not None else None)

    def _feedback(self, entry: dict[str, Any], request: Any) -> str | None:
        """Save one feedback record unless refused; returns the reason when refused."""
        why = self.allowed(request)
        if why:
            return why
        path = self.bot.settings.index_path / "feedback.jsonl"
        if not feedback_room(path, self.bot.settings.ui_feedback_max_mb):
            return (f"feedback.jsonl has reached {self.bot.settings.ui_feedback_max_mb:g} MB "
                    "(ASSISTANT_UI_FEEDBACK_MAX_MB): move it away to collect more")
        try:
            self.limits.feedback(request)
        except Refused as e:
            return str(e)
        self.bot.feedback(entry)
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
        last = turns[-1]
        why = self._feedback({"rating": "up" if rating.startswith("👍") else "down", "comment": (comment or "")[:2000],
                              "question": last["question"], "answer": last["answer"]["answer"],
                              "citations": last["answer"]["citations"]}, request)
        return (f"⚠ {_e(why)}", comment) if why else ("Thanks: feedback saved.", "")

    # -- documents --------------------------------------------------------------------------
    def documents_table(self) -> list[list[Any]]:
        return [[d.id, d.title, d.chunks, d.source] for d in self.bot.documents()]

    def upload(self, files: list[Any] | None, progress: Any = None, request: Any = None) -> tuple[str, list[list[Any]], Any]:
        """Copy uploads into `INDEX/uploads/<content hash>/<name>` (`ui_files.store_upload`)
        and ingest them; returns the note (escaped HTML), the table and the picker's update."""
        import gradio as gr

        why = self.allowed(request)
        if why:
            return f"⚠ {_e(why)}", self.documents_table(), gr.update()
        if not files:
            return "Choose one or more files first.", self.documents_table(), gr.update()
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
            return f"⚠ {_e(e)}", self.documents_table(), gr.update()
        if report is not None:
            notes.insert(0, f"added {len(report.added)}, updated {len(report.updated)}, unchanged "
                            f"{len(report.unchanged)}, skipped {len(report.skipped)} ({report.chunks_added} chunks)")
            notes += [f"- skipped {_e(Path(s.source).name)}: {_e(s.reason)}" for s in report.skipped]
        table = self.documents_table()
        return "<br>".join(notes), table, gr.update(choices=[row[0] for row in table])

    def delete(self, doc_id: str | None, request: Any = None) -> tuple[str, list[list[Any]], Any]:
        """Remove a document; its uploaded file goes too once no other document comes from it."""
        import gradio as gr

        why = self.allowed(request)
        if why:
            return f"⚠ {_e(why)}", self.documents_table(), gr.update()
        if not doc_id:
            return "Pick a document to delete.", self.documents_table(), gr.update()
        try:
            source = next((d.source for d in self.bot.documents() if d.id == doc_id), "")
            self.bot.delete(doc_id)
            drop_upload(source, self.bot.settings.index_path / "uploads", [d.source for d in self.bot.documents()])
            note = f"deleted {_e(doc_id)}"
        except AssistantError as e:
            note = f"⚠ {_e(e)}"
        table = self.documents_table()
        return note, table, gr.update(choices=[row[0] for row in table], value=None)


def _with_request(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` with its `request` parameter typed as `gr.Request`, so Gradio passes the request
    (this module's annotations are strings, which Gradio does not resolve)."""
    import gradio as gr

    fn.__annotations__ = {"request": gr.Request}
    return fn


def build(bot: Assistant, ui: UI | None = None) -> Any:
    """The Gradio Blocks app over `bot` (handlers in `ui`, by default a `UI(bot)`)."""
    import gradio as gr

    ui = ui or UI(bot)
    s = bot.settings

    @_with_request
    def ask_json(question: str, request=None):  # type: ignore[no-untyped-def]
        """Same JSON as `assistant ask --json` (rate limited like the chat)."""
        try:
            ui.limits.question(request)
            return to_dict(bot.ask(question))
        except AssistantError as e:
            raise gr.Error(str(e)) from None

    with gr.Blocks(title="News assistant") as demo:
        turns = gr.State([])
        prefs = gr.State({"generator": s.generator, "top_k": s.top_k, "retrieval": s.retrieval,
                          "answer_policy": s.answer_policy})
        gr.Markdown("### Ask about the news articles\nEvery sentence cites the exact passage it comes from; "
                    "click a [n] to see it.")
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Conversation", height=480, sanitize_html=True, render_markdown=False,
                                      buttons=["copy"], elem_id="chat")
                    box = gr.Textbox(placeholder="e.g. How much territory did Ukraine lose in July?", label="Question",
                                     elem_id="question", max_length=2000)
                    with gr.Row():
                        send = gr.Button("Ask", variant="primary", elem_id="ask")
                        clear = gr.Button("Start over", elem_id="start-over")
                        export = gr.DownloadButton("Export Markdown", elem_id="export")
                    with gr.Accordion("Feedback on the last answer", open=False):
                        rating = gr.Radio(["👍 helpful", "👎 wrong or unhelpful"], value="👍 helpful", label="Rating")
                        comment = gr.Textbox(label="Comment (optional)", max_length=2000)
                        send_fb = gr.Button("Send feedback", elem_id="send-feedback")
                        fb_note = gr.HTML()
                with gr.Column(scale=2):
                    sources = gr.HTML(render_sources(None), label="Sources", elem_id="sources")
        with gr.Tab("Documents"):
            uploads = gr.File(label=f"Upload articles ({', '.join(SUPPORTED)}; at most {MAX_UPLOAD_MB} MB each)",
                              file_count="multiple", file_types=list(SUPPORTED), elem_id="upload")
            ingest = gr.Button("Ingest uploaded files", variant="primary", elem_id="ingest")
            ingest_note = gr.HTML(elem_id="ingest-note")  # escaped text: no Markdown, so no link or image
            docs = gr.Dataframe(headers=["id", "title", "chunks", "source"], value=ui.documents_table,
                                interactive=False, label="Indexed documents", elem_id="documents")
            with gr.Row():
                pick = gr.Dropdown(choices=[row[0] for row in ui.documents_table()], label="Document", scale=3)
                remove = gr.Button("Delete document", variant="stop", scale=1)
            delete_note = gr.HTML()
        with gr.Tab("Settings"):
            backend = gr.Radio(ui.backends(), value=s.generator if s.generator in ui.backends() else "extractive",
                               label="Answer backend (extractive: no LLM; openai: the configured endpoint; "
                                     "local: the tiny SmolLM2 on this machine)")
            top_k = gr.Slider(1, 20, value=s.top_k, step=1, label="Passages retrieved (top-k)")
            mode = gr.Radio(["hybrid", "dense", "bm25"], value=s.retrieval, label="Retrieval")
            policy = gr.Radio(["refuse", "warn"], value=s.answer_policy,
                              label="When most sentences of an LLM answer are unsupported")
            gr.Markdown("Settings apply to this browser session only.")

        @_with_request
        def set_prefs(g, k, r, p, old, request=None):  # type: ignore[no-untyped-def]
            if ui.allowed(request):
                return old
            return {"generator": g, "top_k": int(k), "retrieval": r, "answer_policy": p}

        for control in (backend, top_k, mode, policy):
            control.change(set_prefs, [backend, top_k, mode, policy, prefs], prefs, api_name=False)

        @_with_request
        def respond(message, chat_, turns_, prefs_, request=None):  # type: ignore[no-untyped-def]
            yield from ui.respond(message, chat_, turns_, prefs_, request)

        @_with_request
        def export_(turns_, request=None):  # type: ignore[no-untyped-def]
            return ui.export(turns_, request)

        @_with_request
        def start_over(request=None):  # type: ignore[no-untyped-def]
            ui.forget(request)
            return [], render_sources(None), "", [], None

        # The export button always holds the current conversation as a Markdown file.
        send.click(respond, [box, chat, turns, prefs], [chat, sources, box, turns], api_name=False) \
            .then(export_, turns, export, api_name=False)
        box.submit(respond, [box, chat, turns, prefs], [chat, sources, box, turns], api_name=False) \
            .then(export_, turns, export, api_name=False)
        clear.click(start_over, None, [chat, sources, box, turns, export], api_name=False)

        def on_like(data, t, request=None):  # type: ignore[no-untyped-def]
            why = ui.like(data, t, request)
            if why:
                raise gr.Error(why)

        # Gradio injects LikeData and Request by the annotation's class; this module's annotations are strings.
        on_like.__annotations__ = {"data": gr.LikeData, "request": gr.Request}

        chat.like(on_like, turns, None, api_name=False)

        @_with_request
        def comment_(r, c, t, request=None):  # type: ignore[no-untyped-def]
            return ui.comment(r, c, t, request)

        send_fb.click(comment_, [rating, comment, turns], [fb_note, comment], api_name=False)

        @_with_request
        def do_upload(files, progress=gr.Progress(), request=None):  # type: ignore[no-untyped-def]
            return ui.upload(files, progress, request)

        @_with_request
        def do_delete(doc_id, request=None):  # type: ignore[no-untyped-def]
            return ui.delete(doc_id, request)

        ingest.click(do_upload, uploads, [ingest_note, docs, pick], api_name=False)
        remove.click(do_delete, pick, [delete_note, docs, pick], api_name=False)
        hidden_q = gr.Textbox(visible=False)
        hidden_out = gr.JSON(visible=False)
        hidden_q.submit(ask_json, hidden_q, hidden_out, api_name="ask")
    return demo


def app(bot: Assistant, host: str = "127.0.0.1", port: int = 7860, files: PrivateFiles | None = None) -> Any:
    """The ASGI app `launch` serves: the Gradio Blocks mounted in FastAPI, behind `UIGuard`
    (Host check, no other web origin, body caps, login rate limit). Never a share link, no
    monitoring endpoint, a bounded queue, uploads capped, the index never served; login when
    ASSISTANT_UI_USER and ASSISTANT_UI_PASSWORD are set."""
    import gradio as gr
    from fastapi import FastAPI

    files = files or PrivateFiles()
    # Gradio's cache (uploads, the export copies) goes in the private folder, not /tmp/gradio.
    os.environ["GRADIO_TEMP_DIR"] = str(files.root)
    user, password = os.environ.get("ASSISTANT_UI_USER"), os.environ.get("ASSISTANT_UI_PASSWORD")
    ui = UI(bot, login=bool(user and password), files=files)
    demo = build(bot, ui)
    demo.queue(default_concurrency_limit=bot.settings.ui_concurrency, max_size=bot.settings.ui_queue_size)
    demo.delete_cache = (600, 3600)  # cached copies older than an hour go
    auth = login_checker(ui.limits, user, password) if user and password else None
    fastapi_app = gr.mount_gradio_app(
        FastAPI(openapi_url=None, docs_url=None, redoc_url=None), demo, path="", server_name=host, server_port=port,
        auth=auth, max_file_size=f"{MAX_UPLOAD_MB}mb", enable_monitoring=False, ssr_mode=False, css=CSS, js=JS,
        allowed_paths=[], blocked_paths=[str(bot.settings.index_path.resolve())], mcp_server=False)
    return UIGuard(fastapi_app, bot.settings, host, ui.limits)


def _hard_stop(files: PrivateFiles, grace: float) -> None:
    """After `grace` seconds, remove the private folder and end the process, whatever is
    still running (a daemon timer: it never keeps the process alive itself)."""
    def stop() -> None:
        files.remove()
        sys.stderr.flush()
        os._exit(0)
    timer = threading.Timer(grace, stop)
    timer.daemon = True
    timer.start()


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, bounded on stop: Gradio's lifespan and queue can wait on open
        event streams for ever, so a SIGTERM ends the process within STOP_GRACE seconds."""

        def __init__(self, config: Any, files: PrivateFiles) -> None:
            super().__init__(config)
            self.files = files

        def handle_exit(self, sig: int, frame: Any) -> None:
            if not self.should_exit:
                _hard_stop(self.files, STOP_GRACE)
            super().handle_exit(sig, frame)

    return Server


STOP_GRACE = 10.0  # seconds a stopping UI server waits for its requests before it exits anyway


def _Server(config: Any, files: PrivateFiles) -> Any:
    return _server_class()(config, files)


def launch(bot: Assistant, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve the UI on `host:port` (local only unless `host` says otherwise) until stopped;
    the private folder of exports and cached files is removed on the way out (SIGTERM too)."""
    import uvicorn

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    bot.keyword()  # open the index before the first visitor (and fail early)
    files = PrivateFiles()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    code = 0
    try:
        print(f"chat window on http://{host}:{port}", file=sys.stderr)
        config = uvicorn.Config(app(bot, host, port, files), host=host, port=port, log_level="warning",
                                timeout_graceful_shutdown=5)  # open event streams must not hold up a stop
        _Server(config, files).run()
    except SystemExit as e:  # SIGTERM (uvicorn re-raises it once it has shut down)
        code = e.code if isinstance(e.code, int) else 0
    finally:
        files.remove()
        bot.close()
    if threading.current_thread() is threading.main_thread():
        # Gradio's queue leaves worker threads that are not daemons: after a stop with sessions
        # still open they kept the process alive for ever. Everything is written and cleaned up.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
