"""The async WebSocket client over the protocol layer, with blocking calls on the IO thread.

One connection per prompt: send the interact object, read events until the server closes.
A close with 1000 completes the reply; anything else fails it, keeping the partial text.
Every way of calling (``ask``, ``ask_async``, ``start``, ``ask_many``, ``stream`` and the
widget) goes through one receive loop, ``ConvoClient.exchange``, which never lets an
exception out of a reply: it ends ``failed`` with the text so far and says what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import ipaddress
import json
import logging
import math
import os
import random
import re
import threading
import time
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidProxy,
    InvalidProxyStatus,
    InvalidStatus,
    InvalidURI,
    ProxyError,
)
from websockets.uri import parse_uri

from . import _io
from .errors import ConfigurationError, ConvoError, InsecureURLError, StreamError
from .protocol import Event, build_interact, parse_frame, region_info, validate_request
from .reply import Reply, ReplyBuilder, Status

__all__ = ["ConvoClient", "PendingReply", "check_url", "is_loopback", "redact", "retry_delay", "safe_url"]

log = logging.getLogger("convowidget.client")

# websockets logs handshake headers (the token) and frames (owner id, e-mail) at DEBUG.
# Its connections get this logger, held at INFO whatever the root logger's level is.
_wire_logger = logging.getLogger("convowidget.websockets")
_wire_logger.setLevel(logging.INFO)
_wire_logger.addFilter(lambda record: record.levelno > logging.DEBUG)

EventCallback = Callable[[Event, ReplyBuilder], None]
StartCallback = Callable[[ReplyBuilder], None]

DEFAULT_MAX_REPLY_SIZE = 32 * 2**20
REMEMBERED_CONVERSATIONS = 64  # conversations whose last turns are kept for sharing
RETRY_STATUSES = (429, 503)  # handshake refusals that mean "not now", never "no"
RETRY_AFTER_CAP = 60.0  # seconds: the longest a server's Retry-After makes us wait
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
CLOSE_TIMEOUT = 2.0  # seconds to wait for the server to answer our close frame
# Frames websockets decompresses ahead of the reader; its default (16) lets a compressed
# stream hold 16 x max_size in memory before max_reply_size can see it.
RECEIVE_QUEUE = 4


def _env(value: Any, name: str) -> Any:
    return value if value is not None else (os.environ.get(name) or None)


# ---------------------------------------------------------------------------- addresses


def is_loopback(host: str | None) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def safe_url(url: str) -> str:
    """The URL without user info, query or fragment, fit for messages and reprs; never raises."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except (ValueError, TypeError):
        return "(an address that is not valid)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


_DELIMITERS = re.compile(r"[:/@?#&=;,+\s]+")


def _secret_parts(url: str) -> set[str]:
    """Every piece of ``url`` that may be secret (user info, query, fragment), however it is split.

    A password holding ``/``, ``?`` or ``#`` is split differently by different parsers, so
    the pieces of each reading are all collected, whole and word by word, raw and decoded.
    """
    rest = url.partition("://")[2] or url
    pieces: set[str] = set()
    if "@" in rest:
        pieces.add(rest.rpartition("@")[0])  # everything before the last '@' may be user info
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        pieces.add(authority.rpartition("@")[0])
    for mark in "?#":
        if mark in rest:
            pieces.add(rest.partition(mark)[2])
    try:
        parts = urlsplit(url)
        pieces.update(p for p in (parts.username, parts.password, parts.query, parts.fragment) if p)
    except ValueError:
        pass
    found: set[str] = set()
    for piece in pieces:
        for form in (piece, unquote(piece)):
            found.add(form)
            found.update(_DELIMITERS.split(form))
    return {piece for piece in found if len(piece) >= 2}


def redact(text: str, url: str) -> str:
    """``text`` without ``url`` or any secret part of it (user info, query string, fragment).

    Library messages quote the address they were given (websockets' ``InvalidURI``,
    urllib's port errors), so every error the client builds passes through here.
    """
    if not text or not isinstance(url, str) or not url:
        return text
    safe = safe_url(url)
    text = text.replace(url, safe)
    keep = set(_DELIMITERS.split(safe))
    for piece in sorted(_secret_parts(url) - keep, key=len, reverse=True):
        if len(piece) >= 4:
            text = text.replace(piece, "***")
        else:  # a short piece only as a word of its own, so other words keep their letters
            text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(piece)}(?![0-9A-Za-z])", "***", text)
    return text


_ENCODE_HINT = "; a user name or password holding / ? # or @ must percent-encode them (%2F %3F %23 %40)"


def check_url(url: object, *, allow_insecure: bool = False) -> str:
    """Refuse anything but ``wss://``, or ``ws://`` to this machine, and any address that
    parsers could read in two ways. Messages never quote the address's secret parts."""
    if not isinstance(url, str):
        raise ConfigurationError(f"url: expected a string, got {type(url).__name__}")
    try:
        return _check_url(url, allow_insecure)
    except ConfigurationError as exc:
        raise type(exc)(redact(str(exc), url)) from None


def _check_url(url: str, allow_insecure: bool) -> str:
    for position, char in enumerate(url):
        if char.isspace() or unicodedata.category(char).startswith("C"):
            raise ConfigurationError(
                f"url: holds a space or control character at position {position}; "
                "remove it (or percent-encode a space as %20)"
            )
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in ("ws", "wss") or not rest:
        raise ConfigurationError(
            "url: not a WebSocket address; it must start with wss:// (or ws:// for a server on this machine)"
        )
    hint = _ENCODE_HINT if "@" in url else ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigurationError(f"url: not a valid address: the port is not a number from 0 to 65535{hint}") from None
    if not parts.hostname:
        raise ConfigurationError(f"url: not a valid address: no host name{hint}")
    if "@" in url[len(parts.scheme) + 3 + len(parts.netloc) :]:
        raise ConfigurationError(f"url: '@' after the host name is ambiguous{_ENCODE_HINT}")
    if "#" in url:
        raise ConfigurationError("url: a WebSocket address has no #fragment; remove it")
    try:
        parse_uri(url)
    except InvalidURI as exc:
        raise ConfigurationError(f"url: not a valid WebSocket address: {exc.msg}") from None
    except ValueError:  # user info that is not valid percent-encoded UTF-8
        raise ConfigurationError(f"url: not a valid WebSocket address{hint}") from None
    if parts.scheme == "ws" and not allow_insecure and not is_loopback(parts.hostname):
        raise InsecureURLError(
            f"url: plain ws:// to {parts.hostname} would send your conversation unencrypted; "
            "use wss://, or pass allow_insecure=True if you really mean it"
        )
    return url


# ---------------------------------------------------------------------------- option checks


def _seconds(name: str, value: object, *, wanted: str = "a positive, finite number of seconds") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{name}: expected {wanted}, got {value!r}")
    return float(value)


def _optional_seconds(name: str, value: object) -> float | None:
    return None if value is None else _seconds(name, value, wanted="a positive, finite number of seconds or None")


def _whole(name: str, value: object, *, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigurationError(f"{name}: expected a whole number of at least {least}, got {value!r}")
    return value


def _size(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def _describe(exc: BaseException) -> str:
    """``Type: message`` for any exception, even one whose ``__str__`` raises."""
    try:
        detail = str(exc)
    except Exception:
        detail = ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _callback_error(name: str, exc: BaseException) -> str:
    return f"your {name} callback raised {_describe(exc)}; the reply ended there and the text so far is kept"


# ---------------------------------------------------------------------------- retries


def _retry_after_seconds(header: str | None) -> float | None:
    """A ``Retry-After`` value (seconds or an HTTP date) in seconds from now, or None."""
    if not header:
        return None
    header = header.strip()
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def retry_delay(attempt: int, retry_after: str | None = None) -> float:
    """Seconds to wait before retrying a prompt that was never delivered.

    The server's ``Retry-After`` when it gives one (capped at ``RETRY_AFTER_CAP``), else
    exponential backoff from ``BACKOFF_BASE``; both with jitter, so a batch that was
    refused at once does not come back at once.
    """
    wanted = _retry_after_seconds(retry_after)
    if wanted is not None:
        return min(RETRY_AFTER_CAP, wanted + random.uniform(0, BACKOFF_BASE))
    return min(BACKOFF_CAP, BACKOFF_BASE * 2.0**attempt) * random.uniform(0.5, 1.0)


# ---------------------------------------------------------------------------- one reply


def _describe_close(exc: ConnectionClosed) -> str:
    if exc.rcvd is not None:
        reason = f" ({exc.rcvd.reason})" if exc.rcvd.reason else ""
        return f"the server closed the connection with code {exc.rcvd.code}{reason} before finishing"
    if exc.sent is not None and exc.sent.code == 1009:
        return "a frame from the server was larger than max_size; raise ConvoClient(max_size=...)"
    return "the connection dropped without a close frame (1006); the network or the server failed"


class _NoRedirects(connect):
    """websockets' ``connect`` that treats every redirect as the refusal it reports."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc


@dataclass
class _Attempt:
    """One connection attempt, shared by the task receiving it and the exchange watching it."""

    last_activity: float  # loop time of the last sign of life, for idle_timeout
    delivered: bool = False  # the request may have reached the server: never send it again
    received: int = 0  # frame bytes after decompression, for max_reply_size
    close_code: int = 1000
    close_reason: str = ""
    retryable: bool = False
    retry_after: str | None = None


class PendingReply:
    """A reply being received on the IO thread: ``stop()`` it, or wait for ``result()``."""

    def __init__(self, future: Future[Reply], stop_event: asyncio.Event) -> None:
        self.future = future
        self._stop_event = stop_event

    def stop(self) -> None:
        """Stop receiving; the reply ends ``stopped`` with the text received so far."""
        _io.call_soon(self._stop_event.set)

    def done(self) -> bool:
        return self.future.done()

    def result(self, timeout: float | None = None) -> Reply:
        return self.future.result(timeout)


class ConvoClient:
    """Talks to a Convocore agent, or any server speaking its interact protocol.

    Every argument falls back to an environment variable (``CONVOCORE_AGENT_ID``,
    ``CONVOCORE_OWNER_ID``, ``CONVOCORE_USER_ID``, ``CONVOCORE_REGION``, ``CONVOCORE_URL``,
    ``CONVOCORE_TOKEN``). Owner id, user id, token, e-mail and phone are never shown, nor
    the user info, query string or fragment of ``url``.

    Transport: redirects are never followed (use the final address as ``url``); a server
    on this machine is reached directly, while a remote ``wss://`` address honours the
    proxy environment variables (``https_proxy``, ``no_proxy``). ``open_timeout`` bounds
    the handshake, ``idle_timeout`` the silence between frames and ``timeout`` (off by
    default) a whole reply; ``max_size`` bounds one frame and ``max_reply_size`` the sum
    of a reply's frames. ``retries`` is how often ``ask_many`` retries a prompt that never
    reached the server (refused with 429 or 503, connection refused, open timeout).
    """

    def __init__(
        self,
        agent_id: str | None = None,
        owner_id: str | None = None,
        user_id: str | None = None,
        region: str | None = None,
        url: str | None = None,
        token: str | None = None,
        user_name: str | None = None,
        user_email: str | None = None,
        user_phone: str | None = None,
        origin: str = "web-chat",
        open_timeout: float = 10.0,
        idle_timeout: float = 60.0,
        max_size: int = 16 * 2**20,
        allow_insecure: bool = False,
        compression: str | None = "deflate",
        extra: dict[str, Any] | None = None,
        timeout: float | None = None,
        max_reply_size: int = DEFAULT_MAX_REPLY_SIZE,
        retries: int = 2,
    ) -> None:
        raw_url = _env(url, "CONVOCORE_URL")
        try:
            self.agent_id: str | None = _env(agent_id, "CONVOCORE_AGENT_ID")
            self.region: str = _env(region, "CONVOCORE_REGION") or "eu"
            endpoint = region_info(self.region)
            self.url: str = check_url(raw_url or endpoint.url, allow_insecure=allow_insecure)
            self.open_timeout = _seconds("open_timeout", open_timeout)
            self.idle_timeout = _seconds("idle_timeout", idle_timeout)
            self.timeout = _optional_seconds("timeout", timeout)
            self.max_size = _whole("max_size", max_size, least=1)
            self.max_reply_size = _whole("max_reply_size", max_reply_size, least=1)
            self.retries = _whole("retries", retries, least=0)
            if compression is not None and not (isinstance(compression, str) and compression == "deflate"):
                raise ConfigurationError(f'compression: expected "deflate" or None, got {compression!r}')
            self.compression = compression
            if extra is not None and not isinstance(extra, dict):
                raise ConfigurationError(f"extra: expected a dict of extra interact fields, got {type(extra).__name__}")
            self.extra = dict(extra or {})
            self.origin = origin
            self._owner_id: str | None = _env(owner_id, "CONVOCORE_OWNER_ID")
            self._user_id: str | None = _env(user_id, "CONVOCORE_USER_ID")
            self._token: str | None = _env(token, "CONVOCORE_TOKEN")
            if self._token is not None and (
                not isinstance(self._token, str) or any(unicodedata.category(c).startswith("C") for c in self._token)
            ):
                raise ConfigurationError("token: expected a string without control characters")
            self._person = {"user_name": user_name, "user_email": user_email, "user_phone": user_phone}
            self._turns: OrderedDict[str, list[Any]] = OrderedDict()
            self._turns_lock = threading.Lock()
            # Fail now, not at the first prompt, on a missing agent id or any bad field
            # (the prompt and conversation id here are stand-ins).
            self.make_request("check", "check")
        except ConfigurationError as exc:
            raise type(exc)(redact(str(exc), raw_url)) from None

    def __repr__(self) -> str:
        return f"ConvoClient(agent_id={self.agent_id!r}, region={self.region!r}, url={safe_url(self.url)!r})"

    @staticmethod
    def new_convo_id() -> str:
        """A fresh conversation id."""
        return str(uuid.uuid4())

    def make_request(self, prompt: str, convo_id: str | None = None, **extra: Any) -> dict[str, Any]:
        """The validated interact object for one prompt; ``ConfigurationError`` names a bad field.

        Without ``convo_id`` the prompt starts a new conversation. ``extra`` holds optional
        protocol fields by their wire names and overrides the client's own ``extra``.
        """
        if convo_id is not None and not isinstance(convo_id, str):
            raise ConfigurationError(f"convo_id: expected a string, got {type(convo_id).__name__}")
        return build_interact(
            agent_id=self.agent_id,
            convo_id=self.new_convo_id() if convo_id is None else convo_id,
            prompt=prompt,
            region=self.region,
            owner_id=self._owner_id,
            user_id=self._user_id,
            origin=self.origin,
            extra={**self.extra, **extra},
            **self._person,
        )

    def forget(self, convo_id: str) -> None:
        """Drop the turns kept for ``convo_id`` (shared with its next reply to save memory)."""
        with self._turns_lock:
            self._turns.pop(convo_id, None)

    def _previous_turns(self, convo_id: str) -> list[Any] | None:
        with self._turns_lock:
            turns = self._turns.get(convo_id)
            if turns is not None:
                self._turns.move_to_end(convo_id)
            return turns

    def _remember(self, reply: Reply) -> None:
        if not reply.turns:
            return
        with self._turns_lock:
            self._turns[reply.convo_id] = reply.turns
            self._turns.move_to_end(reply.convo_id)
            while len(self._turns) > REMEMBERED_CONVERSATIONS:
                self._turns.popitem(last=False)

    def _redact(self, text: str | None) -> str | None:
        return None if text is None else redact(text, self.url)

    # ------------------------------------------------------------------ transport

    def _connect_options(self) -> dict[str, Any]:
        """Keyword arguments for websockets' ``connect``: loopback never goes through a proxy;
        remote addresses keep websockets' default (``proxy=True``: the environment's proxy)."""
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        return {
            "additional_headers": headers,
            "open_timeout": self.open_timeout,
            "close_timeout": CLOSE_TIMEOUT,
            "max_size": self.max_size,
            "max_queue": RECEIVE_QUEUE,
            "compression": self.compression,
            "logger": _wire_logger,
            "user_agent_header": "convowidget",
            "proxy": None if is_loopback(urlsplit(self.url).hostname) else True,
        }

    async def _open(self) -> ClientConnection:
        return await _NoRedirects(self.url, **self._connect_options())

    def _open_error(self, exc: BaseException, attempt: _Attempt) -> str:
        where = safe_url(self.url)
        if isinstance(exc, InvalidStatus):
            code = exc.response.status_code
            if 300 <= code < 400:
                location = exc.response.headers.get("Location")
                try:
                    target = safe_url(urljoin(self.url, location)) if location else "nowhere (no Location header)"
                except ValueError:
                    target = "an address that is not valid"
                return (
                    f"{where} answered with an HTTP {code} redirect to {target}; "
                    "convowidget does not follow redirects: use the final address as url="
                )
            if code in RETRY_STATUSES:
                attempt.retryable = True
                attempt.retry_after = exc.response.headers.get("Retry-After")
                wait = f" (Retry-After: {attempt.retry_after})" if attempt.retry_after else ""
                return f"{where} refused the connection with HTTP {code}{wait}; the server is busy, try again later"
            hint = "check the token (CONVOCORE_TOKEN)" if code in (401, 403) else "check the url and agent id"
            return f"{where} refused the connection with HTTP {code}; {hint}"
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            attempt.retryable = True
            return f"no answer from {where} within open_timeout={self.open_timeout:g} s"
        if isinstance(exc, ProxyError):
            reason = (
                f"it answered HTTP {exc.response.status_code}" if isinstance(exc, InvalidProxyStatus) else "it failed"
            )
            return f"could not connect to {where} through the proxy set in the environment (https_proxy): {reason}"
        if isinstance(exc, InvalidProxy):  # its text quotes the proxy address, credentials included
            return f"the proxy set in the environment (https_proxy) is not usable: {exc.msg}"
        if isinstance(exc, ConnectionRefusedError):
            attempt.retryable = True
            return f"could not connect to {where}: connection refused; is the server running?"
        if isinstance(exc, (OSError, InvalidHandshake, InvalidURI)):
            return f"could not connect to {where}: {_describe(exc)}"
        return f"could not connect to {where}: unexpected {_describe(exc)}"

    async def _close(self, ws: ClientConnection, attempt: _Attempt) -> None:
        """Close with ``attempt.close_code``, discarding frames still queued: websockets stops
        reading while its queue is full, and would not see the server's answering close
        frame until ``CLOSE_TIMEOUT``."""
        closing = asyncio.ensure_future(ws.close(attempt.close_code, attempt.close_reason))
        with contextlib.suppress(Exception):  # ConnectionClosed once the handshake is over
            while not closing.done():
                await ws.recv(decode=False)
        with contextlib.suppress(Exception):  # already closed or broken: nothing left to tell the server
            await closing

    async def _attempt(
        self, request: dict[str, Any], builder: ReplyBuilder, on_event: EventCallback | None, attempt: _Attempt
    ) -> tuple[Status, str | None]:
        """Connect, send, and fold frames into ``builder`` until the server closes.

        Raises only CancelledError (the exchange ending it early), and always closes the
        connection from our side with ``attempt.close_code``.
        """
        loop = asyncio.get_running_loop()
        try:
            ws = await self._open()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # every way of failing to open is a failed reply
            return "failed", self._open_error(exc, attempt)
        try:
            attempt.last_activity = loop.time()
            payload = json.dumps(request, ensure_ascii=False)
            attempt.delivered = True  # from here on this prompt is never sent again
            await ws.send(payload)
            while True:
                frame = await ws.recv(decode=False)
                attempt.last_activity = loop.time()
                attempt.received += len(frame)
                if attempt.received > self.max_reply_size:
                    attempt.close_code, attempt.close_reason = 1009, "reply passed max_reply_size"
                    return "failed", (
                        f"the reply passed max_reply_size={_size(self.max_reply_size)}; "
                        "raise ConvoClient(max_reply_size=...) if you expect replies this large"
                    )
                event = builder.feed(parse_frame(frame))
                if on_event is not None:
                    try:
                        on_event(event, builder)
                    except BaseException as exc:  # user code, even sys.exit(), ends only this reply
                        return "failed", _callback_error("on_event", exc)
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == 1000:
                return "complete", None
            return "failed", _describe_close(exc)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            attempt.close_code, attempt.close_reason = 1011, "client error"
            return "failed", f"unexpected error while receiving the reply: {_describe(exc)}; the text so far is kept"
        finally:
            await self._close(ws, attempt)

    async def _watch(
        self,
        receiving: Coroutine[Any, Any, tuple[Status, str | None]],
        attempt: _Attempt,
        stop_event: asyncio.Event,
        deadline: float,
    ) -> tuple[Status, str | None]:
        """Run one attempt; end it (closing with 1000) on stop, idle silence or the deadline."""
        loop = asyncio.get_running_loop()
        receiver = asyncio.ensure_future(receiving)
        stopper = asyncio.ensure_future(stop_event.wait())
        outcome: tuple[Status, str] | None = None
        try:
            while not receiver.done():
                now, idle_at = loop.time(), attempt.last_activity + self.idle_timeout
                outcome = self._ended_early(stop_event.is_set(), now >= deadline, now >= idle_at)
                if outcome is not None:
                    break
                # The idle deadline moves earlier once connected: never sleep past one idle period.
                wake = min(idle_at - now, deadline - now, self.idle_timeout)
                await asyncio.wait({receiver, stopper}, timeout=wake, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the caller gave up: tell the server we are going away
            attempt.close_code, attempt.close_reason = 1001, "client going away"
            receiver.cancel()
            await asyncio.wait({receiver})
            raise
        finally:
            stopper.cancel()
        if outcome is not None:
            receiver.cancel()
            await asyncio.wait({receiver})
            return outcome
        return receiver.result()

    def _ended_early(self, stopped: bool, late: bool, idle: bool) -> tuple[Status, str] | None:
        kept = "the text so far is kept"
        if stopped:
            return "stopped", f"stopped before the reply finished; {kept}"
        if late:
            return "failed", f"the reply took longer than timeout={self.timeout:g} s; {kept}"
        if idle:
            return "failed", f"no data from the server for {self.idle_timeout:g} s (idle_timeout); {kept}"
        return None

    async def _backoff(self, delay: float, stop_event: asyncio.Event) -> None:
        """Wait ``delay`` seconds before a retry, or until stopped (tests replace this)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop_event.wait(), delay)

    async def _deliver(
        self,
        request: dict[str, Any],
        builder: ReplyBuilder,
        on_event: EventCallback | None,
        on_start: StartCallback | None,
        stop_event: asyncio.Event,
        retries: int,
    ) -> tuple[Status, str | None]:
        loop = asyncio.get_running_loop()
        deadline = math.inf if self.timeout is None else loop.time() + self.timeout
        if on_start is not None:
            try:
                on_start(builder)
            except BaseException as exc:
                return "failed", _callback_error("on_start", exc)
        tries = 0
        while True:
            attempt = _Attempt(last_activity=loop.time() + self.open_timeout)
            status, error = await self._watch(
                self._attempt(request, builder, on_event, attempt), attempt, stop_event, deadline
            )
            if status != "failed" or attempt.delivered or not attempt.retryable or tries >= retries:
                if tries and status == "failed":
                    error = f"{error} (after {tries} {'retry' if tries == 1 else 'retries'})"
                return status, error
            delay = min(retry_delay(tries, attempt.retry_after), max(0.0, deadline - loop.time()))
            tries += 1
            log.info("retrying a prompt in %.1f s (retry %d of %d): %s", delay, tries, retries, self._redact(error))
            await self._backoff(delay, stop_event)
            if stop_event.is_set():
                return "stopped", "stopped while waiting to retry; the prompt was not delivered"

    async def exchange(
        self,
        request: dict[str, Any],
        *,
        on_event: EventCallback | None = None,
        on_start: StartCallback | None = None,
        stop_event: asyncio.Event | None = None,
        retries: int = 0,
    ) -> Reply:
        """Receive one reply to ``request`` (from ``make_request``) on the loop awaiting this.

        The one receive loop behind every call. Never raises for anything the reply meets:
        connection errors, bad frames, an oversized reply, timeouts, and exceptions from
        ``on_start(builder)`` or ``on_event(event, builder)`` (even ``SystemExit``) end it
        ``failed`` with the text so far and an error saying what happened. Setting
        ``stop_event`` ends it ``stopped``. ``on_event`` gets each event as the builder
        assembled it. ``retries`` re-tries a request that never reached the server.
        Raises ``ConfigurationError`` for a bad request, before connecting, and
        ``CancelledError`` when the caller is cancelled (closing with 1001).
        """
        validate_request(request)
        retries = _whole("retries", retries, least=0)
        convo_id = request["convoId"]
        builder = ReplyBuilder(request["prompt"], convo_id, previous_turns=self._previous_turns(convo_id))
        try:
            status, error = await self._deliver(
                request, builder, on_event, on_start, stop_event or asyncio.Event(), retries
            )
        except asyncio.CancelledError:
            raise
        except KeyboardInterrupt:  # a real interrupt landing on this loop's thread
            status, error = "stopped", "stopped by KeyboardInterrupt; the text so far is kept"
        except BaseException as exc:  # nothing escapes a reply
            status, error = "failed", f"unexpected error: {_describe(exc)}; the text so far is kept"
        reply = builder.finish(status, self._redact(error))
        self._remember(reply)
        return reply

    # ------------------------------------------------------------------ public calls

    def start(
        self,
        prompt: str,
        convo_id: str | None = None,
        *,
        on_event: EventCallback | None = None,
        on_start: StartCallback | None = None,
        retries: int = 0,
        **extra: Any,
    ) -> PendingReply:
        """Begin a reply on the IO thread and return at once.

        ``on_event(event, builder)`` runs on the IO thread for every event received; if it
        raises, the reply fails (see ``exchange``). ``retries`` (default 0 here) re-tries a
        prompt that never reached the server.
        """
        request = self.make_request(prompt, convo_id, **extra)
        retries = _whole("retries", retries, least=0)
        stop_event = asyncio.Event()  # binds to the IO loop on first wait there
        future = _io.submit(
            self.exchange(request, on_event=on_event, on_start=on_start, stop_event=stop_event, retries=retries)
        )
        return PendingReply(future, stop_event)

    def ask(self, prompt: str, convo_id: str | None = None, *, retries: int = 0, **extra: Any) -> Reply:
        """Send a prompt and wait for the whole reply; works inside a running notebook.

        Without ``convo_id`` each call starts a new conversation; pass ``reply.convo_id``
        to continue one. Never raises for a failed reply: check ``reply.status``. A
        KeyboardInterrupt (the kernel's stop button) stops the stream and returns a
        ``stopped`` Reply holding the text received so far. ``retries`` (default 0 here,
        unlike ``ask_many``) re-tries a prompt that never reached the server.
        """
        if _io.on_io_thread():
            raise ConvoError("ask() cannot block inside a reply callback; use ask_async() there")
        pending = self.start(prompt, convo_id, retries=retries, **extra)
        return _io.wait(pending.future, pending.stop)

    async def ask_async(self, prompt: str, convo_id: str | None = None, *, retries: int = 0, **extra: Any) -> Reply:
        """Like ``ask`` without blocking: ``reply = await client.ask_async(...)``.

        Cancelling the awaiting task stops the reply (the connection closes with 1001).
        """
        pending = self.start(prompt, convo_id, retries=retries, **extra)
        return await _io.wait_async(pending.future, pending.stop)

    def ask_many(
        self,
        prompts: Iterable[str],
        *,
        concurrency: int = 4,
        progress: bool = True,
        retries: int | None = None,
    ) -> list[Reply]:
        """Ask each prompt in its own new conversation, a few at a time, for evaluation.

        Returns one Reply per prompt, in order. A prompt the server never received (refused
        with 429 or 503, connection refused, open timeout) is retried up to ``retries``
        times (default: the client's ``retries``, 2) with backoff, honouring Retry-After;
        a prompt that was sent is never sent twice. A KeyboardInterrupt stops them all:
        the finished replies are kept, the rest come back ``stopped``.
        """
        if _io.on_io_thread():
            raise ConvoError("ask_many() cannot block inside a reply callback")
        if isinstance(prompts, (str, bytes)):
            raise ConfigurationError("prompts: a single string is not a list of prompts; pass [prompt]")
        if not isinstance(prompts, Iterable):
            raise ConfigurationError(f"prompts: expected a list of strings, got {type(prompts).__name__}")
        concurrency = _whole("concurrency", concurrency, least=1)
        retries = self.retries if retries is None else _whole("retries", retries, least=0)
        requests = [self.make_request(prompt) for prompt in prompts]
        stop_event = asyncio.Event()
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(requests), desc="asking", unit="prompt")

        async def one(request: dict[str, Any], gate: asyncio.Semaphore) -> Reply:
            async with gate:
                if stop_event.is_set():
                    return ReplyBuilder(request["prompt"], request["convoId"]).finish(
                        "stopped", "not sent: stopped before this prompt's turn came"
                    )
                reply = await self.exchange(request, stop_event=stop_event, retries=retries)
            if bar is not None:
                bar.update(1)
            return reply

        async def run_all() -> list[Reply]:
            gate = asyncio.Semaphore(concurrency)
            return list(await asyncio.gather(*(one(request, gate) for request in requests)))

        try:
            return _io.wait(_io.submit(run_all()), lambda: _io.call_soon(stop_event.set))
        finally:
            if bar is not None:
                bar.close()

    def stream(self, prompt: str, convo_id: str | None = None, **extra: Any) -> AsyncIterator[Event]:
        """Yield each event as it arrives (as the reply builder assembled it), on the caller's loop.

        ``async for event in client.stream(prompt): ...``. Ends when the server closes with
        1000; otherwise raises ``StreamError`` (and only that) at the end, after every event
        that arrived was yielded. Bad arguments raise ``ConfigurationError`` at once, before
        connecting. Leaving the loop early closes the connection with 1000.
        """
        request = self.make_request(prompt, convo_id, **extra)
        return self._stream(request)

    async def _stream(self, request: dict[str, Any]) -> AsyncIterator[Event]:
        events: asyncio.Queue[Event | None] = asyncio.Queue()
        stop_event = asyncio.Event()

        async def receive() -> Reply:
            try:
                return await self.exchange(
                    request, on_event=lambda event, _builder: events.put_nowait(event), stop_event=stop_event
                )
            finally:
                events.put_nowait(None)

        task = asyncio.ensure_future(receive())
        try:
            while (event := await events.get()) is not None:
                yield event
            reply = await task
        finally:
            if not task.done():  # the caller left early, or was cancelled
                stop_event.set()
                await asyncio.wait({task})
        if reply.status != "complete":
            raise StreamError(reply.error or f"the reply ended {reply.status}")
