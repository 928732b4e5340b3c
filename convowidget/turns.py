"""Reading Convocore turns: their text, and the blocks the panel draws for rich messages.

A turn is ``{from, messages, ts?}``; a message's text is at ``item.payload.message``.
Everything here is lenient: an unexpected shape gives less text, never an exception, and
nothing recurses into the data, so hostile nesting costs nothing. Messages that are not
for the reader (``debug``, ``debug:*``, ``context:*``, ``stealth``, ``end``) give neither
text nor blocks; ``info:*`` notices give a ``notice`` block but no text.

Block kinds ``turn_blocks`` emits, each a plain JSON-ready dict whose strings are all
valid text (the agent's words stay text; the front end escapes them):

- ``text`` ``{text}`` (markdown); ``choice`` ``{buttons: [{label, message} | {label, url}]}``;
  ``image`` ``{url, alt}``; ``card`` ``{title (markdown), text, image, buttons}``;
  ``carousel`` ``{cards}``; ``notice`` ``{level, text}`` for ``info:*``;
- ``form``, ``input`` and ``iframe``: see ``convowidget.ui``;
- ``unsupported`` ``{type}``: a neutral placeholder for a type outside the spec.
"""

from __future__ import annotations

from typing import Any

from .protocol import loads
from .ui import block_summary, clean_text, form_block, iframe_block, input_block, notice_block

_HIDDEN_TYPES = ("debug", "stealth", "end")
_HIDDEN_PREFIXES = ("debug:", "context:")


def _payload(message: object) -> tuple[str, dict[str, Any]]:
    """A message's type and ``item.payload``; an unwrapped ``{type, payload}`` (the agent's raw
    output shape in the spec) is read too."""
    if not isinstance(message, dict):
        return "unknown", {}
    item = message.get("item")
    item = item if isinstance(item, dict) else {}
    kind = item.get("type") or message.get("type") or "text"
    payload = item.get("payload") if "item" in message else message.get("payload")
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


_text = clean_text


def message_text(message: object) -> str:
    """The plain text of one message ('' when it has none, or is a notice or hidden).

    A form, an input or an iFrame gives one readable line (the form's title and field
    labels...), so a reply made only of a form still has text.
    """
    kind, payload = _payload(message)
    if _is_hidden(message, kind) or _notice_level(kind) is not None:
        return ""
    text = payload.get("message")
    if isinstance(text, str):
        return text
    if kind == "cardV2":
        card = _card(payload)
        return str(card["text"] or card["title"])
    block = _action_block(message, kind, payload)
    return block_summary(block) if block is not None else ""


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
            url = _text(payload["url"])
            buttons.append({"label": label or url, "url": url})
        else:
            message = _text(payload["message"]) if isinstance(payload.get("message"), str) else label
            if label or message:
                buttons.append({"label": label or message, "message": message})
    return buttons


def _card(payload: dict[str, Any]) -> dict[str, Any]:
    description = payload.get("description")
    text = description.get("text") if isinstance(description, dict) else description
    return {
        "kind": "card",
        "title": _text(payload.get("title")),
        "text": _text(text) if isinstance(text, str) else "",
        "image": _text(payload.get("imageUrl")) or _text(payload.get("image")),
        "buttons": _buttons(payload.get("buttons")),
    }


def _action_block(message: object, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The block of a form, input or iFrame message (None for other kinds, or a dropped one)."""
    if kind == "form":
        return form_block(message, payload)
    if kind == "input":
        return input_block(message, payload)
    if kind == "iFrame":
        return iframe_block(payload)
    return None


def _message_blocks(message: object, kind: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    level = _notice_level(kind)
    if level is not None:
        notice = notice_block(level, payload)
        return [notice] if notice is not None else []
    if kind == "text":
        text = _text(message_text(message))
        return [{"kind": "text", "text": text}] if text else []
    if kind == "choice":
        intro = _text(payload.get("message"))
        choice = {"kind": "choice", "buttons": _buttons(payload.get("buttons"))}
        return [{"kind": "text", "text": intro}, choice] if intro else [choice]
    if kind == "visual":
        image = payload.get("image") or payload.get("url")
        if not isinstance(image, str):
            return []
        return [{"kind": "image", "url": _text(image), "alt": _text(payload.get("alt"))}]
    if kind == "cardV2":
        return [_card(payload)]
    if kind == "carousel":
        cards = payload.get("cards")
        cards = cards if isinstance(cards, list) else []
        return [{"kind": "carousel", "cards": [_card(c) for c in cards if isinstance(c, dict)]}]
    if kind in ("form", "input", "iFrame"):  # a form or input the service would drop gives nothing
        block = _action_block(message, kind, payload)
        return [block] if block is not None else []
    return [{"kind": "unsupported", "type": _text(kind)}]


def turn_blocks(turn: object) -> list[dict[str, Any]]:
    """What the panel draws for a turn, one or two blocks per message (see the module's list)."""
    blocks: list[dict[str, Any]] = []
    for message in turn_messages(turn):
        kind, payload = _payload(message)
        if not _is_hidden(message, kind):
            blocks.extend(_message_blocks(message, kind, payload))
    return blocks


def parse_snapshot(text: str) -> Any:
    """Parse a ``ui_engine`` snapshot, closing what a cut-short one left open.

    Returns the parsed JSON, or ``None`` when even the repaired text is not JSON, or is
    JSON that ``protocol.loads`` refuses (nested past ``MAX_DEPTH``, NaN...).
    """
    return read_snapshot(text)[0]


def read_snapshot(text: str) -> tuple[Any, bool]:
    """``parse_snapshot``, and whether the text had to be repaired (it was cut short)."""
    try:
        return loads(text), False
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
            return loads(candidate + "".join(reversed(closers))), True
        except ValueError:
            continue
    return None, False
