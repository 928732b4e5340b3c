"""What the panel shows of a finished reply beyond its text and blocks, as pure data.

``reply_view(reply)`` gives the keys an assistant transcript entry carries for the panel
(see js/README.md's trait contract): tool calls with their input and output as pretty
JSON text, other actions, a handoff's payload, the per-reply usage line's numbers, the
sources with their titles, and the plain text apart from the snapshot blocks, with which
came first.
Everything the agent sent stays text here; the front end escapes it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ._metadata import source_parts

if TYPE_CHECKING:
    from .reply import Reply

__all__ = ["MAX_ACTION_CHARS", "MAX_JSON_CHARS", "action_parts", "json_text", "reply_view"]

MAX_JSON_CHARS = 20_000
"""A tool call's input or output is cut to this many characters, with a note saying so."""
MAX_ACTION_CHARS = 2_000
"""Another action's payload, or a handoff's, is cut to this many characters."""
_SHOWN_ELSEWHERE = ("request_handoff", "tool_call")


def json_text(value: Any, limit: int = MAX_JSON_CHARS, *, indent: int | None = 2) -> str | None:
    """``value`` as pretty JSON text, at most ``limit`` characters (plus a note); a string as itself.

    None stays None (nothing was sent). Encoding stops once past the limit, so a huge
    value costs about ``limit`` characters of work; a value JSON cannot hold (too deep,
    not JSON at all) is described instead of raising. ``indent=None`` gives compact JSON
    on one line (a terminal's), with the note on that line too.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    else:
        pieces: list[str] = []
        size = 0
        try:
            for piece in json.JSONEncoder(indent=indent, ensure_ascii=False).iterencode(value):
                pieces.append(piece)
                size += len(piece)
                if size > limit:
                    break
        except (TypeError, ValueError, RecursionError) as exc:
            return f"(could not be shown as JSON: {type(exc).__name__})"
        text = "".join(pieces)
    if len(text) <= limit:
        return text
    before_note = " " if indent is None else "\n"
    return f"{text[:limit]}{before_note}… (cut at {limit:,} characters)"


def _action_text(action: dict[str, Any], limit: int, indent: int | None) -> str:
    payload = action.get("payload")
    if payload is not None:
        return json_text(payload, limit, indent=indent) or ""
    rest = {key: value for key, value in action.items() if key != "type"}
    return (json_text(rest, limit, indent=indent) or "") if rest else ""


def action_parts(
    reply: Reply, limit: int = MAX_ACTION_CHARS, *, indent: int | None = 2
) -> tuple[list[dict[str, str]], str | None]:
    """The actions other than handoffs and tool calls as ``[{type, text}]``, and the first
    handoff's payload as JSON text (None when no handoff carried one)."""
    actions, handoff = [], None
    for action in reply.actions:
        kind = action.get("type")
        if kind == "request_handoff":
            if handoff is None and action.get("payload") is not None:
                handoff = json_text(action["payload"], limit, indent=indent)
        elif kind not in _SHOWN_ELSEWHERE:
            actions.append(
                {"type": kind if isinstance(kind, str) else "unknown", "text": _action_text(action, limit, indent)}
            )
    return actions, handoff


def _sources(reply: Reply) -> list[dict[str, str | None]]:
    items: list[dict[str, str | None]] = []
    seen: set[tuple[str | None, ...]] = set()
    for source in reply.source_details:
        parts = source_parts(source)
        key = (parts["url"], parts["title"], parts["id"])
        if any(key) and key not in seen:
            seen.add(key)
            items.append(parts)
    return items


def reply_view(reply: Reply) -> dict[str, Any]:
    """The panel's extra keys for one finished reply; JSON-ready, never raises on odd data.

    ``tool_calls`` ``[{name, input, output}]`` (JSON text or None), ``actions`` ``[{type,
    text}]`` (actions other than handoffs and tool calls), ``handoff_payload`` (text or
    None), ``usage`` ``{first_chunk_s, elapsed_s, input_tokens, output_tokens, model}``
    (None when unknown), ``source_items`` ``[{url, title, id}]``, ``blocks_first`` and
    ``plain_text`` (the plain chunks' text when there are blocks too, else None).
    """
    actions, handoff = action_parts(reply)
    return {
        "tool_calls": [
            {"name": call.name, "input": json_text(call.input), "output": json_text(call.output)}
            for call in reply.tool_calls
        ],
        "actions": actions,
        "handoff_payload": handoff,
        "usage": {
            "first_chunk_s": reply.time_to_first_chunk,
            "elapsed_s": reply.elapsed,
            "input_tokens": reply.input_tokens,
            "output_tokens": reply.output_tokens,
            "model": reply.model,
        },
        "source_items": _sources(reply),
        "blocks_first": reply.snapshot_first,
        "plain_text": "".join(reply.chunks) if reply.ui_turn is not None else None,
    }
