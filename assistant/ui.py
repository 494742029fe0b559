"""The Gradio chat window. Thin: every handler calls the `Assistant`; nothing here
opens stores or runs pipeline stages itself. All article text is HTML-escaped."""
from __future__ import annotations

import html
import os
from typing import Any, Iterator

from .errors import AssistantError
from .facade import Assistant
from .types import Answer, to_dict

CSS = """
.cite-quote {background: #fff3a3; color: #111; padding: 0 2px;}
.source-card {border: 1px solid #ddd; border-radius: 6px; padding: 8px; margin: 6px 0;}
.source-card p {white-space: pre-wrap;}
.refusal {color: #8a5a00; font-style: italic;}
"""


def history_pairs(history: list[Any]) -> list[tuple[str, str]]:
    """(question, answer) pairs from Gradio's message-format history."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for msg in history or []:
        role = msg.get("role") if isinstance(msg, dict) else getattr(msg, "role", None)
        content = msg.get("content") if isinstance(msg, dict) else getattr(msg, "content", "")
        text = content if isinstance(content, str) else str(content)
        if role == "user":
            question = text
        elif role == "assistant" and question is not None:
            pairs.append((question, text))
            question = None
    return pairs


def render_answer(answer: Answer) -> str:
    """The chat bubble: answer text (escaped), refusals and unsupported sentences marked."""
    if answer.refused:
        return f"<span class='refusal'>{html.escape(answer.answer)}</span>"
    parts = []
    for s in answer.sentences:
        marks = "".join(f"<sup>[{n}]</sup>" for n in s.citations)
        text = html.escape(s.text)
        parts.append(text + marks if s.supported else f"<span title='not supported by the articles'>⚠ {text}</span>")
    return " ".join(parts)


def render_sources(answer: Answer | None) -> str:
    """The sources panel: for each [n], the quote highlighted inside its passage."""
    if answer is None:
        return "<p>Sources of the last answer appear here.</p>"
    if not answer.citations:
        return "<p>No sources: the articles do not answer this question.</p>"
    by_chunk = {p.chunk_id: p for p in answer.passages}
    cards = []
    for c in answer.citations:
        p = by_chunk.get(c.chunk_id)
        if p is not None:
            a, b = c.start - p.start, c.end - p.start
            body = (html.escape(p.text[:a]) + f"<mark class='cite-quote'>{html.escape(p.text[a:b])}</mark>"
                    + html.escape(p.text[b:]))
        else:
            body = f"<mark class='cite-quote'>{html.escape(c.quote)}</mark>"
        cards.append(f"<div class='source-card' id='source-{c.n}'><b>[{c.n}] {html.escape(c.title)}</b>"
                     f"<br><small>{html.escape(c.source)} · chars {c.start}–{c.end}</small><p>{body}</p></div>")
    return "".join(cards)


def build(bot: Assistant) -> Any:
    """The Gradio Blocks app over `bot`."""
    import gradio as gr

    def respond(message: str, history: list[Any]) -> Iterator[tuple[list[Any], str, str]]:
        pairs = history_pairs(history)
        history = list(history or []) + [{"role": "user", "content": message}]
        text = ""
        try:
            for item in bot.stream(message, history=pairs):
                if isinstance(item, Answer):
                    yield history + [{"role": "assistant", "content": render_answer(item)}], render_sources(item), ""
                else:
                    text += item
                    yield history + [{"role": "assistant", "content": html.escape(text)}], "", ""
        except AssistantError as e:
            yield history + [{"role": "assistant", "content": f"⚠ {html.escape(str(e))}"}], "", ""

    def ask_json(question: str) -> dict[str, Any]:
        """Same JSON as `assistant ask --json`."""
        return to_dict(bot.ask(question))

    with gr.Blocks(title="News assistant") as demo:
        gr.Markdown("### Ask about the news articles\nEvery sentence cites the exact passage it comes from.")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Conversation", height=480, sanitize_html=True)
                box = gr.Textbox(placeholder="e.g. How much territory did Ukraine lose in July?", label="Question")
                with gr.Row():
                    send = gr.Button("Ask", variant="primary")
                    clear = gr.Button("Start over")
            with gr.Column(scale=2):
                sources = gr.HTML(render_sources(None), label="Sources")
        send.click(respond, [box, chat], [chat, sources, box], api_name=False)
        box.submit(respond, [box, chat], [chat, sources, box], api_name=False)
        clear.click(lambda: ([], render_sources(None), ""), None, [chat, sources, box], api_name=False)
        hidden_q = gr.Textbox(visible=False)
        hidden_out = gr.JSON(visible=False)
        hidden_q.submit(ask_json, hidden_q, hidden_out, api_name="ask")
    return demo


def launch(bot: Assistant, host: str = "127.0.0.1", port: int = 7860, **kwargs: Any) -> None:
    """Serve the UI (local only unless `host` says otherwise; never a public share link)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = build(bot)
    demo.queue(default_concurrency_limit=2, max_size=32)
    auth = None
    if os.environ.get("ASSISTANT_UI_USER") and os.environ.get("ASSISTANT_UI_PASSWORD"):
        auth = (os.environ["ASSISTANT_UI_USER"], os.environ["ASSISTANT_UI_PASSWORD"])
    demo.launch(server_name=host, server_port=port, share=False, auth=auth, max_file_size="20mb",
                enable_monitoring=False, ssr_mode=False, css=CSS, **kwargs)
