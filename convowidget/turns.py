"""Reading Convocore turns: their text, and the blocks the panel draws for rich messages.

A turn is ``{from, messages, ts?}``; a message's text is at ``item.payload.message``.
Everything here is lenient: an unexpected shape gives less text, never an exception, and
nothing recurses into the data, so hostile nesting costs nothing. Messages that are not
for the reader (``debug``, ``debug:*``, ``context:*``, ``stealth``, ``end``) give neither
text nor blocks; ``info:*`` notices give a ``notice`` block but no text.

Block kinds ``turn_blocks`` emits: ``text``, ``choice``, ``image``, ``card``, ``carousel``,
``notice`` and ``unsupported`` (a neutral placeholder naming the message type).
"""

from __future__ import annotations

from typing import Any

from .protocol import loads

_HIDDEN_TYPES = ("debug", "stealth", "end")
_HIDDEN_PREFIXES = ("debug:", "context:")


def _payload(message: object) -> tuple[str, dict[str, Any]]:
    if not isinstance(message, dict):
        return "unknown", {}
    item = message.get("item")
    item = item if isinstance(item, dict) else {}
    kind = item.get("type") or message.get("type") or "text"
    payload = item.get("payload")
    return (kind if isinstance(kind, str) else "unknown"), (payload if isinstance(payload, dict) else {})


def turn_messages(turn: object) -> list[Any]:
    """The messages of a turn, a bare list of messages, or a single message."""
    if isinstance(turn, list):
        return turn
    if isinstance(turn, dict):
        messages = turn.get("messages")
        if isinstance(messages, list):
            return messages
        if "item" in turn:
            return [turn]
    return []


def _is_hidden(message: object, kind: str) -> bool:
    """True for messages that are not for the reader: diagnostics, context, control."""
    kinds = (kind, message.get("type") if isinstance(message, dict) else None)
    return any(isinstance(k, str) and (k in _HIDDEN_TYPES or k.startswith(_HIDDEN_PREFIXES)) for k in kinds)


def _notice_level(kind: str) -> str | None:
    """``default``, ``success``, ``danger``... for an ``info`` or ``info:<level>`` notice; else None."""
    if kind == "info":
        return "default"
    if kind.startswith("info:"):
        return kind[5:] or "default"
    return None


def _text(value: object) -> str:
    """A string field as text; numbers as their digits; anything else is no text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an integer past Python's digit limit
            return ""
    return ""


def message_text(message: object) -> str:
    """The plain text of one message ('' when it has none, or is a notice or hidden)."""
    kind, payload = _payload(message)
    if _is_hidden(message, kind) or _notice_level(kind) is not None:
        return ""
    text = payload.get("message")
    if isinstance(text, str):
        return text
    if kind == "cardV2":
        card = _card(payload)
        return str(card["text"] or card["title"])
    return ""


def turn_text(turn: object) -> str:
    """The text of a turn: its messages' texts joined by blank lines."""
    return "\n\n".join(t for t in (message_text(m) for m in turn_messages(turn)) if t)


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _buttons(raw: object) -> list[dict[str, str]]:
    buttons = []
    for button in raw if isinstance(raw, list) else []:
        if not isinstance(button, dict):
            continue
        label = _text(button.get("name")) or _text(button.get("label"))
        request = _as_dict(button.get("request"))
        payload = _as_dict(request.get("payload"))
        if request.get("type") == "open_url" and isinstance(payload.get("url"), str):
            buttons.append({"label": label or payload["url"], "url": payload["url"]})
        else:
            message = payload.get("message") if isinstance(payload.get("message"), str) else label
            if label or message:
                buttons.append({"label": label or message, "message": message})
    return buttons


def _card(payload: dict[str, Any]) -> dict[str, Any]:
    description = payload.get("description")
    text = description.get("text") if isinstance(description, dict) else description
    return {
        "kind": "card",
        "title": _text(payload.get("title")),
        "text": text if isinstance(text, str) else "",
        "image": _text(payload.get("imageUrl")) or _text(payload.get("image")),
        "buttons": _buttons(payload.get("buttons")),
    }


def turn_blocks(turn: object) -> list[dict[str, Any]]:
    """What the panel draws for a turn: text, choices, images, cards, carousels, notices, placeholders."""
    blocks: list[dict[str, Any]] = []
    for message in turn_messages(turn):
        kind, payload = _payload(message)
        if _is_hidden(message, kind):
            continue
        level = _notice_level(kind)
        if level is not None:
            text = _text(payload.get("message")) or _text(payload.get("text"))
            if text:
                blocks.append({"kind": "notice", "level": level, "text": text})
        elif kind == "text":
            text = message_text(message)
            if text:
                blocks.append({"kind": "text", "text": text})
        elif kind == "choice":
            if isinstance(payload.get("message"), str) and payload["message"]:
                blocks.append({"kind": "text", "text": payload["message"]})
            blocks.append({"kind": "choice", "buttons": _buttons(payload.get("buttons"))})
        elif kind == "visual":
            image = payload.get("image") or payload.get("url")
            if isinstance(image, str):
                blocks.append({"kind": "image", "url": image, "alt": _text(payload.get("alt"))})
        elif kind == "cardV2":
            blocks.append(_card(payload))
        elif kind == "carousel":
            cards = payload.get("cards")
            cards = cards if isinstance(cards, list) else []
            blocks.append({"kind": "carousel", "cards": [_card(c) for c in cards if isinstance(c, dict)]})
        else:
            blocks.append({"kind": "unsupported", "type": kind})
    return blocks


def parse_snapshot(text: str) -> Any:
    """Parse a ``ui_engine`` snapshot, closing what a cut-short one left open.

    Returns the parsed JSON, or ``None`` when even the repaired text is not JSON, or is
    JSON that ``protocol.loads`` refuses (nested past ``MAX_DEPTH``, NaN...).
    """
    try:
        return loads(text)
    except ValueError:
        pass
    closers: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            closers.append("]" if ch == "[" else "}")
        elif ch in "]}" and closers:
            closers.pop()
    repaired = text[:-1] if escaped else text
    if in_string:
        repaired += '"'
    for candidate in (repaired, repaired.rstrip().rstrip(",:")):
        try:
            return loads(candidate + "".join(reversed(closers)))
        except ValueError:
            continue
    return None
