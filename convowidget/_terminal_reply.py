"""What ``convowidget ask`` prints after a reply's streamed text, as lines (pure, no I/O).

The panel draws a reply's buttons, cards, forms and tool calls; a terminal gets them in
words: choices as a numbered list with each button's target, cards with their title,
forms and inputs as their fields, embedded content as its address (never fetched),
notices, tool calls and other actions as compact JSON, the handoff, the sources, and last
the per-reply line in the panel's words ("0.4 s to first word · 2.1 s · 1,234 → 567
tokens · gpt-4o"). Everything the agent sent passes through ``visible``, so no control
character of its reaches the terminal raw.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from ._terminal import visible
from .reply_view import action_parts, json_text, reply_view
from .turns import turn_blocks

if TYPE_CHECKING:
    from .reply import Reply

__all__ = ["MAX_TERMINAL_JSON", "reply_lines", "usage_line"]

MAX_TERMINAL_JSON = 500
"""A tool call's input or output, or an action's payload, is cut to this many characters."""
HANDOFF_LINE = "(The agent asked for a human to take over.)"
_INDENT = "  "


def _line(value: object) -> str:
    """Agent text for a single line: control characters visible, newlines and tabs as spaces."""
    text = value if isinstance(value, str) else ""
    return visible(text).replace("\n", " ").replace("\t", " ").strip()


def _lines(value: object, indent: str = "") -> list[str]:
    """Agent text of several lines (markdown as written), each made visible and indented."""
    text = value if isinstance(value, str) else ""
    return [f"{indent}{line}".rstrip() for line in visible(text).strip("\n").split("\n")] if text.strip() else []


def _quoted(text: str) -> str:
    """A message a button sends, quoted as a JSON string (newlines and quotes escaped)."""
    return visible(json.dumps(text, ensure_ascii=False))


def _url(url: object) -> str:
    text = _line(url)
    if text.lower().startswith("data:"):  # can be megabytes of base64
        return f"(embedded data, {len(text):,} characters, not shown)"
    return text


# ------------------------------------------------------------------------------ blocks


def _buttons(buttons: list[dict[str, str]], indent: str = _INDENT) -> list[str]:
    """``1. Label → sends "message"`` or ``2. Label → opens URL``, one per button."""
    lines = []
    for number, button in enumerate(buttons, 1):
        if "url" in button and "message" not in button:
            target = f"opens {_url(button['url'])}"
        else:
            target = f"sends {_quoted(button.get('message') or button.get('label') or '')}"
        lines.append(f"{indent}{number}. {_line(button.get('label')) or 'Option'} → {target}")
    return lines


def _card(card: dict[str, Any], heading: str = "Card") -> list[str]:
    title = _line(card.get("title"))
    lines = [f"{heading}: {title}" if title else heading]
    if card.get("image"):
        lines.append(f"{_INDENT}Image: {_url(card['image'])}")
    lines.extend(_lines(card.get("text"), _INDENT))
    lines.extend(_buttons(card.get("buttons") or []))
    return lines


def _carousel(block: dict[str, Any]) -> list[list[str]]:
    cards = block.get("cards") or []
    return [_card(card, f"Card {number} of {len(cards)}") for number, card in enumerate(cards, 1)]


def _image(block: dict[str, Any]) -> list[str]:
    alt = _line(block.get("alt"))
    return [f"Image: {_url(block.get('url'))}" + (f" ({alt})" if alt else "")]


def _field_kind(field: dict[str, Any]) -> str:
    return f"{field['type']}, required" if field.get("required") else str(field["type"])


def _option_label(field: dict[str, Any], value: str) -> str:
    return next((o["label"] for o in field.get("options") or [] if o["value"] == value), value)


def _shown(field: dict[str, Any], value: object) -> str:
    """A value as a form shows it: a password ``(hidden)``, a checkbox yes or no, an option its label."""
    if field.get("secret"):
        return "(hidden)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "(empty)"
    return _line(_option_label(field, str(value)))


def _field(field: dict[str, Any], submitted: bool, value: object = None) -> str:
    """``Label (type, required; options: A, B; default: x)``, or ``Label (type): value`` once sent."""
    about = _field_kind(field)
    if submitted:
        return f"{_line(field['label'])} ({about}): {_shown(field, value)}"
    if field["type"] == "file":
        about += "; files cannot be sent from a notebook"
    if field.get("options"):
        about += "; options: " + ", ".join(_line(option["label"]) for option in field["options"])
    if field.get("default") not in (None, ""):
        about += f"; default: {_shown(field, field['default'])}"
    return f"{_line(field['label'])} ({about})"


_TO_SEND = "(to send it, use the panel in a notebook, or chat.submit() there)"


def _form(block: dict[str, Any]) -> list[str]:
    title = _line(block.get("title")) or "Form"
    submitted = bool(block.get("submitted"))
    values = block.get("values") or {}
    lines = [f"Form: {title}" + (" (submitted)" if submitted else "")]
    lines.extend(_lines(block.get("description"), _INDENT))
    lines.extend(f"{_INDENT}- {_field(f, submitted, values.get(f['id']))}" for f in block["fields"])
    if block.get("fields_omitted"):
        lines.append(f"{_INDENT}… and {block['fields_omitted']:,} more fields, left out")
    if not submitted:
        lines.append(f"{_INDENT}Submit button: {_line(block['submit']['label'])}")
        lines.append(f"{_INDENT}{_TO_SEND}")
    return lines


def _input(block: dict[str, Any]) -> list[str]:
    submitted = bool(block.get("submitted"))
    line = f"Input: {_field(block['field'], submitted, block.get('value'))}"
    return [line + " (submitted)"] if submitted else [line, f"{_INDENT}{_TO_SEND}"]


def _iframe(block: dict[str, Any]) -> list[str]:
    if block.get("url"):
        what = "video (vertical layout)" if block.get("layout") == "vertical" else "web page (horizontal layout)"
        return [f"Embedded {what}, not loaded: {_url(block['url'])}"]
    text = _line(block.get("text"))
    return [
        f"Embedded content that is not an https address, not loaded: {text}"
        if text
        else "Embedded content with no address"
    ]


def _notice(block: dict[str, Any]) -> list[str]:
    level = block.get("level")
    heading = "Notice" if level in (None, "default") else f"Notice ({_line(level)})"
    return [f"{heading}: {_line(block.get('text'))}"]


_BLOCKS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "text": lambda block: _lines(block.get("text")),
    "choice": lambda block: _buttons(block.get("buttons") or []),
    "image": _image,
    "card": _card,
    "form": _form,
    "input": _input,
    "iframe": _iframe,
    "notice": _notice,
}


def _block_sections(reply: Reply) -> list[list[str]]:
    """The snapshot's blocks, one section each (a carousel gives one per card)."""
    if reply.ui_turn is None:
        plain = "".join(reply.chunks)  # a snapshot that could not be parsed is kept as raw text
        raw = reply.text[len(plain) :] if reply.text.startswith(plain) else ""
        return [_lines(raw)] if raw.strip() else []
    sections: list[list[str]] = []
    for block in turn_blocks(reply.ui_turn):
        kind = block.get("kind")
        if kind == "carousel":
            sections.extend(_carousel(block))
        elif kind in _BLOCKS:
            sections.append(_BLOCKS[kind](block))
        else:
            sections.append([f"[unsupported message: {_line(block.get('type')) or 'unknown'}]"])
    return [section for section in sections if section]


# ----------------------------------------------------------------- what else it carried


def _json_line(label: str, text: str | None) -> list[str]:
    if text is None:
        return []
    first, *rest = visible(text).split("\n")  # only a string value can hold newlines here
    return [f"{_INDENT}{label}{first}", *(f"{_INDENT * 2}{line}" for line in rest)]


def _tool_sections(reply: Reply) -> list[list[str]]:
    sections = []
    for call in reply.tool_calls:
        lines = [f"Tool call: {_line(call.name) or 'unnamed tool'}"]
        lines += _json_line("input: ", json_text(call.input, MAX_TERMINAL_JSON, indent=None))
        lines += _json_line("output: ", json_text(call.output, MAX_TERMINAL_JSON, indent=None))
        sections.append(lines if len(lines) > 1 else [*lines, f"{_INDENT}(no input or output was sent)"])
    return sections


def _action_sections(reply: Reply) -> list[list[str]]:
    actions, payload = action_parts(reply, MAX_TERMINAL_JSON, indent=None)
    sections = []
    if reply.handoff:
        sections.append([HANDOFF_LINE, *_json_line("Handoff details: ", payload)])
    for action in actions:
        sections.append([f"Action: {_line(action['type']) or 'unknown'}", *_json_line("", action["text"] or None)])
    return sections


def _source(item: dict[str, str | None]) -> str:
    title, url = _line(item["title"]), _line(item["url"])
    if title and url:
        return f"{title} ({url})"
    return title or _line(item["id"]) or url


def _seconds(value: float) -> str:
    """As the panel writes seconds: ``< 0.1 s``, ``2.1 s``, ``42 s`` (halves rounded up, as JavaScript does)."""
    if value < 0.05:
        return "< 0.1 s"
    step = Decimal("0.1") if value < 10 else Decimal(1)
    return f"{Decimal(value).quantize(step, rounding=ROUND_HALF_UP)} s"


def _known(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < float("inf")


def usage_line(usage: dict[str, Any]) -> str | None:
    """The panel's per-reply line (js/src/steps.js ``usageParts``), in the same words; None when nothing is known.

    ``usage`` is ``reply_view(reply)["usage"]``: ``{first_chunk_s, elapsed_s, input_tokens,
    output_tokens, model}``, each None when unknown.
    """
    parts = []
    if _known(usage.get("first_chunk_s")):
        parts.append(f"{_seconds(usage['first_chunk_s'])} to first word")
    if _known(usage.get("elapsed_s")):
        parts.append(_seconds(usage["elapsed_s"]))
    tokens = [
        f"{Decimal(usage[key]).quantize(Decimal(1), rounding=ROUND_HALF_UP):,}" if _known(usage.get(key)) else ""
        for key in ("input_tokens", "output_tokens")
    ]
    if all(tokens):
        parts.append(f"{tokens[0]} → {tokens[1]} tokens")
    elif any(tokens):
        parts.append(f"{tokens[0] or tokens[1]} tokens {'in' if tokens[0] else 'out'}")
    if isinstance(usage.get("model"), str) and usage["model"]:
        parts.append(_line(usage["model"]))
    return " · ".join(parts) if parts else None


def reply_lines(reply: Reply) -> list[str]:
    """The lines to print after a reply's streamed plain text: its blocks, tool calls, handoff,
    other actions, sources and the usage line, a blank line between sections; [] when none."""
    view = reply_view(reply)
    sections = [*_block_sections(reply), *_tool_sections(reply), *_action_sections(reply)]
    sources = [shown for shown in map(_source, view["source_items"]) if shown]
    if sources:
        sections.append(["Sources: " + ", ".join(sources)])
    usage = usage_line(view["usage"])
    if usage:
        sections.append([usage])
    lines: list[str] = []
    for section in sections:
        lines.extend(["", *section] if lines else section)
    return lines
