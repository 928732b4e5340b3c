"""ui_engine payloads the panel can act on, as blocks: forms, inputs, their fields, iFrames.

Each builder turns one message's ``item.payload`` into a plain, JSON-ready dict with a
``kind`` (see ``turns.turn_blocks`` for the rest). Shapes follow the reference client's
``ui-engine-spec.ts``, which mirrors the service's own schemas. Everything the agent sent
stays text: labels, placeholders, options and URLs are never markup here, and the front
end escapes them. A password is never put in a block: its field says ``secret: true`` and
its value is ``None``. Builders never raise; a malformed payload gives ``None`` (no block),
as the service's own sanitiser drops it.
"""

from __future__ import annotations

import math
from html.parser import HTMLParser
from typing import Any

from .protocol import fix_surrogates, has_lone_surrogate, https_address

FIELD_TYPES = (
    "text", "email", "password", "number", "tel", "url", "textarea",
    "select", "checkbox", "radio", "date", "time", "datetime-local", "file",
)  # fmt: skip
"""The field types of the spec; any other ``type`` is shown as ``text``."""

SUBMIT_STYLES = ("primary", "secondary", "success", "warning", "danger")
NOTICE_LEVELS = ("default", "success", "danger", "primary", "warning", "info")
MAX_FIELDS = 100
"""Fields beyond this many in one form are left out (``fields_omitted`` counts them)."""
MAX_PATTERN = 1000

_CHOICE_TYPES = ("select", "radio")
_LENGTH_TYPES = ("text", "email", "password", "tel", "url", "textarea")


def clean_text(value: object) -> str:
    """A string field as valid text (lone surrogates become U+FFFD); numbers as their digits; else ''."""
    if isinstance(value, str):
        return fix_surrogates(value) if has_lone_surrogate(value) else value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an integer past Python's digit limit
            return ""
    return ""


def _number(value: object) -> int | float | None:
    """A finite JSON number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if isinstance(value, int) or math.isfinite(value) else None


def _options(raw: object) -> list[dict[str, str]] | None:
    """``[{value, label}]``, or None when the service would drop the field.

    The service drops a select or radio field whose options are empty, lack a label, or
    repeat a value (``serverSanitizers`` in the spec); so do we.
    """
    if not isinstance(raw, list) or not raw:
        return None
    options: list[dict[str, str]] = []
    seen: set[str] = set()
    for option in raw:
        if not isinstance(option, dict):
            return None
        value, label = clean_text(option.get("value")), clean_text(option.get("label"))
        if option.get("value") is None or not label.strip() or value in seen:
            return None
        seen.add(value)
        options.append({"value": value, "label": label})
    return options


def _validation(raw: object, kind: str) -> tuple[dict[str, Any], str]:
    """The field's checks that apply to its type, and its ``errorMessage`` ('' when none)."""
    if not isinstance(raw, dict):
        return {}, ""
    checks: dict[str, Any] = {}
    if kind in _LENGTH_TYPES:
        for key in ("minLength", "maxLength"):
            number = _number(raw.get(key))
            if number is not None and number >= 0 and number == int(number):
                checks[key] = int(number)
        pattern = raw.get("pattern")
        if isinstance(pattern, str) and 0 < len(pattern) <= MAX_PATTERN and not has_lone_surrogate(pattern):
            checks["pattern"] = pattern
    if kind == "number":
        for key in ("min", "max"):
            number = _number(raw.get(key))
            if number is not None:
                checks[key] = number
    return checks, clean_text(raw.get("errorMessage"))


def _shown_value(value: object, kind: str) -> str | bool | None:
    """A submitted or default value as a block holds it: a checkbox's as a bool, others as text."""
    if kind == "checkbox":
        if isinstance(value, str):
            return value.strip().lower() in ("true", "on", "yes", "1")
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(clean_text(item) for item in value if clean_text(item))
    text = clean_text(value)
    return text if text or value == "" else None


def field_block(raw: object) -> dict[str, Any] | None:
    """One input field: ``{id, type, label, placeholder, required, default, error_message,
    options, validation, secret}``; None when the service would drop it.

    Dropped as the service drops them: a field without an id or a label, and a select or
    radio field without valid options. A ``file`` field is kept: the front end says files
    cannot be sent from a notebook.
    """
    if not isinstance(raw, dict):
        return None
    field_id, label = clean_text(raw.get("id")), clean_text(raw.get("label"))
    if not field_id.strip() or not label.strip():
        return None
    kind = raw.get("type")
    kind = kind if isinstance(kind, str) and kind in FIELD_TYPES else "text"
    options: list[dict[str, str]] = []
    if kind in _CHOICE_TYPES:
        found = _options(raw.get("options"))
        if found is None:
            return None
        options = found
    checks, error_message = _validation(raw.get("validation"), kind)
    secret = kind == "password"
    return {
        "id": field_id,
        "type": kind,
        "label": label,
        "placeholder": clean_text(raw.get("placeholder")),
        "required": raw.get("required") is True,
        "default": None if secret else _shown_value(raw.get("defaultValue"), kind),
        "error_message": error_message,
        "options": options,
        "validation": checks,
        "secret": secret,
    }


def _message_id(message: object) -> str | None:
    mid = message.get("mid") if isinstance(message, dict) else None
    return clean_text(mid) or None


def _submitted_values(raw: object, fields: list[dict[str, Any]]) -> dict[str, str | bool | None]:
    """``{field_id: value}`` from ``submittedData`` items; a password's value is None."""
    by_id = {f["id"]: f for f in fields}
    values: dict[str, str | bool | None] = {}
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        field = by_id.get(clean_text(item.get("field_id")))
        index = item.get("index")
        if field is None and type(index) is int and 0 <= index < len(fields):
            field = fields[index]
        if field is None or field["id"] in values:
            continue
        hidden = field["secret"] or item.get("field_type") == "password"
        values[field["id"]] = None if hidden else _shown_value(item.get("value"), field["type"])
    return values


def form_block(message: object, payload: dict[str, Any]) -> dict[str, Any] | None:
    """``{kind: "form", mid, title, description, fields, fields_omitted, submit: {label,
    style}, submitted, values}``; None for a form with no valid field (the service drops it).

    A second field with an id already used is left out, so each value has one home.
    """
    fields: list[dict[str, Any]] = []
    ids: set[str] = set()
    omitted = 0
    raw_fields = payload.get("fields")
    for raw in raw_fields if isinstance(raw_fields, list) else []:
        field = field_block(raw)
        if field is None or field["id"] in ids:
            continue
        if len(fields) >= MAX_FIELDS:
            omitted += 1
            continue
        ids.add(field["id"])
        fields.append(field)
    if not fields:
        return None
    button = payload.get("submitButton")
    button = button if isinstance(button, dict) else {}
    style = button.get("style")
    values = _submitted_values(payload.get("submittedData"), fields)
    return {
        "kind": "form",
        "mid": _message_id(message),
        "title": clean_text(payload.get("title")),
        "description": clean_text(payload.get("description")),
        "fields": fields,
        "fields_omitted": omitted,
        "submit": {
            "label": clean_text(button.get("label")).strip() or "Submit",
            "style": style if isinstance(style, str) and style in SUBMIT_STYLES else "primary",
        },
        "submitted": payload.get("isSubmitted") is True or bool(values),
        "values": values,
    }


def input_block(message: object, payload: dict[str, Any]) -> dict[str, Any] | None:
    """``{kind: "input", mid, field, submit_on_enter, submitted, value}``; None when its
    field is not valid (the service drops such an input)."""
    field = field_block(payload.get("field"))
    if field is None:
        return None
    raw_value = payload.get("submittedValue")
    submitted = payload.get("isSubmitted") is True or raw_value is not None
    hidden = field["secret"] or not submitted
    return {
        "kind": "input",
        "mid": _message_id(message),
        "field": field,
        "submit_on_enter": payload.get("submitOnEnter") is not False,
        "submitted": submitted,
        "value": None if hidden else _shown_value(raw_value, field["type"]),
    }


class _FirstIframe(HTMLParser):
    """Finds the ``src`` of the first ``<iframe>`` tag (entities decoded); runs no markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.src: str | None = None
        self.found = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "iframe" and not self.found:
            self.found = True
            self.src = next((value for name, value in attrs if name == "src" and value), None)


def _iframe_src(markup: str) -> str | None:
    parser = _FirstIframe()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient, but never let a payload raise
        return None
    return parser.src.strip() if parser.src else None


def iframe_block(payload: dict[str, Any]) -> dict[str, Any]:
    """``{kind: "iframe", layout, url, host, text}``: ``url`` is an https address or None.

    ``url`` may be a whole ``<iframe ...>`` string: only its ``src`` is taken, and only
    when it is https (``srcdoc``, scripts and other attributes are ignored). When there is
    no usable https address, ``text`` holds what the agent sent, to show as text.
    ``layout`` is ``vertical`` (video, 16:9) or ``horizontal`` (a web page; the default).
    """
    raw = clean_text(payload.get("url"))
    candidate = raw.strip()
    if candidate.startswith("<"):
        candidate = _iframe_src(candidate) or ""
    checked = https_address(candidate)
    return {
        "kind": "iframe",
        "layout": "vertical" if payload.get("layout") == "vertical" else "horizontal",
        "url": checked[0] if checked else None,
        "host": checked[1] if checked else "",
        "text": "" if checked else raw,
    }


def notice_block(level: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """``{kind: "notice", level, text}`` from ``message``, ``text`` or ``title`` and ``description``."""
    text = clean_text(payload.get("message")) or clean_text(payload.get("text"))
    if not text:
        parts = (clean_text(payload.get("title")), clean_text(payload.get("description")))
        text = " — ".join(part for part in parts if part.strip())
    if not text.strip():
        return None
    return {"kind": "notice", "level": level if level in NOTICE_LEVELS else "default", "text": text}


def block_summary(block: dict[str, Any]) -> str:
    """One readable line for a form, input or iFrame block, for a reply's text ('' for others)."""
    kind = block.get("kind")
    if kind == "form":
        labels = [f["label"] for f in block["fields"]]
        shown = ", ".join(labels[:10]) + (", …" if len(labels) > 10 else "")
        line = f"{block['title'] or 'Form'}: {shown}"
        return line + " (submitted)" if block["submitted"] else line
    if kind == "input":
        label, value = block["field"]["label"], block["value"]
        if isinstance(value, bool):
            value = "yes" if value else "no"
        return f"{label}: {value}" if block["submitted"] and value else str(label)
    if kind == "iframe" and block["url"]:
        return f"Embedded content: {block['url']}"
    return ""
