"""The Gradio chat window: layout and serving. Handlers live in `ui_handlers.UI`, HTML in
`ui_render`, saved conversations in `ui_history`. All article text, titles, questions and
error messages are HTML-escaped before they reach the page."""
from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, Callable

from assistant.core.errors import AssistantError
from assistant.facade import Assistant
from assistant.ingest.load import SUPPORTED
from assistant.serve.openai_format import answer_object
from assistant.serve.ui_access import UIGuard, login_checker
from assistant.serve.ui_handlers import ANY_OUTLET, BACKENDS, MAX_UPLOAD_MB, UI, safe_upload_name
from assistant.serve.ui_render import chat_messages, export_markdown, render_answer, render_sources
from assistant.serve.uploads import PrivateFiles

__all__ = ["UI", "app", "build", "export_markdown", "launch", "render_answer", "render_sources", "safe_upload_name"]

CSS = """
.cite-quote {background: #fff3a3; color: #111; padding: 0 2px;}
.source-card {border: 1px solid #ddd; border-radius: 6px; padding: 8px; margin: 6px 0;}
.source-card p {white-space: pre-wrap;}
.source-card.active {border-color: #c48a00; box-shadow: 0 0 0 2px #f5d36b;}
.source-group.hidden-group {display: none;}
.group-title {font-size: 0.85em; color: #555; margin: 4px 0;}
.refusal {color: #8a5a00; font-style: italic;}
.glyph {display: inline-block; width: 1.1em; height: 1.1em; line-height: 1.1em; border-radius: 50%;
        border: 1px solid currentColor; text-align: center; font-style: normal; font-weight: bold;
        font-size: 0.8em; font-family: serif;}
.plain-text {display: none;}
.unsupported {text-decoration: underline dotted #c00; color: #8a1c1c;}
.answer-warning {color: #8a1c1c; font-size: 0.9em;}
.date-hint {color: #555;}
ol.timeline li {margin: 6px 0;}
.welcome {padding: 8px 12px; border: 1px dashed #bbb; border-radius: 6px; margin-bottom: 6px;}
a.cite {text-decoration: none; font-weight: bold;}
#conversations {max-height: 420px; overflow-y: auto;}
footer {display: none !important;}
.page-state {display: none !important;}
"""

# Clicking [n] in an answer shows that answer's own source group and highlights the card.
# Copy on an answer puts its plain text (with [n] and quotes) on the clipboard, not its HTML.
# Both are delegated, so they work for messages added later.
JS = """
() => {
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('a.cite');
    if (!a) return;
    ev.preventDefault();
    const id = (a.getAttribute('href') || '').replace(/^#/, '');
    const m = /^source-(\\d+)-/.exec(id);
    if (m) {
      document.querySelectorAll('.source-group').forEach(g =>
        g.classList.toggle('hidden-group', g.id !== 'answer-sources-' + m[1]));
    }
    document.querySelectorAll('.source-card.active').forEach(c => c.classList.remove('active'));
    const card = document.getElementById(id);
    if (card) { card.classList.add('active'); card.scrollIntoView({block: 'center'}); }
  });
  document.addEventListener('click', (ev) => {
    const b = ev.target.closest && ev.target.closest('#chat button[aria-label="Copy message"]');
    if (!b) return;
    // The buttons bar follows its message row: look back to that row only.
    let row = b.closest('.message-buttons'), plain = null;
    row = row ? row.previousElementSibling : null;
    while (row && !row.classList.contains('message-buttons')) {
      const found = row.querySelector('.plain-text');
      if (found) { plain = found.textContent; break; }
      row = row.previousElementSibling;
    }
    if (plain === null) return;
    ev.preventDefault();
    ev.stopPropagation();
    const fallback = () => {
      const t = document.createElement('textarea');
      t.value = plain; document.body.appendChild(t); t.select();
      document.execCommand('copy'); t.remove();
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(plain).catch(fallback);
    else fallback();
    window.__lastCopied = plain;
  }, true);
}
"""

HELP = {
    "backend": "extractive: quotes the articles, no LLM; openai: the endpoint in ASSISTANT_LLM_*; "
               "local: a small model (Qwen2.5-1.5B, or ASSISTANT_LOCAL_MODEL) on this machine. States are listed below.",
    "top_k": "How many passages are searched for an answer: more finds more, but is slower and noisier.",
    "retrieval": "hybrid: meaning + keywords (best); dense: meaning only; bm25: keywords only.",
    "policy": "LLM backends only: when most sentences lack support, refuse the answer, or show it with "
              "those sentences marked. The extractive backend only writes supported sentences.",
}


def _with_request(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` with its `request` parameter typed as `gr.Request`, so Gradio passes the request
    (this module's annotations are strings, which Gradio does not resolve)."""
    import gradio as gr

    fn.__annotations__ = {"request": gr.Request}
    return fn


def _theme() -> Any:
    """Gradio's default look with fonts this machine has: the stock theme loads web fonts
    from Google, which fail offline, and some letters then fell back to another font."""
    import gradio as gr

    return gr.themes.Default(font=["DejaVu Sans", "Liberation Sans", "Arial", "sans-serif"],
                             font_mono=["DejaVu Sans Mono", "Liberation Mono", "monospace"])


def build(bot: Assistant, ui: UI | None = None) -> Any:
    """The Gradio Blocks app over `bot` (handlers in `ui`, by default a `UI(bot)`)."""
    import gradio as gr

    ui = ui or UI(bot)
    s = bot.settings

    @_with_request
    def ask_json(question: str, request=None):  # type: ignore[no-untyped-def]
        """Same JSON as `assistant ask --json` (rate limited like the chat; no server paths)."""
        try:
            ui.limits.question(request)
            return answer_object(bot.ask(question))
        except AssistantError as e:
            raise gr.Error(str(e)) from None

    with gr.Blocks(title="News assistant") as demo:
        turns = gr.State([])
        conv = gr.State("")
        prefs = gr.State({"generator": s.generator, "top_k": s.top_k, "retrieval": s.retrieval,
                          "answer_policy": s.answer_policy})
        pending = gr.State("")
        loaded = gr.HTML("", elem_id="loaded", elem_classes=["page-state"])  # marks the first state as arrived
        gr.Markdown("### Ask about the news articles\nEvery sentence cites the exact passage it comes from; "
                    "click a [n] to see it.")
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=1, min_width=200):
                    conv_list = gr.Radio([], label="Conversations", elem_id="conversations")
                    new = gr.Button("New conversation", elem_id="start-over")
                    conv_name = gr.Textbox(label="Name", placeholder="rename this conversation", max_length=80,
                                           elem_id="conv-name")
                    with gr.Row():
                        rename = gr.Button("Rename", size="sm", elem_id="rename")
                        drop = gr.Button("Delete", size="sm", variant="stop", elem_id="delete-conversation")
                    conv_note = gr.HTML(elem_id="conv-note")
                with gr.Column(scale=3):
                    intro = gr.HTML(elem_id="welcome")
                    chat = gr.Chatbot(label="Conversation", height=460, sanitize_html=True, render_markdown=False,
                                      buttons=["copy"], elem_id="chat")
                    box = gr.Textbox(placeholder="Type a question about the articles", label="Question",
                                     elem_id="question", max_length=2000)
                    with gr.Accordion("Filter articles (dates, outlet)", open=False, elem_id="filters"):
                        with gr.Row():
                            since = gr.Textbox(label="Since", placeholder="YYYY-MM-DD", max_length=40, elem_id="since")
                            until = gr.Textbox(label="Until", placeholder="YYYY-MM-DD", max_length=40, elem_id="until")
                            outlet = gr.Dropdown([ANY_OUTLET], value=ANY_OUTLET, label="Outlet", elem_id="outlet",
                                                 allow_custom_value=True)
                        gr.Markdown("Only articles published in this range (inclusive; undated articles then "
                                    "excluded) and by this outlet are searched.")
                    with gr.Row():
                        examples = [gr.Button(visible=False, size="sm", elem_classes=["example"]) for _ in range(3)]
                    with gr.Row():
                        send = gr.Button("Ask", variant="primary", elem_id="ask")
                        stop = gr.Button("Stop", elem_id="stop")
                        regen = gr.Button("Regenerate", elem_id="regenerate")
                        edit = gr.Button("Edit last question", elem_id="edit-last")
                        export = gr.DownloadButton("Export Markdown", elem_id="export")
                    export_note = gr.HTML(elem_id="export-note")
                    with gr.Accordion("Feedback on the last answer", open=False):
                        rating = gr.Radio(["Helpful", "Wrong or unhelpful"], value="Helpful", label="Rating")
                        comment = gr.Textbox(label="Comment (optional)", max_length=2000)
                        send_fb = gr.Button("Send feedback", elem_id="send-feedback")
                        fb_note = gr.HTML()
                with gr.Column(scale=2):
                    sources = gr.HTML(render_sources([]), label="Sources", elem_id="sources")
        with gr.Tab("Timeline"):
            gr.Markdown("What the articles say about a topic, in date order: each line a quoted sentence, placed "
                        "on the date it names (\"on Monday\" resolved against its article's date) or else on its "
                        "article's date; a sentence several outlets print is one line.")
            with gr.Row():
                topic = gr.Textbox(label="Topic", placeholder="e.g. the ceasefire", max_length=200, scale=3,
                                   elem_id="topic")
                t_since = gr.Textbox(label="Since", placeholder="YYYY-MM-DD", max_length=40, scale=1)
                t_until = gr.Textbox(label="Until", placeholder="YYYY-MM-DD", max_length=40, scale=1)
                t_outlet = gr.Dropdown([ANY_OUTLET], value=ANY_OUTLET, label="Outlet", allow_custom_value=True, scale=1)
            show_timeline = gr.Button("Show timeline", variant="primary", elem_id="show-timeline")
            timeline_out = gr.HTML(elem_id="timeline")
        with gr.Tab("Documents") as docs_tab:
            uploads = gr.File(label=f"Upload articles ({', '.join(SUPPORTED)}; at most {MAX_UPLOAD_MB} MB each)",
                              file_count="multiple", file_types=[*SUPPORTED, ".gz"], elem_id="upload")
            ingest = gr.Button("Ingest uploaded files", variant="primary", elem_id="ingest")
            ingest_note = gr.HTML(elem_id="ingest-note")  # escaped text: no Markdown, so no link or image
            docs = gr.Dataframe(headers=["title", "outlet", "published", "chunks", "id", "from"],
                                interactive=False, label="Indexed documents", elem_id="documents")
            with gr.Row():
                pick = gr.Dropdown([], label="Document to delete (type to search by title)", filterable=True,
                                   allow_custom_value=True, scale=3, elem_id="pick")
                remove = gr.Button("Delete document…", variant="stop", scale=1, elem_id="delete-doc")
            with gr.Row(visible=False) as confirm_row:
                confirm_text = gr.HTML(elem_id="confirm-text")
                confirm = gr.Button("Yes, delete it", variant="stop", elem_id="confirm-delete")
                cancel = gr.Button("Cancel", elem_id="cancel-delete")
            delete_note = gr.HTML(elem_id="delete-note")
        with gr.Tab("Settings") as settings_tab:
            backend = gr.Radio(list(BACKENDS), value=s.generator if s.generator in BACKENDS else "extractive",
                               label="Answer backend", info=HELP["backend"], elem_id="backend")
            states = gr.HTML(ui.settings_html(probe=False), elem_id="backend-states")
            top_k = gr.Slider(1, 20, value=s.top_k, step=1, label="Passages retrieved (top-k)", info=HELP["top_k"])
            mode = gr.Radio(["hybrid", "dense", "bm25"], value=s.retrieval, label="Retrieval", info=HELP["retrieval"])
            policy = gr.Radio(["refuse", "warn"], value=s.answer_policy, label="Unsupported LLM answers",
                              info=HELP["policy"])
            settings_note = gr.HTML(elem_id="settings-note")
            gr.Markdown("Settings apply to this browser session only.")

        # -- loading and conversations ----------------------------------------------------
        def show(cid: str, turns_: list[Any], request: Any, docs: Any = None) -> tuple[Any, ...]:
            text, qs = ui.first_screen(docs)
            buttons = [gr.update(value=q, visible=True) for q in qs] + \
                [gr.update(visible=False)] * (len(examples) - len(qs))
            return (cid, turns_, chat_messages(turns_), ui.sources(turns_),
                    gr.update(choices=ui.conversations(request), value=cid or None),
                    gr.update(value=text, visible=not turns_), *buttons)

        shown = [conv, turns, chat, sources, conv_list, intro, *examples]

        @_with_request
        def open_conv(cid, request=None):  # type: ignore[no-untyped-def]
            ui.forget(request)
            got, turns_ = ui.open(cid, request)
            return show(got, turns_, request)

        @_with_request
        def new_conv(request=None):  # type: ignore[no-untyped-def]
            ui.forget(request)
            return (*show("", [], request), "", None)

        @_with_request
        def rename_(cid, name, request=None):  # type: ignore[no-untyped-def]
            note = ui.rename(cid, name, request)
            return gr.update(choices=ui.conversations(request), value=cid or None), note, ""

        @_with_request
        def drop_(cid, request=None):  # type: ignore[no-untyped-def]
            note = ui.delete_conversation(cid, request)
            got, turns_ = ui.open(None, request)
            return (*show(got, turns_, request), note)

        conv_list.input(open_conv, conv_list, shown, api_name=False)
        new.click(new_conv, None, [*shown, box, export], api_name=False)
        chat.clear(new_conv, None, [*shown, box, export], api_name=False)  # the Chatbot's own trash button
        rename.click(rename_, [conv, conv_name], [conv_list, conv_note, conv_name], api_name=False)
        drop.click(drop_, conv, [*shown, conv_note], api_name=False)
        for b in examples:
            b.click(lambda q: q, b, box, api_name=False)

        # -- asking ---------------------------------------------------------------------------
        @_with_request
        def respond(message, turns_, prefs_, cid, since_, until_, outlet_, request=None):  # type: ignore[no-untyped-def]
            filters = {"since": since_, "until": until_, "outlet": outlet_}
            for out in ui.respond(message, turns_, prefs_, cid, request, filters):
                yield (*out, gr.update(visible=False))

        @_with_request
        def regenerate(turns_, prefs_, cid, since_, until_, outlet_, request=None):  # type: ignore[no-untyped-def]
            if not turns_:
                yield chat_messages([]), ui.sources([]), "", [], cid, gr.update()
                return
            yield from respond(turns_[-1]["question"], turns_[:-1], prefs_, cid, since_, until_, outlet_, request)

        @_with_request
        def edit_last(turns_, cid, request=None):  # type: ignore[no-untyped-def]
            if not turns_:
                return chat_messages([]), ui.sources([]), "", [], cid
            rest = turns_[:-1]
            cid = ui.persist(cid, rest, request) if cid else cid
            return chat_messages(rest), ui.sources(rest), turns_[-1]["question"], rest, cid

        @_with_request
        def export_(turns_, request=None):  # type: ignore[no-untyped-def]
            return ui.export(turns_, request)

        @_with_request
        def refresh_list(cid, request=None):  # type: ignore[no-untyped-def]
            return gr.update(choices=ui.conversations(request), value=cid or None)

        asked = [chat, sources, box, turns, conv, intro]
        narrow = [since, until, outlet]
        events = [send.click(respond, [box, turns, prefs, conv, *narrow], asked, api_name=False),
                  box.submit(respond, [box, turns, prefs, conv, *narrow], asked, api_name=False),
                  regen.click(regenerate, [turns, prefs, conv, *narrow], asked, api_name=False)]
        for ev in events:  # the export button always holds the current conversation
            ev.then(export_, turns, export, api_name=False).then(refresh_list, conv, conv_list, api_name=False)
        edit.click(edit_last, [turns, conv], [chat, sources, box, turns, conv], api_name=False) \
            .then(export_, turns, export, api_name=False)

        @_with_request
        def stop_(request=None):  # type: ignore[no-untyped-def]
            ui.stop(request)

        # Cooperative, not Gradio's `cancels`: the answer's own generator ends the stream and
        # shows the part that had arrived; cancelling the event raced its last update and
        # could leave an "Error" badge on the chat.
        stop.click(stop_, None, None, queue=False, api_name=False)

        def empty_export(turns_):  # type: ignore[no-untyped-def]
            return "" if turns_ else "Nothing to export yet: ask a question first."

        export.click(empty_export, turns, export_note, api_name=False)

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

        # -- documents ------------------------------------------------------------------------
        def refresh_docs():  # type: ignore[no-untyped-def]
            return ui.documents_table(), gr.update(choices=ui.choices(), value=None)

        @_with_request
        def do_upload(files, progress=gr.Progress(), request=None):  # type: ignore[no-untyped-def]
            return (ui.upload(files, progress, request), *refresh_docs())

        def ask_delete(doc_id):  # type: ignore[no-untyped-def]
            text, target = ui.confirm_text(doc_id)
            return text, target, gr.update(visible=bool(target)), "" if target else text

        @_with_request
        def do_delete(doc_id, request=None):  # type: ignore[no-untyped-def]
            return (ui.delete(doc_id, request), *refresh_docs(), "", gr.update(visible=False))

        def refresh_outlets():  # type: ignore[no-untyped-def]
            choices = [ANY_OUTLET, *ui.outlets()]
            return gr.update(choices=choices), gr.update(choices=choices)

        @_with_request
        def timeline_(t, a, b, o, request=None):  # type: ignore[no-untyped-def]
            return ui.timeline(t, a, b, o, request)

        show_timeline.click(timeline_, [topic, t_since, t_until, t_outlet], timeline_out, api_name=False)
        topic.submit(timeline_, [topic, t_since, t_until, t_outlet], timeline_out, api_name=False)
        docs_tab.select(refresh_docs, None, [docs, pick], api_name=False)
        @_with_request
        def on_load(request=None):  # type: ignore[no-untyped-def]
            """The page's first state: the newest conversation, the first screen, the document
            list and pickers, from one read of the document list."""
            listed = bot.documents()
            cid, turns_ = ui.open(None, request)
            choices = [ANY_OUTLET, *ui.outlets(listed)]
            return (*show(cid, turns_, request, listed), ui.documents_table(listed),
                    gr.update(choices=ui.choices(listed), value=None), gr.update(choices=choices),
                    gr.update(choices=choices), "<span class='ready'></span>")

        demo.load(on_load, None, [*shown, docs, pick, outlet, t_outlet, loaded], api_name=False)
        ingest.click(do_upload, uploads, [ingest_note, docs, pick], api_name=False) \
            .then(refresh_outlets, None, [outlet, t_outlet], api_name=False)
        remove.click(ask_delete, pick, [confirm_text, pending, confirm_row, delete_note], api_name=False)
        confirm.click(do_delete, pending, [delete_note, docs, pick, pending, confirm_row], api_name=False)
        cancel.click(lambda: ("", gr.update(visible=False), "Nothing deleted."), None,
                     [pending, confirm_row, delete_note], api_name=False)

        # -- settings -------------------------------------------------------------------------
        @_with_request
        def set_prefs(g, k, r, p, old, request=None):  # type: ignore[no-untyped-def]
            new_prefs, note = ui.set_prefs(g, k, r, p, old, request)
            return new_prefs, note, gr.update(value=new_prefs["generator"])

        for control in (backend, top_k, mode, policy):
            control.input(set_prefs, [backend, top_k, mode, policy, prefs], [prefs, settings_note, backend],
                          api_name=False)
        settings_tab.select(lambda: ui.settings_html(probe=True), None, states, api_name=False)

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
        theme=_theme(),
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
        trusted = bot.settings.forwarded_allow_ips  # X-Forwarded-For picks the rate-limit bucket: trusted proxies only
        config = uvicorn.Config(app(bot, host, port, files), host=host, port=port, log_level="warning",
                                timeout_graceful_shutdown=5,  # open event streams must not hold up a stop
                                proxy_headers=bool(trusted), forwarded_allow_ips=trusted)
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
