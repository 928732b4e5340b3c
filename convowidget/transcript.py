"""The transcript as inert markdown for ``to_markdown()`` (a saved notebook's copy is ``_copy_html``).

Agent replies are untrusted. The markdown shows the agent's raw HTML as text: it escapes
``<``, ``>`` and ``&`` as entities outside code, keeps fenced code literal in fences it
writes itself, and turns ``javascript:`` (also ``vbscript:``, ``data:``) links into text.
"""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["escape_markdown", "transcript_markdown"]

_FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_BACKTICKS = re.compile(r"`+")
_LANGUAGE = re.compile(r"[\w+#.-]{1,40}")
_QUOTE_MARKERS = re.compile(r"^(?: {0,3}>)+")
_BAD_SCHEME = "".join(rf"{letter}[\x00-\x20]*" for letter in "javascript") + "|"
_BAD_SCHEME += "".join(rf"{letter}[\x00-\x20]*" for letter in "vbscript") + "|"
_BAD_SCHEME += "".join(rf"{letter}[\x00-\x20]*" for letter in "data")
# "](" of an inline link, or "]:" of a link definition, whose destination is a script.
_SCRIPT_LINK = re.compile(rf"\](?=[(:]\s*(?:{_BAD_SCHEME}):)", re.IGNORECASE)


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_prose_line(line: str) -> str:
    """One line of prose: script links defused, HTML shown as text; blockquote markers kept."""
    line = _SCRIPT_LINK.sub(r"]\\", line)  # "](javascript:" -> "]\(javascript:": not a link
    markers = _QUOTE_MARKERS.match(line)
    keep = markers.group(0) if markers else ""
    rest = line[len(keep) :]
    out: list[str] = []
    i = 0
    while i < len(rest):
        ch = rest[i]
        if ch == "\\" and i + 1 < len(rest):
            nxt = rest[i + 1]
            # A backslash-escaped <, > or & shows that character: the entity does the same.
            out.append(_entities(nxt) if nxt in "<>&" else ch + nxt)
            i += 2
            continue
        if ch == "`":
            run = _BACKTICKS.match(rest, i)
            assert run is not None
            width = run.end() - i
            close = next((m for m in _BACKTICKS.finditer(rest, run.end()) if m.end() - m.start() == width), None)
            if close is None:
                out.append("\\`" * width)  # no partner on this line: a literal backtick, never a delimiter
                i = run.end()
                continue
            code = rest[run.end() : close.start()]
            if "|" in code:  # a table row may split it: show it as text
                out.append("\\`" * width + _entities(code) + "\\`" * width)
            elif any(c in code for c in "<>&"):
                out.append(f"<code>{html.escape(code, quote=False)}</code>")  # our tag, escaped content
            else:
                out.append(rest[i : close.end()])  # harmless either way: kept as a code span
            i = close.end()
            continue
        out.append(_entities(ch))
        i += 1
    return keep + "".join(out)


def _fenced(language: str, lines: list[str], indent: int) -> list[str]:
    """A code block written with our own fence at column 0, longer than any backtick run inside."""
    body = [line[min(indent, len(line) - len(line.lstrip(" "))) :] for line in lines]
    longest = max((len(m.group(0)) for line in body for m in _BACKTICKS.finditer(line)), default=0)
    fence = "`" * max(3, longest + 1)
    word = _LANGUAGE.match(language.strip())
    return ["", fence + (word.group(0) if word else ""), *body, fence, ""]


def escape_markdown(text: str) -> str:
    """``text`` (markdown from an agent) made inert: HTML as text, code kept literal and readable.

    Fenced code blocks are re-written with a fence at column 0 so every renderer agrees
    where code starts and ends; everything else escapes ``<``, ``>`` and ``&``.
    """
    out: list[str] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i])
        if opening and not (opening.group(2)[0] == "`" and "`" in opening.group(3)):
            indent, marker, info = len(opening.group(1)), opening.group(2), opening.group(3)
            closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
            end = next((j for j in range(i + 1, len(lines)) if closing.match(lines[j])), len(lines))
            out.extend(_fenced(info, lines[i + 1 : end], indent))
            i = end + 1
            continue
        out.append(_escape_prose_line(lines[i]))
        i += 1
    return "\n".join(out).strip("\n")


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n")) or ">"


def transcript_markdown(label: str, entries: list[dict[str, Any]]) -> str:
    """One section per message: the user's prompts quoted, the agent's replies as markdown."""
    lines = [f"**{escape_markdown(label)}**"]
    if not entries:
        lines.append("*No messages yet.*")
    for entry in entries:
        if entry.get("role") == "user":
            lines.append(f"**You:**\n\n{_quote(escape_markdown(str(entry.get('text', ''))))}")
            continue
        text = escape_markdown(str(entry.get("text") or "")) or "*(no text)*"
        lines.append(f"**Agent:**\n\n{text}")
        sources = entry.get("sources") or []
        if sources:
            lines.append("Sources: " + ", ".join(escape_markdown(str(s)) for s in sources))
        if entry.get("handoff"):
            lines.append("*The agent asked for a human to take over.*")
        if entry.get("status") != "complete":
            reason = escape_markdown(str(entry.get("error") or "no reason given"))
            lines.append(f"*Reply {escape_markdown(str(entry.get('status')))}: {reason}*")
    return "\n\n".join(lines)
