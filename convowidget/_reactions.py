"""Suite turns that react to the agent: click a button it offered, submit the form it showed.

A turn is ``user:`` (a message), ``click: "Pricing"`` or ``submit: {field: value}``.
``click_label`` and ``submit_values`` check a suite file's value when it loads;
``plan_turn`` decides, from the previous reply, what a turn sends: exactly what the panel
would (a button's message as a new prompt; a form's checked submission with its request
fields, through ``forms.form_submission``). A link button is checked, not followed. When
nothing can be sent (no such button, an unknown field, a value that does not fit), the
turn fails with ``TurnNotSent`` naming what was offered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._offered import offered_blocks, offered_buttons, offered_forms
from ._redaction import Redaction
from ._suite_checks import json_type
from .errors import FormError, SuiteError
from .forms import form_submission, password_values
from .reply import Reply

__all__ = ["Outgoing", "TurnNotSent", "click_label", "plan_turn", "submit_values"]

_VALUE_TYPES = (str, int, float, bool, dt.date, dt.time)  # YAML reads 2025-01-31 as a date


class TurnNotSent(Exception):
    """A click or submit turn that cannot send anything; the message says why and what was offered."""


def click_label(value: object) -> str:
    """``click``: the name of a button, as text."""
    if not isinstance(value, str) or not value.strip():
        got = "an empty name" if isinstance(value, str) else json_type(value)
        raise SuiteError(f"click: expected the name of a button the agent offered, got {got}", key="click")
    return value


def submit_values(value: object) -> dict[str, Any]:
    """``submit``: ``{field id or label: value}``, each value text, a number, true/false or a date."""
    if not isinstance(value, Mapping) or not value:
        got = "an empty mapping" if isinstance(value, Mapping) else json_type(value)
        raise SuiteError(f"submit: expected a mapping of field to value, got {got}", key="submit")
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise SuiteError(f"submit: a field must be named by its id or label, got {json_type(key)}", key="submit")
        if item is not None and not isinstance(item, _VALUE_TYPES):
            raise SuiteError(
                f"submit: {key}: expected text, a number, true/false or a date, got {json_type(item)}", key="submit"
            )
    return dict(value)


@dataclass(frozen=True)
class Outgoing:
    """What a turn sends: ``prompt`` and request fields ``extra`` (``prompt`` None for a link
    button, which sends nothing); ``shown`` is the prompt for results (passwords hidden),
    ``secrets`` the password values to blank out of the reply before anything keeps it."""

    prompt: str | None
    shown: str
    extra: dict[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    def redacted(self, reply: Reply) -> Reply:
        """The reply with any password this turn sent blanked out (an agent may echo it)."""
        if not self.secrets:
            return reply
        redaction = Redaction(self.secrets)
        reply.text = redaction.text(reply.text)
        reply.chunks = redaction.stream(reply.chunks)
        if reply.error:
            reply.error = redaction.text(reply.error)
        return reply


def plan_turn(
    user: str | None, click: str | None, submit: Mapping[str, Any] | None, previous: Reply | None
) -> Outgoing:
    """What a turn sends after ``previous`` (the scenario's last reply); ``TurnNotSent`` when nothing can be."""
    if user is not None:
        return Outgoing(user, user)
    kind = "click" if click is not None else "submit"
    if previous is None:
        raise TurnNotSent(f"{kind}: there is no reply before this turn to {kind} in")
    blocks = offered_blocks(previous.ui_turn)
    if click is not None:
        return _click(click, blocks)
    return _submit(dict(submit or {}), blocks)


def _click(label: str, blocks: list[dict[str, Any]]) -> Outgoing:
    buttons = offered_buttons(blocks)
    wanted = label.strip()
    found = next((b for b in buttons if b["label"].strip() == wanted), None) or next(
        (b for b in buttons if b["label"].strip().casefold() == wanted.casefold()), None
    )
    if found is None:
        names = ", ".join(repr(_short(b["label"])) for b in buttons[:20]) + (", …" if len(buttons) > 20 else "")
        offered = f"the buttons offered were: {names}" if buttons else "the previous reply offered no buttons"
        raise TurnNotSent(f"click: no button named {_short(label)!r}; {offered}")
    if "url" in found:  # a link: the panel opens it in a new tab, and the agent is told nothing
        url = found["url"]
        if urlsplit(url).scheme.lower() not in ("http", "https", "mailto", "tel"):
            raise TurnNotSent(f"click: the button {found['label']!r} links to {_short(url)!r}, not a web address")
        return Outgoing(None, f"click: {found['label']} (opens {_short(url, 200)})")
    return Outgoing(found["message"], found["message"])


def _submit(values: dict[str, Any], blocks: list[dict[str, Any]]) -> Outgoing:
    forms = offered_forms(blocks)
    if not forms:
        raise TurnNotSent("submit: the previous reply has no form or input waiting to be submitted")
    block = forms[0]
    fields = block["fields"] if block["kind"] == "form" else [block["field"]]
    by_label = {f["label"].strip().casefold(): f["id"] for f in fields if f["label"].strip()}
    ids = {f["id"] for f in fields}
    named = {(key if key in ids else by_label.get(key.strip().casefold(), key)): value for key, value in values.items()}
    try:
        submission = form_submission(block, named)
    except FormError as exc:
        raise TurnNotSent(f"submit: {exc}") from None
    secrets = tuple(password_values(submission.extra))
    return Outgoing(submission.prompt, submission.prompt, submission.extra, secrets)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
