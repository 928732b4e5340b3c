"""What the copy of a conversation under a chat panel looks like: inert, formatted HTML.

The copy is a header output and page outputs (``_saved_copy`` says which and when).
The header is one line, a ``<details>`` whose summary names the conversation, and a
``<style>`` rule that hides the pages until that summary is opened: so while the kernel
runs, and in a trusted notebook or an nbconvert export, the whole copy is one quiet line.
Where a sanitiser removes the ``<style>`` (an untrusted notebook in JupyterLab or
Notebook 7, GitHub), the pages simply show under the header.

A reply is rendered from markdown by ``markdown_to_safe_html`` (raw HTML off, links to
http(s), mailto: and tel: only, images from https: only, no class, id or style from the
agent). Our own markup is plain tags that every host keeps; a prompt is text, a line per
``<div>``. The only class and id are the copy's own, for the rule above.
"""

from __future__ import annotations

import html
from typing import Any

from ._markdown import markdown_to_safe_html

__all__ = ["EMPTY_CONVERSATION", "MESSAGE_FIELDS", "header_html", "header_text", "message_html", "page_html"]

EMPTY_CONVERSATION = "<div><em>No messages yet.</em></div>"
MESSAGE_FIELDS = ("role", "text", "status", "error", "sources", "handoff", "feedback", "feedback_note")
"""The transcript entry's fields ``message_html`` reads: the same fields, the same HTML."""

_FEEDBACK = {"up": "helpful", "down": "not helpful"}
_ROLE = '<div style="margin-top: 0.8em"><strong>{}:</strong></div>'
_PARAGRAPH = '<div style="margin-bottom: 0.8em">'


def header_text(label: str) -> str:
    """The one line the copy shows before it is opened (also its text/plain)."""
    return f"Conversation with {label} (a copy for when the kernel is gone)"


def header_html(label: str, copy_id: str) -> str:
    """The summary line, and the rule that hides the pages of ``copy_id`` until it is opened."""
    rule = f"html:not(:has(#{copy_id}[open])) .{copy_id} {{display: none}}"
    summary = html.escape(header_text(label))
    return f'<details id="{copy_id}"><summary>{summary}</summary></details><style>{rule}</style>'


def page_html(copy_id: str, messages: list[str]) -> str:
    """Rendered messages as one page of the copy of ``copy_id``."""
    return f'<div class="{copy_id}">\n' + "\n".join(messages) + "\n</div>"


def message_html(entry: dict[str, Any]) -> str:
    """One transcript entry: the user's prompt as text, the agent's reply as formatted markdown."""
    if entry.get("role") == "user":
        return _ROLE.format("You") + f"<blockquote>{_lines(str(entry.get('text', '')))}</blockquote>"
    text = str(entry.get("text") or "")
    rendered = markdown_to_safe_html(text) if text.strip() else _note("(no text)")
    body = _paragraphs_as_divs(rendered) if rendered is not None else _preformatted(text)
    parts = [_ROLE.format("Agent"), body]
    sources = entry.get("sources") or []
    if sources:
        parts.append(_note(f"Sources: {', '.join(str(source) for source in sources)}"))
    if entry.get("handoff"):
        parts.append(_note("The agent asked for a human to take over."))
    if entry.get("status") != "complete":
        parts.append(_note(f"Reply {entry.get('status')}: {entry.get('error') or 'no reason given'}"))
    if entry.get("feedback") in _FEEDBACK:
        note = entry.get("feedback_note")
        parts.append(_note(f"Feedback: {_FEEDBACK[entry['feedback']]}" + (f" — {note}" if note else "")))
    return "\n".join(parts)


def _paragraphs_as_divs(rendered: str) -> str:
    """Rendered markdown with each ``<p>`` a ``<div>`` spaced as a paragraph.

    nbconvert's ``--sanitize-html`` shows a ``<p>`` as the text "<p>" but keeps a ``<div>``.
    Only markdown-it's own tags can read "<p>": it escapes ``<`` in text and attributes.
    """
    return rendered.replace("<p>", _PARAGRAPH).replace("</p>", "</div>")


def _lines(text: str) -> str:
    """Text with its line breaks, a ``<div>`` per line: every host keeps a div, not all a ``<br>``."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "".join(f"<div>{html.escape(line) or '&#160;'}</div>" for line in lines)


def _preformatted(text: str) -> str:
    """The reply as escaped text, when it cannot be rendered as markdown."""
    return f'<pre style="white-space: pre-wrap">{html.escape(text)}</pre>'


def _note(text: str) -> str:
    return f"<div><em>{html.escape(text)}</em></div>"
