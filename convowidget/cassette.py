"""Record exchanges to a JSONL cassette and play them back: the file format, no sockets.

One line per exchange::

    {"convo_id": ..., "prompt": ..., "request": {...}, "frames": [[0.012, "{...}"], ...],
     "close": {"code": 1000, "reason": ""}, "at": "2025-01-01T12:00:00Z"}

``frames`` are the server's frames exactly as received, each with its time in seconds
after the request was sent (a frame that is not UTF-8 is ``{"base64": ...}``); ``close`` is the
server's close frame, ``{"code": 1006}`` for a dropped connection, or null when the
client stopped first. The request keeps no owner id, user id, name, e-mail, phone or
other personal ``lightConvoData`` (only ``origin``); those values and the token (a header,
never in the file) are blanked out of everything else as a reader would find them, split
across chunks or encoded (``_redaction``), before anything is written.

``Recorder`` appends lines (the client calls it once per exchange); ``Cassette.load``
reads them; ``Replay`` answers incoming requests from them for the embedded server.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import math
import os
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._files import check_writable, read_text
from ._options import finite_number, whole
from ._redaction import Redaction
from .errors import ConfigurationError, ConvoError
from .forms import password_values, without_passwords
from .protocol import Close, CloseCode, fix_surrogates

__all__ = ["Cassette", "CassetteError", "CassetteMiss", "Close", "Exchange", "Playback", "Recorder", "Replay"]

Frame = str | bytes
_PERSONAL = (("agentData", "ownerID"), ("agentData", "userID"))
_PERSONAL_LIGHT = ("userName", "userEmail", "userPhone", "userID")
_MAX_CONVERSATIONS = 10_000
_MAX_SECONDS = 86_400.0  # a frame's time in a cassette: a day at most
_MAX_REASON_BYTES = 123  # what a WebSocket close frame holds


class CassetteError(ConfigurationError):
    """A cassette file that cannot be read, naming the line."""


class CassetteMiss(ConvoError, LookupError):
    """A prompt the cassette never recorded (at this point of a conversation).

    ``reason`` is the short form a replaying server sends as its close reason.
    """

    def __init__(self, message: str, prompt: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.prompt = prompt
        self.reason = reason or f"no recorded reply to {_clip(prompt, 40)!r}"


@dataclass(frozen=True)
class Exchange:
    """One recorded prompt and everything the server sent back."""

    convo_id: str
    prompt: str
    request: dict[str, Any]
    frames: tuple[tuple[float, Frame], ...]
    close: Close | None
    line: int = 0


def clean_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """The interact object without personal data: no ``agentData``, ``lightConvoData`` keeps ``origin``,
    and a submitted form's password values are ``None``."""
    clean = {key: value for key, value in without_passwords(request).items() if key != "agentData"}
    light = request.get("lightConvoData")
    if isinstance(light, Mapping):
        clean["lightConvoData"] = {key: value for key, value in light.items() if key == "origin"}
    return clean


def _personal_values(request: Mapping[str, Any], more: Iterable[str] = ()) -> list[Any]:
    """Every personal value of the request (owner id, user id, name, e-mail, phone, a submitted
    password), and ``more``."""
    values: list[Any] = [*more, *password_values(request)]
    for outer, inner in _PERSONAL:
        part = request.get(outer)
        if isinstance(part, Mapping):
            values.append(part.get(inner))
    light = request.get("lightConvoData")
    if isinstance(light, Mapping):
        values.extend(light.get(key) for key in _PERSONAL_LIGHT)
    return values


def _as_text(frame: Frame) -> Frame:
    """A frame read undecoded (``recv(decode=False)``) as text when it is UTF-8, as the protocol's are."""
    if isinstance(frame, bytes):
        try:
            return frame.decode("utf-8")
        except UnicodeDecodeError:
            return frame
    return frame


def _encode_frame(frame: Frame) -> Any:
    return {"base64": base64.b64encode(frame).decode("ascii")} if isinstance(frame, bytes) else frame


class Recorder:
    """Appends one line per exchange to a JSONL cassette; safe to share between threads.

    Each line is written with one ``write`` under a lock, so concurrent exchanges never
    interleave. The file is created (or checked writable) at once, not at the first reply.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            check_writable(self.path)
            with open(self.path, "ab"):
                pass
        except (OSError, ConfigurationError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else exc
            raise ConfigurationError(f"record: cannot write the cassette {self.path}: {reason}") from None

    def __repr__(self) -> str:
        return f"Recorder({str(self.path)!r})"

    def record(
        self,
        request: Mapping[str, Any],
        frames: Iterable[tuple[float, Frame]],
        close: Close | Mapping[str, Any] | None,
        *,
        secrets: Iterable[str] = (),
    ) -> None:
        """Append one exchange: ``frames`` as ``(seconds after the request, frame)``.

        A frame given as bytes is stored as text when it is UTF-8 (a client may read
        frames undecoded), else as base64, replayed as a binary frame. ``secrets`` are
        more values to blank out of the frames (the client passes its token).
        """
        redaction = Redaction(_personal_values(request, secrets))
        if isinstance(close, Mapping):
            close = Close(int(close.get("code", CloseCode.ABNORMAL_CLOSURE)), str(close.get("reason") or ""))
        timed = list(frames)
        shown = redaction.frames([_as_text(frame) for _, frame in timed])  # as a reader would find them
        line = {
            "convo_id": request.get("convoId"),
            "prompt": redaction.value(request.get("prompt")),
            "request": redaction.value(clean_request(request)),
            "frames": [[round(float(t), 6), _encode_frame(frame)] for (t, _), frame in zip(timed, shown, strict=True)],
            "close": None if close is None else {"code": close.code, "reason": redaction.text(close.reason)},
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        text = json.dumps(line, ensure_ascii=False) + "\n"
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate somewhere: JSON escapes keep it exactly
            data = (json.dumps(line) + "\n").encode("ascii")
        with self._lock, open(self.path, "ab") as file:
            file.write(data)


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
    return Exchange(
        data["convo_id"],
        data["prompt"],
        request if isinstance(request, dict) else {},
        tuple(_frame(frame, where) for frame in frames),
        None if close is None else Close(close["code"], _close_reason(str(close.get("reason") or ""))),
        line,
    )


class Cassette:
    """The exchanges of a cassette file, indexed for replay.

    An exchange is found by its conversation so far: the prompts before it in its
    recorded conversation and its own prompt; failing that, by its prompt and position
    in the conversation.
    """

    def __init__(self, exchanges: Iterable[Exchange], name: str = "cassette") -> None:
        self.name = name
        self.exchanges = list(exchanges)
        self.conversations: dict[str, list[Exchange]] = {}
        self._by_path: dict[bytes, list[Exchange]] = {}  # by _prompts_digest of the prompts up to its own
        self._by_position: dict[tuple[str, int], list[Exchange]] = {}
        paths: dict[str, bytes] = {}
        for exchange in self.exchanges:
            turns = self.conversations.setdefault(exchange.convo_id, [])
            path = _prompts_digest(paths.get(exchange.convo_id, _START), exchange.prompt)
            paths[exchange.convo_id] = path
            self._by_path.setdefault(path, []).append(exchange)
            self._by_position.setdefault((exchange.prompt, len(turns)), []).append(exchange)
            turns.append(exchange)

    def __len__(self) -> int:
        return len(self.exchanges)

    def __repr__(self) -> str:
        return f"Cassette({self.name!r}: {len(self.exchanges)} exchanges in {len(self.conversations)} conversations)"

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Cassette:
        """Read a JSONL cassette; a bad line raises ``CassetteError`` naming it."""
        file = Path(path)
        try:
            lines = read_text(file).split("\n")  # not splitlines(): U+2028 may stand in a frame
        except FileNotFoundError:
            raise CassetteError(f"replay: no cassette at {file}; record one with ConvoClient(record=...)") from None
        except (OSError, UnicodeDecodeError, ConfigurationError) as exc:
            raise CassetteError(f"replay: cannot read the cassette {file}: {exc}") from None
        exchanges = []
        for number, text in enumerate(lines, 1):
            if not text.strip():
                continue
            where = f"{file.name} line {number}"
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
        return cls(exchanges, file.name)

    def find(self, before: tuple[str, ...], prompt: str) -> list[Exchange]:
        """The recorded exchanges answering ``prompt`` after the prompts ``before``."""
        path = _START
        for earlier in before:
            path = _prompts_digest(path, earlier)
        return self._find_after(path, len(before), prompt)

    def _find_after(self, path: bytes, position: int, prompt: str) -> list[Exchange]:
        """``find`` for a conversation known by the ``_prompts_digest`` of its ``position`` prompts so far."""
        return self._by_path.get(_prompts_digest(path, prompt)) or self._by_position.get((prompt, position)) or []


_START = bytes(16)  # the _prompts_digest of a conversation with no prompts yet


def _prompts_digest(path: bytes, prompt: str) -> bytes:
    """A conversation's prompts so far as 16 bytes: the digest of ``path`` (those before) and ``prompt``.

    Equal prompts in equal order give equal digests, so a replay follows a recording
    without keeping what was said (a prompt may be a megabyte).
    """
    digest = hashlib.blake2b(path, digest_size=16)  # path is always 16 bytes: no two histories run together
    digest.update(prompt.encode("utf-8", "surrogatepass"))
    return digest.digest()


@dataclass(frozen=True)
class Playback:
    """The answer to one replayed request: frames at their times (already scaled by ``pace``)."""

    prompt: str
    frames: tuple[tuple[float, Frame], ...]
    close: Close | None
    source: Exchange = field(repr=False)

    async def play(self, send: Callable[[Frame], Awaitable[Any]]) -> None:
        """Send each frame at its time after now; the caller then applies ``close``."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for at, frame in self.frames:
            delay = start + at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await send(frame)


@dataclass
class _Following:
    """Where a replayed conversation stands: enough to follow its recording, none of its text."""

    path: bytes = _START  # _prompts_digest of its prompts so far
    turns: int = 0
    last: str = ""  # its last prompt, clipped, to name in a miss
    recorded: str | None = None  # the recorded conversation it follows


class Replay:
    """Answers requests from a cassette, in order, for a server to send.

    A replayed conversation follows one recorded conversation while its prompts match,
    so its turns and history stay consistent. When several recordings fit (a suite
    recorded with ``repeat=``), successive conversations get them in turn. ``pace``
    scales the recorded timing: 1.0 as recorded, 0 as fast as possible.

    Each conversation costs a few hundred bytes whatever was said (digests, not
    prompts); past ``max_conversations`` (10,000: a few MB) the least recently used is
    forgotten, and its next prompt is matched as the start of a conversation.
    """

    def __init__(
        self,
        cassette: Cassette | str | os.PathLike[str],
        *,
        pace: float = 1.0,
        max_conversations: int = _MAX_CONVERSATIONS,
    ) -> None:
        self.pace = finite_number("pace", pace, least=0, wanted="a number of at least 0 (1.0 = as recorded)")
        self.max_conversations = whole("max_conversations", max_conversations, least=1)
        self.cassette = cassette if isinstance(cassette, Cassette) else Cassette.load(cassette)
        self._lock = threading.Lock()
        self._conversations: OrderedDict[bytes, _Following] = OrderedDict()  # by digest of the conversation id
        self._used: Counter[bytes] = Counter()  # by _prompts_digest: which of several recordings is next

    def __repr__(self) -> str:
        return f"Replay({self.cassette!r}, pace={self.pace:g})"

    def answer(self, request: Mapping[str, Any]) -> Playback:
        """The recorded answer to this request, or ``CassetteMiss`` naming the prompt."""
        convo_id = str(request.get("convoId", ""))
        # as recorded: the caller's own personal data in the prompt blanked, as record() does
        prompt = Redaction(_personal_values(request)).text(str(request.get("prompt", "")))
        key = _prompts_digest(_START, convo_id)
        with self._lock:
            state = self._conversations.setdefault(key, _Following())
            self._conversations.move_to_end(key)
            while len(self._conversations) > self.max_conversations:
                self._conversations.popitem(last=False)
            exchange = self._next_in_recording(state, prompt)
            if exchange is None:
                candidates = self.cassette._find_after(state.path, state.turns, prompt)
                if not candidates:
                    raise self._miss(state, prompt)
                path = _prompts_digest(state.path, prompt)
                exchange = candidates[self._used[path] % len(candidates)]
                self._used[path] += 1
                state.recorded = exchange.convo_id
            state.path, state.turns, state.last = _prompts_digest(state.path, prompt), state.turns + 1, _clip(prompt)
        frames = tuple((at * self.pace, frame) for at, frame in exchange.frames)
        return Playback(prompt, frames, exchange.close, exchange)

    def _next_in_recording(self, state: _Following, prompt: str) -> Exchange | None:
        if state.recorded is None:
            return None
        turns = self.cassette.conversations.get(state.recorded, [])
        if state.turns < len(turns) and turns[state.turns].prompt == prompt:
            return turns[state.turns]
        return None

    def _miss(self, state: _Following, prompt: str) -> CassetteMiss:
        turn = state.turns + 1
        where = f"as turn {turn} of a conversation, after {state.last!r}" if state.turns else "to start a conversation"
        message = (
            f"the cassette {self.cassette.name} has no reply to {_clip(prompt)!r} {where}; "
            "record this conversation with ConvoClient(record=...) and replay again"
        )
        short = f"as turn {turn}" if state.turns else "to start a conversation"
        return CassetteMiss(message, prompt, f"no recorded reply to {_clip(prompt, 40)!r} {short}")


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
