"""Submitting a ui_engine form or input, as pure data: check the values, build the request.

``form_submission(block, values)`` takes a ``form`` or ``input`` block (from
``turns.turn_blocks``) and the values typed, ``{field_id: value}``, checks them against
the block's fields as a browser would (required, type, options, length, range, pattern),
and returns what to send: a readable prompt and the extra request fields.

How a submission travels back is not published. The request type has
``formSubmissionMetadata`` (an open object) and ``actionMetadata: {mid}``, and the spec
names the ``submittedData`` items ``{index, label, value, field_id, field_type}``; the rest
is inferred. ``_metadata`` below is the one place that shape is written, so it can change
when the service's answer is known. A password is sent (the agent asked for it) but never
shown: the prompt says "(hidden)", and ``without_passwords`` strips it from a request
before anything records it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._patterns import fullmatch_within
from .errors import FormError

__all__ = ["Submission", "form_submission", "password_values", "submitted_block", "without_passwords"]

HIDDEN = "(hidden)"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_TIME = r"\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?"
_SHAPES = {  # the value formats of <input type=date|time|datetime-local>: shape, how to say it, parser
    "date": (re.compile(r"\d{4}-\d{2}-\d{2}"), "a date as YYYY-MM-DD", dt.date.fromisoformat),
    "time": (re.compile(_TIME), "a time as HH:MM", dt.time.fromisoformat),
    "datetime-local": (re.compile(r"\d{4}-\d{2}-\d{2}T" + _TIME), "a date and time as YYYY-MM-DDTHH:MM",
                       dt.datetime.fromisoformat),
}  # fmt: skip
_YES = ("true", "yes", "on", "1")
_NO = ("false", "no", "off", "0", "")
PATTERN_SECONDS = 0.25  # an agent's pattern gets this long per value: it cannot hang the kernel


@dataclass(frozen=True)
class Submission:
    """What to send for a submitted form: ``prompt`` (readable, passwords hidden) and ``extra``
    (request fields by wire name: ``formSubmissionMetadata`` and ``actionMetadata``)."""

    prompt: str
    extra: dict[str, Any]


class _Problem(Exception):
    """One field's value does not fit; the message says what to do."""


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return str(value)
    raise _Problem(f"Please enter text (got {type(value).__name__}).")


def _checkbox(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _YES + _NO:
        return value.strip().lower() in _YES
    raise _Problem("Please give true or false (ticked or not).")


def _number(value: object, checks: dict[str, Any]) -> int | float:
    if isinstance(value, bool):
        raise _Problem("Please enter a number.")
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip()
        value = int(text) if text.lstrip("+-").isdigit() and len(text) <= 300 else float(text)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Problem("Please enter a number.")
    if "min" in checks and value < checks["min"]:
        raise _Problem(f"Value must be greater than or equal to {checks['min']}.")
    if "max" in checks and value > checks["max"]:
        raise _Problem(f"Value must be less than or equal to {checks['max']}.")
    return value


def _choice(value: object, options: list[dict[str, str]]) -> tuple[str, str]:
    """``(value, label)`` of the option given by its value (or, failing that, its label)."""
    text = _as_text(value)
    for key in ("value", "label"):
        for option in options:
            if option[key] == text:
                return option["value"], option["label"]
    listed = ", ".join(option["label"] for option in options[:10]) + (", …" if len(options) > 10 else "")
    raise _Problem(f"Please select one of these options: {listed}.")


def _python_when(value: dt.date | dt.time, kind: str) -> str:
    """A Python date, time or datetime written as the field's type writes it."""
    if isinstance(value, dt.datetime):
        if kind == "date":
            return value.date().isoformat()
        moment = value.replace(tzinfo=None)
        return moment.isoformat(timespec="minutes") if kind == "datetime-local" else moment.time().isoformat("minutes")
    if isinstance(value, dt.time):
        return value.isoformat(timespec="minutes")
    return value.isoformat()


def _when(value: object, kind: str) -> str:
    shape, wanted, parse = _SHAPES[kind]
    text = _python_when(value, kind) if isinstance(value, (dt.date, dt.time)) else _as_text(value).strip()
    try:
        if shape.fullmatch(text):
            parse(text)
            return text
    except ValueError:
        pass
    raise _Problem(f"Please enter {wanted}.")


def _text_value(value: object, field: dict[str, Any]) -> str:
    text, checks, kind = _as_text(value), field["validation"], field["type"]
    if kind == "email" and not _EMAIL.fullmatch(text.strip()):
        raise _Problem("Please enter an email address.")
    if kind == "url" and not _URL.fullmatch(text.strip()):
        raise _Problem("Please enter a URL, such as https://example.org.")
    if "minLength" in checks and len(text) < checks["minLength"]:
        raise _Problem(f"Please use at least {checks['minLength']} characters (you used {len(text)}).")
    if "maxLength" in checks and len(text) > checks["maxLength"]:
        raise _Problem(f"Please use no more than {checks['maxLength']} characters (you used {len(text)}).")
    if "pattern" in checks and not _matches(checks["pattern"], text):
        raise _Problem("Please match the requested format.")
    return text


def _matches(pattern: str, text: str) -> bool:
    """Whether ``text`` matches all of ``pattern``; a pattern that cannot be read, or that does
    not finish within ``PATTERN_SECONDS``, is left for the service to check."""
    return fullmatch_within(pattern, text, PATTERN_SECONDS) is not False


def _check(field: dict[str, Any], value: object) -> tuple[Any, str]:
    """``(value to send, text for the prompt)``; raises ``_Problem`` when the value does not fit."""
    kind = field["type"]
    if kind == "file":
        if _is_empty(value):
            if field["required"]:
                raise _Problem("This form needs a file, and files cannot be sent from a notebook.")
            return None, ""
        raise _Problem("Files cannot be sent from a notebook.")
    if kind == "checkbox":
        ticked = False if value is None else _checkbox(value)
        if field["required"] and not ticked:
            raise _Problem("Please tick this box if you want to proceed.")
        return ticked, "yes" if ticked else "no"
    if _is_empty(value):
        if field["required"]:
            choose = kind in ("select", "radio")
            raise _Problem("Please select one of these options." if choose else "Please fill in this field.")
        return "", ""
    if kind == "number":
        number = _number(value, field["validation"])
        return number, str(number)
    if kind in ("select", "radio"):
        return _choice(value, field["options"])
    if kind in _SHAPES:
        text = _when(value, kind)
        return text, text
    text = _text_value(value, field)
    return text, HIDDEN if field["secret"] else text


def _fields(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    kind = block.get("kind") if isinstance(block, Mapping) else None
    if kind == "form" and isinstance(block.get("fields"), list):
        return list(block["fields"])
    if kind == "input" and isinstance(block.get("field"), dict):
        return [block["field"]]
    raise FormError(f"expected a form or input block from turn_blocks, got {kind or type(block).__name__!r}")


def _unknown_ids(values: Mapping[Any, Any], fields: list[dict[str, Any]]) -> None:
    known = {f["id"] for f in fields}
    unknown = [key for key in values if key not in known]
    if unknown:
        listed = ", ".join(f"{f['id']} ({f['label']})" for f in fields[:20]) + (", …" if len(fields) > 20 else "")
        names = ", ".join(repr(key) for key in unknown[:5]) + (", …" if len(unknown) > 5 else "")
        problems = dict.fromkeys(map(str, unknown[:5]), "no such field")
        raise FormError(f"unknown field {names}; the fields are: {listed}", problems)


def form_submission(block: Mapping[str, Any], values: Mapping[str, Any]) -> Submission:
    """Check ``values`` (``{field_id: value}``) against a form or input block; what to send.

    Raises ``FormError`` naming every field whose value does not fit and what to fix (the
    agent's ``errorMessage`` for that field when it gave one), or listing the fields when a
    value names none of them. Checkboxes take booleans, numbers take numbers (or their
    digits), selects and radios an option's value or label, dates ``YYYY-MM-DD``; Python
    ``date``, ``time`` and ``datetime`` objects are written that way too.
    """
    fields = _fields(block)
    if block.get("submitted"):
        raise FormError("this form was already submitted; the agent shows it filled in")
    if not isinstance(values, Mapping):
        raise FormError(f"values: expected a dict of field id to value, got {type(values).__name__}")
    _unknown_ids(values, fields)
    problems: dict[str, str] = {}
    items: list[dict[str, Any]] = []
    shown: list[str] = []
    for index, field in enumerate(fields):
        try:
            value, text = _check(field, values.get(field["id"]))
        except _Problem as problem:  # the agent's own message, except for what no agent can fix
            agents = field.get("error_message") if field["type"] != "file" else ""
            problems[field["id"]] = agents or str(problem)
            continue
        if field["type"] != "file":
            items.append({"index": index, "label": field["label"], "value": value,
                          "field_id": field["id"], "field_type": field["type"]})  # fmt: skip
        if text:
            shown.append(f"{field['label']}: {text}")
    if problems:
        labels = {f["id"]: f["label"] for f in fields}
        listed = "; ".join(f"{labels[key]}: {message}" for key, message in problems.items())
        raise FormError(f"the form was not sent: {listed}", problems)
    prompt = "; ".join(shown) or f"{block.get('title') or 'Form'}: (nothing filled in)"
    return Submission(prompt, _metadata(block, items))


def _metadata(block: Mapping[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """The request fields that carry a submission (inferred; see the module docstring)."""
    mid = block.get("mid")
    submission: dict[str, Any] = {"type": "submit_form" if block.get("kind") == "form" else "submit_input"}
    if mid:
        submission["mid"] = mid
    submission["submittedData"] = items
    extra: dict[str, Any] = {"formSubmissionMetadata": submission}
    if mid:
        extra["actionMetadata"] = {"mid": mid}
    return extra


def submitted_block(block: Mapping[str, Any], submission: Submission) -> dict[str, Any]:
    """The block as it shows once sent: ``submitted`` and the values it was sent with.

    A form's ``values`` are ``{field_id: value}``, an input's ``value`` its one value: a
    checkbox's a bool, others text, a password's always ``None`` (never shown or saved).
    """
    items = submission.extra["formSubmissionMetadata"]["submittedData"]
    values: dict[str, str | bool | None] = {}
    for item in items:
        value = item["value"]
        hidden = item["field_type"] == "password" or value is None
        values[item["field_id"]] = None if hidden else value if isinstance(value, (bool, str)) else str(value)
    if block.get("kind") == "input":
        return {**block, "submitted": True, "value": values.get(block["field"]["id"])}
    return {**block, "submitted": True, "values": values}


def without_passwords(request: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an interact object whose submitted password values are ``None``: for records and logs."""
    copy = dict(request)
    submission = copy.get("formSubmissionMetadata")
    if isinstance(submission, dict) and isinstance(submission.get("submittedData"), list):
        items = [
            {**item, "value": None} if isinstance(item, dict) and item.get("field_type") == "password" else item
            for item in submission["submittedData"]
        ]
        copy["formSubmissionMetadata"] = {**submission, "submittedData": items}
    return copy


def password_values(request: Mapping[str, Any]) -> list[str]:
    """The password values a request submits, as text: what a recorder must blank wherever they appear."""
    submission = request.get("formSubmissionMetadata")
    items = submission.get("submittedData") if isinstance(submission, Mapping) else None
    return [
        str(item["value"])
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, Mapping) and item.get("field_type") == "password" and item.get("value") not in (None, "")
    ]
