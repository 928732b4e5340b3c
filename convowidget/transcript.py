"""The transcript as inert markdown for ``to_markdown()`` (a saved notebook's copy is ``_copy_html``).

Agent replies are untrusted. The markdown shows the agent's raw HTML as text: it escapes
``<``, ``>`` and ``&`` as entities outside code, keeps fenced code literal in fences it
writes itself (inside block quotes too), and turns every link that does not go to
http(s), mailto: or tel: into plain text (``_inert_links``, with a real markdown parser).
"""

from __future__ import annotations

import html
import re
from typing import Any

from ._inert_links import neutralise_links

__all__ = ["escape_markdown", "transcript_markdown"]

_FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_BACKTICKS = re.compile(r"`+")
_LANGUAGE = re.compile(r"[\w+#.-]{1,40}")
_QUOTE_MARKERS = re.compile(r"^(?: {0,3}>)+")
_FEEDBACK = {"up": "helpful", "down": "not helpful"}
_QUOTE_MARKER = re.compile(r" {0,3}> ?")  # one level of block quote, with its optional space


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_prose_line(line: str) -> str:
    """One line of prose: HTML shown as text; blockquote markers kept."""
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


def _quote_depth(line: str) -> int:
    """How many block quotes ``line`` is inside, by its ``>`` markers."""
    depth, position = 0, 0
    while (marker := _QUOTE_MARKER.match(line, position)) is not None:
        depth, position = depth + 1, marker.end()
    return depth


def _unquoted(line: str, depth: int) -> str | None:
    """``line`` without ``depth`` levels of quote markers, or None when it has fewer (the quote ended)."""
    position = 0
    for _ in range(depth):
        marker = _QUOTE_MARKER.match(line, position)
        if marker is None:
            return None
        position = marker.end()
    return line[position:]


def _code_block(lines: list[str], i: int) -> tuple[list[str], int] | None:
    """The fenced code block opening at line ``i`` (in block quotes or not), rewritten with our
    own fence inside the same quotes, and the line after it; None when line ``i`` opens none."""
    depth = _quote_depth(lines[i])
    opening = _FENCE_OPEN.match(_unquoted(lines[i], depth) or "")
    if not opening or (opening.group(2)[0] == "`" and "`" in opening.group(3)):
        return None
    indent, marker, info = len(opening.group(1)), opening.group(2), opening.group(3)
    closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
    body: list[str] = []
    after = len(lines)
    for j in range(i + 1, len(lines)):
        inner = _unquoted(lines[j], depth)
        if inner is None or closing.match(inner):  # the quote ends, and the code with it; or the fence
            after = j if inner is None else j + 1
            break
        body.append(inner)
    prefix = "> " * depth
    block = [prefix + line if line else prefix.rstrip() for line in _fenced(info, body, indent)]
    if after == len(lines) or _unquoted(lines[after], depth) is None:
        block[-1] = ""  # the quote ends here too: nothing may read as its lazy continuation
    return block, after


def _inert(text: str) -> str:
    """``escape_markdown`` but for links, left to one pass over the whole document."""
    out: list[str] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        code = _code_block(lines, i)
        if code is not None:
            out.extend(code[0])
            i = code[1]
            continue
        out.append(_escape_prose_line(lines[i]))
        i += 1
    return "\n".join(out).strip("\n")


def escape_markdown(text: str) -> str:
    """``text`` (markdown from an agent) made inert: HTML as text, code kept literal and readable.

    Fenced code blocks are re-written with a fence at column 0 of their block quote so every
    renderer agrees where code starts and ends; everything else escapes ``<``, ``>`` and ``&``;
    links that go anywhere but http(s), mailto: or tel: become plain text.
    """
    return neutralise_links(_inert(text))


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n")) or ">"


def transcript_markdown(label: str, entries: list[dict[str, Any]]) -> str:
    """One section per message: the user's prompts quoted, the agent's replies as markdown."""
    lines = [f"**{_inert(label)}**"]
    if not entries:
        lines.append("*No messages yet.*")
    for entry in entries:
        if entry.get("role") == "user":
            lines.append(f"**You:**\n\n{_quote(_inert(str(entry.get('text', ''))))}")
            continue
        text = _inert(str(entry.get("text") or "")) or "*(no text)*"
        lines.append(f"**Agent:**\n\n{text}")
        sources = entry.get("sources") or []
        if sources:
            lines.append("Sources: " + ", ".join(_inert(str(s)) for s in sources))
        if entry.get("handoff"):
            lines.append("*The agent asked for a human to take over.*")
        if entry.get("status") != "complete":
            reason = _inert(str(entry.get("error") or "no reason given"))
            lines.append(f"*Reply {_inert(str(entry.get('status')))}: {reason}*")
        if entry.get("feedback") in _FEEDBACK:
            note = entry.get("feedback_note")
            lines.append(f"*Feedback: {_FEEDBACK[entry['feedback']]}*" + (f" — {_inert(str(note))}" if note else ""))
    return neutralise_links("\n\n".join(lines))  # pieces put together can make a link too
