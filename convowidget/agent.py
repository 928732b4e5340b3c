"""Building blocks for your own agents: tool calls, and the rich messages of a ui_engine turn.

An agent served by ``convowidget.serve`` yields text, and may yield these too:

- ``tool_call(name, input, output)``: the ``action`` frame a Convocore agent sends when it
  has called a tool (``Reply.tool_calls`` on the client side);
- ``text``, ``choice`` (of ``button`` s), ``card``, ``image``, ``iframe``, ``notice``,
  ``form`` (of ``form_field`` s) and ``input_field``: each a ``UIMessage``, one message of
  the bot's ui_engine turn, with the payload shapes of the reference client's
  ``ui-engine-spec.ts``.

Snapshots overwrite (each ``ui_engine`` chunk is the whole turn so far), so the server
gathers a reply's ``UIMessage`` s into one growing snapshot and sends it after each. When
the request says ``disableUiEngine``, it sends each as markdown instead (``markdown()``),
as the service answers in plain text then. The builders check what the service would
drop (a field without an id or label, a select without options) and raise
``ConfigurationError`` naming it, so a mistake shows while writing the agent.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError
from .ui import FIELD_TYPES, NOTICE_LEVELS, SUBMIT_STYLES

__all__ = [
    "UIMessage",
    "button",
    "card",
    "choice",
    "form",
    "form_field",
    "iframe",
    "image",
    "input_field",
    "notice",
    "split_chunks",
    "text",
    "tool_call",
]


def _new_mid() -> str:
    return f"m-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class UIMessage:
    """One message of a ui_engine turn: its ``type``, its ``payload``, a ``mid`` and maybe a ``ts``.

    ``mid`` identifies the message (a random one unless given): a submitted form or input
    names it in ``formSubmissionMetadata.mid``, so keep it when you need to know which form
    came back. ``ts`` (Unix seconds) is sent only when set, so an agent that gives its own
    ``mid`` s answers the same way every run, as replays and suites compare.
    """

    type: str
    payload: dict[str, Any]
    mid: str = field(default_factory=_new_mid)
    ts: int | None = None

    def wire(self) -> dict[str, Any]:
        """The message as a snapshot carries it: ``{from, type, mid, item: {type, payload}}``, and ``ts``."""
        message: dict[str, Any] = {"from": "bot", "type": self.type, "mid": self.mid}
        if self.ts is not None:
            message["ts"] = self.ts
        message["item"] = {"type": self.type, "payload": self.payload}
        return message

    def markdown(self) -> str:
        """The message written as markdown, for a turn asked for without the ui_engine."""
        return _markdown(self.type, self.payload)


def _required(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name}: expected a non-empty string, got {value!r}")
    return value


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigurationError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def tool_call(name: str, input: Any = None, output: Any = None, *, payload: str | None = None) -> dict[str, Any]:
    """The ``action`` frame of a tool call: ``{type: "tool_call", toolMetadata: {toolName, input, output}}``."""
    action: dict[str, Any] = {
        "type": "tool_call",
        "toolMetadata": {"toolName": _required("tool_call(name)", name), "input": input, "output": output},
    }
    if payload is not None:
        action["payload"] = payload
    return {"type": "action", "action": action}


def text(message: str) -> UIMessage:
    """A text message (markdown)."""
    return UIMessage("text", {"message": _required("text(message)", message)})


def button(label: str, message: str | None = None, *, url: str | None = None) -> dict[str, Any]:
    """A button for ``choice`` or ``card``: sends ``message`` (default: the label), or opens ``url``."""
    _required("button(label)", label)
    if url is not None:
        return {"name": label, "request": {"type": "open_url", "payload": {"url": _required("button(url)", url)}}}
    return {"name": label, "request": {"type": "text", "payload": {"message": message or label}}}


def _buttons(buttons: Iterable[dict[str, Any] | str]) -> list[dict[str, Any]]:
    return [button(b) if isinstance(b, str) else b for b in buttons]


def choice(*buttons: dict[str, Any] | str) -> UIMessage:
    """Buttons in a row (a plain string is a button sending its own label); the spec advises 1-6."""
    if not buttons:
        raise ConfigurationError("choice(): give at least one button")
    return UIMessage("choice", {"buttons": _buttons(buttons)})


def card(
    title: str, text: str = "", *, image: str | None = None, buttons: Iterable[dict[str, Any] | str] = ()
) -> UIMessage:
    """A ``cardV2``: a title (markdown), a description, an optional image URL and buttons."""
    payload: dict[str, Any] = {"title": _required("card(title)", title)}
    if image is not None:
        payload["imageUrl"] = image
    if text:
        payload["description"] = {"text": text}
    listed = _buttons(buttons)
    if listed:
        payload["buttons"] = listed
    return UIMessage("cardV2", payload)


def image(url: str) -> UIMessage:
    """A ``visual`` message: one image (an https URL ending in an image extension)."""
    return UIMessage("visual", {"image": _required("image(url)", url)})


def iframe(url: str, *, layout: str = "horizontal") -> UIMessage:
    """Embedded content: ``vertical`` for a video (16:9), ``horizontal`` for a web page."""
    layout = _one_of("iframe(layout)", layout, ("vertical", "horizontal"))
    return UIMessage("iFrame", {"layout": layout, "url": _required("iframe(url)", url)})


def notice(message: str, level: str = "success") -> UIMessage:
    """An ``info:<level>`` notice, such as ``notice("Saved!")``."""
    level = _one_of("notice(level)", level, NOTICE_LEVELS)
    return UIMessage(f"info:{level}", {"message": _required("notice(message)", message)})


def _options(kind: str, options: Iterable[Any] | None) -> list[dict[str, str]]:
    """``[{value, label}]`` from pairs, dicts or plain strings; unique values, never empty."""
    listed: list[dict[str, str]] = []
    for option in options or ():
        value: object
        label: object
        if isinstance(option, str):
            value, label = option, option
        elif isinstance(option, Mapping):
            value, label = option.get("value"), option.get("label")
        elif isinstance(option, (tuple, list)) and len(option) == 2:
            value, label = option
        else:
            raise ConfigurationError(
                f"form_field: an option is a (value, label) pair, a dict or a string, not {option!r}"
            )
        listed.append({"value": _required("option value", value), "label": _required("option label", label)})
    if not listed:
        raise ConfigurationError(f"form_field: a {kind} field needs options; the service drops it without them")
    if len({option["value"] for option in listed}) < len(listed):
        raise ConfigurationError("form_field: two options share a value; the service drops such a field")
    return listed


def form_field(
    id: str,
    label: str,
    type: str = "text",
    *,
    placeholder: str | None = None,
    required: bool = False,
    options: Iterable[Any] | None = None,
    default: str | int | float | bool | None = None,
    validation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One field of a ``form`` or ``input_field``: ``type`` is one of ``FIELD_TYPES``.

    ``options`` (for ``select`` and ``radio``) are ``(value, label)`` pairs, ``{value,
    label}`` dicts or plain strings; ``validation`` holds ``minLength``, ``maxLength``,
    ``min``, ``max``, ``pattern`` and ``errorMessage`` by their wire names.
    """
    spec: dict[str, Any] = {
        "id": _required("form_field(id)", id),
        "type": _one_of("form_field(type)", type, FIELD_TYPES),
        "label": _required("form_field(label)", label),
        "required": required,
    }
    if placeholder is not None:
        spec["placeholder"] = placeholder
    if type in ("select", "radio"):
        spec["options"] = _options(type, options)
    if default is not None:
        spec["defaultValue"] = default
    if validation:
        spec["validation"] = dict(validation)
    return spec


def form(
    fields: Iterable[dict[str, Any]],
    *,
    title: str | None = None,
    description: str | None = None,
    submit_label: str = "Submit",
    submit_style: str = "primary",
    after_submit: str | None = None,
) -> UIMessage:
    """A form of ``form_field`` s; ``after_submit`` is ``onSubmit.message``, said once it is sent."""
    listed = list(fields)
    if not listed:
        raise ConfigurationError("form(): give at least one field; the service drops a form without one")
    if len({f.get("id") for f in listed}) < len(listed):
        raise ConfigurationError("form(): two fields share an id; each value needs its own")
    payload: dict[str, Any] = {"fields": listed}
    if title:
        payload["title"] = title
    if description:
        payload["description"] = description
    style = _one_of("form(submit_style)", submit_style, SUBMIT_STYLES)
    payload["submitButton"] = {"label": submit_label, "style": style}
    payload["onSubmit"] = {"type": "submit_form", **({"message": after_submit} if after_submit else {})}
    return UIMessage("form", payload)


def input_field(spec: dict[str, Any], *, submit_on_enter: bool = True, after_submit: str | None = None) -> UIMessage:
    """A single inline field (a ``form_field``); Enter sends it unless ``submit_on_enter`` is False."""
    on_submit = {"type": "submit_input", **({"message": after_submit} if after_submit else {})}
    return UIMessage("input", {"field": spec, "submitOnEnter": submit_on_enter, "onSubmit": on_submit})


# ---------------------------------------------------------------------------- as markdown


def _button_line(spec: dict[str, Any]) -> str:
    request = spec.get("request", {})
    target = request.get("payload", {})
    if request.get("type") == "open_url":
        return f"- [{spec.get('name')}]({target.get('url')})"
    return f"- **{spec.get('name')}**: say *{target.get('message')}*"


def _field_line(spec: dict[str, Any]) -> str:
    line = f"- {spec.get('label')}"
    if spec.get("options"):
        line += ": " + ", ".join(str(option.get("label")) for option in spec["options"])
    if spec.get("type") == "checkbox":
        line += " (yes or no)"
    return line + (" (required)" if spec.get("required") else "")


def _markdown(kind: str, payload: dict[str, Any]) -> str:
    """One message as markdown: what a reader needs to answer it in words."""
    buttons = "\n".join(_button_line(b) for b in payload.get("buttons", ()) if isinstance(b, dict))
    if kind == "text":
        return str(payload.get("message", ""))
    if kind == "choice":
        return buttons
    if kind == "cardV2":
        description = payload.get("description") or {}
        parts = [f"**{payload.get('title')}**", str(description.get("text", "")), buttons]
        return "\n\n".join(part for part in parts if part)
    if kind == "visual":
        return f"![image]({payload.get('image')})"
    if kind == "iFrame":
        return f"Embedded content ({payload.get('layout')}): <{payload.get('url')}>"
    if kind.startswith("info"):
        return f"**{payload.get('message')}**"
    if kind == "form":
        lines = "\n".join(_field_line(f) for f in payload.get("fields", ()))
        title, description = payload.get("title") or "Form", payload.get("description") or ""
        parts = [f"**{title}**", str(description), lines, "Please send these details in a message."]
        return "\n\n".join(part for part in parts if part)
    if kind == "input":
        spec = payload.get("field", {})
        return f"{_field_line(spec)[2:]}: please send it in a message."
    return ""


def split_chunks(text: str) -> Iterator[str]:
    """Cut text into word-sized chunks, spaces and newlines kept: how a reply streams."""
    yield from re.findall(r"\s*\S+\s*", text) or [text]
