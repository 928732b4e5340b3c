"""Record exchanges to a JSONL cassette and play them back: the file format, no sockets.

One line per exchange::

    {"convo_id": ..., "prompt": ..., "request": {...}, "frames": [[0.012, "{...}"], ...],
     "close": {"code": 1000, "reason": ""}, "recording": "3f2a...", "at": "2025-01-01T12:00:00Z"}

``frames`` are the server's frames exactly as received, each with its time in seconds
after the request was sent (a frame that is not UTF-8 is ``{"base64": ...}``); ``close`` is the
server's close frame, ``{"code": 1006}`` for a dropped connection, or null when the
client stopped first. The request keeps no owner id, user id, name, e-mail, phone or
other personal ``lightConvoData`` (only ``origin``); those values and the token (a header,
never in the file) are blanked out of everything else as a reader would find them, split
across chunks or encoded (``_redaction``), before anything is written.

``recording`` names the ``Recorder`` session that wrote the line. An exchange recorded
again by a later session (same conversation position and prompt) makes the older one
stale: ``Recorder.refresh`` drops stale lines from the file, and ``Replay`` never answers
with them (warning once when the file still holds some).

``Recorder`` appends lines (the client calls it once per exchange); ``Cassette.load``
reads them; ``Replay`` answers incoming requests from them for the embedded server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import threading
import time
import uuid
import warnings
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._cassette_file import CassetteError, Exchange, Frame, read_exchanges
from ._files import check_writable, read_text
from ._options import finite_number, whole
from ._redaction import Redaction
from .errors import ConfigurationError, ConvoError
from .forms import password_values, without_passwords
from .protocol import Close, CloseCode

__all__ = [
    "Cassette",
    "CassetteError",
    "CassetteMiss",
    "Close",
    "Exchange",
    "Playback",
    "Recorder",
    "Refreshed",
    "Replay",
]

_PERSONAL = (("agentData", "ownerID"), ("agentData", "userID"))
_PERSONAL_LIGHT = ("userName", "userEmail", "userPhone", "userID")
_MAX_CONVERSATIONS = 10_000


class CassetteMiss(ConvoError, LookupError):
    """A prompt the cassette never recorded (at this point of a conversation).

    ``reason`` is the short form a replaying server sends as its close reason.
    """

    def __init__(self, message: str, prompt: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.prompt = prompt
        self.reason = reason or f"no recorded reply to {_clip(prompt, 40)!r}"


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


@dataclass(frozen=True)
class Refreshed:
    """What ``Recorder.refresh`` did: how many exchanges of this recording replaced older
    ones (same conversation position and prompt) or were new, how many older lines it
    dropped, and how many exchanges the cassette holds now."""

    replaced: int
    added: int
    dropped: int
    exchanges: int

    def __str__(self) -> str:
        return f"{_count(self.replaced)} replaced, {self.added:,} added ({_count(self.exchanges)} in the cassette)"


def _count(number: int) -> str:
    return f"{number:,} exchange{'' if number == 1 else 's'}"


class Recorder:
    """Appends one line per exchange to a JSONL cassette; safe to share between threads.

    Each line is written with one ``write`` under a lock, so concurrent exchanges never
    interleave. The file is created (or checked writable, and readable as a cassette) at
    once, not at the first reply. Every line names this recording (``recording``), so a
    suite recorded with ``repeat=`` keeps each run's exchange, while ``refresh()`` (or
    leaving a ``with Recorder(...)`` block) drops the older recordings of each exchange
    this one recorded again: re-recording refreshes a cassette instead of growing it.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.recording = uuid.uuid4().hex[:16]
        self._lock = threading.Lock()
        try:
            check_writable(self.path)
            with open(self.path, "ab"):
                pass
        except (OSError, ConfigurationError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else exc
            raise ConfigurationError(f"record: cannot write the cassette {self.path}: {reason}") from None
        if self.path.stat().st_size:
            try:
                Cassette.load(self.path)
            except CassetteError as exc:
                raise ConfigurationError(
                    f"record: {self.path} is not a cassette this can add to ({exc}); record to a new file"
                ) from None

    def __repr__(self) -> str:
        return f"Recorder({str(self.path)!r})"

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.refresh()

    def refresh(self) -> Refreshed:
        """Rewrite the cassette without the exchanges recorded again since (newest wins).

        An exchange is the same as an older one when its conversation so far (its
        position and the prompts up to its own) is. The file is replaced whole, at once;
        until then a replay already answers with the newest, and warns.
        """
        with self._lock:
            lines = read_text(self.path).split("\n")
            cassette = Cassette(read_exchanges(lines, self.path.name), self.path.name)
            stale = {exchange.line for exchange in cassette.stale}
            replaced, added = cassette.recorded_again(self.recording)
            if stale:
                kept = "".join(
                    line + "\n" for number, line in enumerate(lines, 1) if line.strip() and number not in stale
                )
                temporary = self.path.with_name(f".{self.path.name}.{self.recording}.tmp")
                temporary.write_bytes(kept.encode("utf-8", "surrogatepass"))
                os.replace(temporary, self.path)
        return Refreshed(replaced, added, len(stale), len(cassette) - len(stale))

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
            "recording": self.recording,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        text = json.dumps(line, ensure_ascii=False) + "\n"
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate somewhere: JSON escapes keep it exactly
            data = (json.dumps(line) + "\n").encode("ascii")
        with self._lock, open(self.path, "ab") as file:
            file.write(data)


class Cassette:
    """The exchanges of a cassette file, indexed for replay.

    An exchange is found by its conversation so far: the prompts before it in its
    recorded conversation and its own prompt; failing that, by its prompt and position
    in the conversation. When one was recorded again later (by another recording), the
    newest recording answers and the older ones are ``stale``.
    """

    def __init__(self, exchanges: Iterable[Exchange], name: str = "cassette") -> None:
        self.name = name
        self.exchanges = list(exchanges)
        self.conversations: dict[str, list[Exchange]] = {}
        self._by_path: dict[bytes, list[Exchange]] = {}  # by _prompts_digest of the prompts up to its own
        self._by_position: dict[tuple[str, int], list[Exchange]] = {}
        self._keys: list[tuple[bytes, int]] = []  # each exchange's (path, position)
        paths: dict[str, bytes] = {}
        newest: dict[bytes, tuple[str | None, int]] = {}  # path -> (recording, index) of its last exchange
        for index, exchange in enumerate(self.exchanges):
            turns = self.conversations.setdefault(exchange.convo_id, [])
            path = _prompts_digest(paths.get(exchange.convo_id, _START), exchange.prompt)
            paths[exchange.convo_id] = path
            self._keys.append((path, len(turns)))
            newest[path] = (exchange.recording, index)
            turns.append(exchange)
        self.stale: list[Exchange] = []
        """Exchanges recorded again later by another recording: replay never answers with them."""
        self._refreshed: set[bytes] = set()  # paths with a stale exchange
        for index, (exchange, (path, position)) in enumerate(zip(self.exchanges, self._keys, strict=True)):
            recording, last = newest[path]
            if exchange.recording != recording or (recording is None and index != last):
                self.stale.append(exchange)
                self._refreshed.add(path)
                continue
            self._by_path.setdefault(path, []).append(exchange)
            self._by_position.setdefault((exchange.prompt, position), []).append(exchange)
        self._stale_ids = {id(exchange) for exchange in self.stale}

    def is_stale(self, exchange: Exchange) -> bool:
        """True when ``exchange`` was recorded again later: replay answers with the newer one."""
        return id(exchange) in self._stale_ids

    def recorded_again(self, recording: str) -> tuple[int, int]:
        """``(replaced, added)``: how many exchanges of ``recording`` replaced older ones, how many were new."""
        mine = [
            path
            for exchange, (path, _) in zip(self.exchanges, self._keys, strict=True)
            if exchange.recording == recording
        ]
        replaced = sum(1 for path in mine if path in self._refreshed)
        return replaced, len(mine) - replaced

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
        return cls(read_exchanges(lines, file.name), file.name)

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
        stale = len(self.cassette.stale)
        if stale:  # once per replay, not per request
            warnings.warn(
                f"the cassette {self.cassette.name} holds {_count(stale)} recorded again later; replay answers "
                "with the newest of each (Recorder.refresh(), or re-recording with `convowidget test --record`, "
                "rewrites it without them)",
                stacklevel=2,
            )

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
            exchange = turns[state.turns]
            return None if self.cassette.is_stale(exchange) else exchange
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
