"""A cassette file's lines read as ``Exchange`` objects, each checked, or ``CassetteError`` naming the line.

The format is described in ``convowidget.cassette``; this is its reading half, kept apart
so that module holds the index and the replay.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError
from .protocol import Close, fix_surrogates

__all__ = ["CassetteError", "Exchange", "Frame", "read_exchanges"]

Frame = str | bytes
_MAX_SECONDS = 86_400.0  # a frame's time in a cassette: a day at most
_MAX_REASON_BYTES = 123  # what a WebSocket close frame holds


class CassetteError(ConfigurationError):
    """A cassette file that cannot be read, naming the line."""


@dataclass(frozen=True)
class Exchange:
    """One recorded prompt and everything the server sent back."""

    convo_id: str
    prompt: str
    request: dict[str, Any]
    frames: tuple[tuple[float, Frame], ...]
    close: Close | None
    line: int = 0
    recording: str | None = None
    """Which recording session wrote it: exchanges of one session never replace each other."""


def _seconds(value: int | float, where: str) -> float:
    """A frame's time: a finite number of seconds, at most a day (a longer one would stall the replay)."""
    try:
        seconds = float(value)
    except OverflowError:  # an int beyond any float
        seconds = math.inf
    if not (math.isfinite(seconds) and seconds <= _MAX_SECONDS):
        limit, shown = f"{_MAX_SECONDS:g}", _clip(str(value), 24)
        raise CassetteError(f"{where}: a frame's time must be a finite number of seconds, at most {limit}; got {shown}")
    return max(0.0, seconds)


def _binary(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise CassetteError(f"{where}: a binary frame's base64 is not valid base64") from None


def _frame(value: Any, where: str) -> tuple[float, Frame]:
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], (int, float))):
        raise CassetteError(f"{where}: each frame must be [seconds, text]")
    seconds, body = value
    if isinstance(body, str):
        return _seconds(seconds, where), body
    if isinstance(body, dict) and isinstance(body.get("base64"), str):
        return _seconds(seconds, where), _binary(body["base64"], where)
    raise CassetteError(f"{where}: a frame must be text or {{'base64': ...}}")


def _close_reason(reason: str) -> str:
    """A reason a close frame can carry: valid UTF-8, cut to 123 bytes on a character boundary."""
    data = fix_surrogates(reason).encode("utf-8")
    return data[:_MAX_REASON_BYTES].decode("utf-8", "ignore")


def _exchange(data: Any, where: str, line: int) -> Exchange:
    if not isinstance(data, dict):
        raise CassetteError(f"{where}: expected an object")
    for key in ("convo_id", "prompt"):
        if not isinstance(data.get(key), str):
            raise CassetteError(f"{where}: {key}: expected text")
    frames = data.get("frames")
    if not isinstance(frames, list):
        raise CassetteError(f"{where}: frames: expected a list")
    close = data.get("close")
    if close is not None and not (isinstance(close, dict) and isinstance(close.get("code"), int)):
        raise CassetteError(f"{where}: close: expected {{'code': number, 'reason': text}} or null")
    request = data.get("request")
    recording = data.get("recording")
    return Exchange(
        data["convo_id"],
        data["prompt"],
        request if isinstance(request, dict) else {},
        tuple(_frame(frame, where) for frame in frames),
        None if close is None else Close(close["code"], _close_reason(str(close.get("reason") or ""))),
        line,
        recording if isinstance(recording, str) else None,
    )


def read_exchanges(lines: Iterable[str], name: str) -> list[Exchange]:
    """The exchanges of a cassette's lines (blank lines skipped); ``name`` is the file's, for errors."""
    exchanges = []
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        where = f"{name} line {number}"
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CassetteError(f"{where}: not JSON ({exc})") from None
        except RecursionError:
            raise CassetteError(f"{where}: lists or objects nested too deeply to read") from None
        try:
            exchanges.append(_exchange(data, where, number))
        except CassetteError:
            raise
        except (ValueError, OverflowError) as exc:  # what _exchange's checks miss: bad base64, 10**400 s
            raise CassetteError(f"{where}: cannot read a frame ({exc})") from None
    return exchanges


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
