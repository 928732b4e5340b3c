"""What the embedded server stores of one exchange, shaped as the service stores it.

The human turn holds the prompt as a text message, after one ``visual`` message per
image of a visual prompt, and before a ``context:form_submission`` message carrying a
submitted form's data with every password value blanked (the protocol page's stored
turns show such messages; the payload's shape is ours). The bot turn is the reply whole:
the last ui_engine snapshot's messages, with each run of plain text as a text message
where it arrived among them. ``BotTurn`` also builds the growing snapshot of the
``convowidget.agent`` messages an agent yields.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .forms import without_passwords
from .protocol import dumps, visual_images
from .turns import parse_snapshot, turn_messages, turn_text

__all__ = ["BotTurn", "OpenedTurn", "human_turn", "mark_submitted", "open_turn", "text_message"]

_SUBMITTED_KINDS = ("form", "input")


def text_message(text: str) -> dict[str, Any]:
    return {"type": "text", "item": {"type": "text", "payload": {"message": text}}}


def _message(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "item": {"type": kind, "payload": payload}}


def human_turn(prompt: str, images: list[str], submission: dict[str, Any] | None) -> dict[str, Any]:
    """The human turn to store: images, the prompt's text, a submission's data without passwords."""
    messages = [_message("visual", {"image": image}) for image in images]
    messages.append(text_message(prompt))
    if submission is not None:
        safe = without_passwords({"formSubmissionMetadata": submission})["formSubmissionMetadata"]
        messages.append(_message("context:form_submission", safe))
    return {"from": "human", "messages": messages, "ts": int(time.time())}


def _filled(payload: dict[str, Any], kind: str, submission: dict[str, Any]) -> dict[str, Any]:
    """The form or input payload in its submitted state, password values left out."""
    items = without_passwords({"formSubmissionMetadata": submission})["formSubmissionMetadata"]["submittedData"]
    if kind == "form":
        return {**payload, "isSubmitted": True, "submittedData": items}
    first = items[0] if items and isinstance(items[0], dict) else {}
    return {**payload, "isSubmitted": True, "submittedValue": first.get("value")}


def _find(turns: list[Any], mid: str) -> tuple[int, int, dict[str, Any]] | None:
    """The newest form or input message with this ``mid``: its turn's position, its index, its item."""
    for position in range(len(turns) - 1, -1, -1):
        messages = turns[position].get("messages") if isinstance(turns[position], dict) else None
        for index, message in enumerate(messages if isinstance(messages, list) else []):
            item = message.get("item") if isinstance(message, dict) else None
            if isinstance(item, dict) and message.get("mid") == mid and item.get("type") in _SUBMITTED_KINDS:
                return position, index, item
    return None


def mark_submitted(turns: list[Any], submission: dict[str, Any] | None, mid: object) -> list[Any] | None:
    """``turns`` with the form or input ``mid`` names shown submitted (``isSubmitted``,
    ``submittedData`` / ``submittedValue``, as the spec says the server fills them); None
    when no stored message has that ``mid`` or nothing usable was submitted."""
    if submission is None or not isinstance(submission.get("submittedData"), list) or not isinstance(mid, str):
        return None
    found = _find(turns, mid)
    if found is None:
        return None
    position, index, item = found
    payload = item.get("payload")
    payload = _filled(payload if isinstance(payload, dict) else {}, item["type"], submission)
    messages = turns[position]["messages"]
    filled = {**messages[index], "item": {**item, "payload": payload}}
    changed = {**turns[position], "messages": [*messages[:index], filled, *messages[index + 1 :]]}
    return [*turns[:position], changed, *turns[position + 1 :]]


@dataclass(frozen=True)
class OpenedTurn:
    """The history the agent sees (ending with ``human``), and whether it replaces the stored one."""

    turns: list[Any]
    human: dict[str, Any] | None
    replaces: bool


def open_turn(request: dict[str, Any], stored: Iterable[Any]) -> OpenedTurn:
    """What a received request makes of the history before the agent answers.

    The request's ``turnsHistory`` when it sent one, else the ``stored`` turns; with the
    form or input a submission answers shown submitted; then this prompt's human turn
    (none for ``start``, the greeting). ``replaces`` is True when that is not simply the
    stored history plus the human turn.
    """
    given = request.get("turnsHistory")
    prior = list(given) if isinstance(given, list) else list(stored)
    submission = request.get("formSubmissionMetadata")
    submission = submission if isinstance(submission, dict) else None
    action = request.get("actionMetadata")
    mid = (submission or {}).get("mid") or (action.get("mid") if isinstance(action, dict) else None)
    marked = mark_submitted(prior, submission, mid)
    turns = prior if marked is None else marked
    human = None
    if request["prompt"].strip().lower() != "start":
        human = human_turn(request["prompt"], visual_images(request), submission)
        turns.append(human)
    return OpenedTurn(turns, human, isinstance(given, list) or marked is not None)


class BotTurn:
    """What one answer has sent so far: chunk count, plain text where it arrived, the last
    snapshot, the metadata still to send; and the turn to store."""

    __slots__ = ("_parsed", "_runs", "chunks", "metadata", "plain", "snapshot")

    def __init__(self) -> None:
        self.chunks = 0
        self.plain: list[str] = []
        self.snapshot = ""
        self.metadata: dict[str, Any] = {}
        self._runs: list[tuple[int, list[str]]] = []  # (snapshot messages before the run, its texts)
        self._parsed: tuple[str, list[Any]] = ("", [])

    def messages(self) -> list[Any]:
        """The last snapshot's messages (parsed once per snapshot; [] when it is not a turn)."""
        if self._parsed[0] != self.snapshot:
            self._parsed = (self.snapshot, turn_messages(parse_snapshot(self.snapshot)))
        return self._parsed[1]

    def add(self, text: str, ui_engine: bool) -> None:
        if ui_engine:
            self.snapshot = text
        else:
            at = len(self.messages()) if self.snapshot else 0
            if not self._runs or self._runs[-1][0] != at:
                self._runs.append((at, []))
            self._runs[-1][1].append(text)
            self.plain.append(text)
        self.chunks += 1

    def with_message(self, message: dict[str, Any]) -> str:
        """The snapshot that adds ``message`` to the turn so far (send it, then ``add`` it)."""
        messages = [*self.messages(), message]
        snapshot = dumps({"from": "bot", "messages": messages})  # no ts: the same reply is the same snapshot
        self._parsed = (snapshot, messages)
        return snapshot

    def text(self) -> str:
        text = "".join(self.plain)
        if self.snapshot:
            text = (text + "\n\n" if text else "") + turn_text(self.messages())
        return text

    def turn(self) -> dict[str, Any]:
        """The bot turn to store: snapshot messages and plain text runs, in arrival order."""
        snapshot = self.messages() if self.snapshot else []
        messages: list[Any] = []
        done = 0
        for at, texts in self._runs:
            messages.extend(snapshot[done:at])
            done = max(done, at)
            messages.append(text_message("".join(texts)))
        messages.extend(snapshot[done:])
        return {"from": "bot", "messages": messages or [text_message("")], "ts": int(time.time())}
