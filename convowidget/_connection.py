"""One connection for one reply: open it, send the request once, fold frames into the
reply within the limits, and close it from our side politely, whatever happened. When the
client records a cassette, the attempt also keeps every frame with its time, and the close.

``Transport`` holds what a connection needs from the client's settings; the client makes
one per reply. ``Transport.watch`` runs an attempt and ends it on stop, on silence past
``idle_timeout`` or at the reply's deadline, closing with 1000 (1001 when cancelled).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.proxy import get_proxy
from websockets.uri import parse_uri

from ._failures import KEPT, amount, callback_failure, close_failure, open_failure, unexpected_failure
from ._logs import wire_logger
from ._urls import is_loopback
from .protocol import Close, CloseCode, Event, parse_frame
from .reply import ReplyBuilder, Status

__all__ = ["Attempt", "EventCallback", "Outcome", "Transport"]

CLOSE_TIMEOUT = 2.0  # seconds to wait for the server to answer our close frame
# Frames websockets decompresses ahead of the reader; its default (16) lets a compressed
# stream hold 16 x max_size in memory before max_reply_size can see it.
RECEIVE_QUEUE = 4

_wire_logger = wire_logger("convowidget.websockets")  # never at DEBUG: see _logs

EventCallback = Callable[[Event, ReplyBuilder], None]
Outcome = tuple[Status, str | None]


@dataclass
class Attempt:
    """One connection attempt, shared by the task receiving it and the watcher ending it."""

    last_activity: float  # loop time of the last sign of life, for idle_timeout
    delivered: bool = False  # the request may have reached the server: never send it again
    received: int = 0  # frame bytes after decompression, for max_reply_size
    close_code: int = CloseCode.NORMAL_CLOSURE
    close_reason: str = ""
    retryable: bool = False  # it failed in a way that trying again later may mend
    retry_after: str | None = None  # the server's Retry-After header, when it sent one
    # Only when recording to a cassette: every frame with its time after the request went
    # out, and how the server closed (None when this side closed first).
    frames: list[tuple[float, bytes]] | None = None
    server_close: Close | None = None


class _NoRedirects(connect):
    """websockets' ``connect`` that treats every redirect as the refusal it reports."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc


@dataclass(frozen=True)
class Transport:
    """Where and how to connect for one reply, and the limits it must keep."""

    url: str
    token: str | None
    open_timeout: float
    idle_timeout: float
    timeout: float | None
    max_size: int
    max_reply_size: int
    compression: str | None

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for websockets' ``connect``: loopback never goes through a proxy;
        remote addresses keep websockets' default (``proxy=True``: the environment's proxy)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
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

    def proxy(self) -> str | None:
        """The proxy of the environment a connection goes through, or None, for messages."""
        if is_loopback(urlsplit(self.url).hostname):
            return None
        try:
            return get_proxy(parse_uri(self.url))
        except Exception:  # a proxy setting that cannot be read: websockets will say so
            return None

    async def receive(
        self, request: dict[str, Any], builder: ReplyBuilder, on_event: EventCallback | None, attempt: Attempt
    ) -> Outcome:
        """Connect, send, and fold frames into ``builder`` until the server closes.

        Raises only CancelledError (the watcher ending it early), and always closes the
        connection from our side with ``attempt.close_code``.
        """
        loop = asyncio.get_running_loop()
        try:
            ws = await _NoRedirects(self.url, **self.connect_options())
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # every way of failing to open is a failed reply
            failure = open_failure(exc, self.url, open_timeout=self.open_timeout, proxy=self.proxy())
            attempt.retryable, attempt.retry_after = failure.retryable, failure.retry_after
            return "failed", failure.message
        try:
            attempt.last_activity = loop.time()
            payload = json.dumps(request, ensure_ascii=False)
            attempt.delivered = True  # from here on this prompt is never sent again
            await ws.send(payload)
            sent_at, frames = loop.time(), attempt.frames  # frames: None unless recording
            while True:
                frame = await ws.recv(decode=False)
                attempt.last_activity = loop.time()
                if frames is not None:
                    frames.append((attempt.last_activity - sent_at, frame))
                attempt.received += len(frame)
                if attempt.received > self.max_reply_size:
                    attempt.close_code, attempt.close_reason = CloseCode.MESSAGE_TOO_BIG, "reply passed max_reply_size"
                    return "failed", (
                        f"the reply passed max_reply_size={amount(self.max_reply_size)}; "
                        "raise ConvoClient(max_reply_size=...) if you expect replies this large"
                    )
                event = builder.feed(parse_frame(frame))
                if on_event is not None:
                    try:
                        on_event(event, builder)
                    except BaseException as exc:  # user code, even sys.exit(), ends only this reply
                        return "failed", callback_failure("on_event", exc)
        except ConnectionClosed as exc:
            if attempt.frames is not None:
                attempt.server_close = _server_close(exc)
            if exc.rcvd is not None and exc.rcvd.code == CloseCode.NORMAL_CLOSURE:
                return "complete", None
            return "failed", close_failure(exc, max_size=self.max_size)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            attempt.close_code, attempt.close_reason = CloseCode.INTERNAL_ERROR, "client error"
            return "failed", unexpected_failure(exc, receiving=True)
        finally:
            await _close(ws, attempt)

    async def watch(
        self, receiving: Coroutine[Any, Any, Outcome], attempt: Attempt, stop_event: asyncio.Event, deadline: float
    ) -> Outcome:
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
            attempt.close_code, attempt.close_reason = CloseCode.GOING_AWAY, "client going away"
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
        if stopped:
            return "stopped", f"stopped before the reply finished; {KEPT}"
        if late:
            return "failed", f"the reply took longer than timeout={self.timeout:g} s; {KEPT}"
        if idle:
            return "failed", f"no data from the server for {self.idle_timeout:g} s (idle_timeout); {KEPT}"
        return None


def _server_close(exc: ConnectionClosed) -> Close | None:
    """How the server ended the connection, for a cassette: its close frame, 1006 for a drop,
    None when this side closed first (a replay then waits for its client to close)."""
    if exc.rcvd is not None and (exc.sent is None or exc.rcvd_then_sent):
        return Close(exc.rcvd.code, exc.rcvd.reason)
    if exc.rcvd is None and exc.sent is None:
        return Close(CloseCode.ABNORMAL_CLOSURE)
    return None


async def _close(ws: ClientConnection, attempt: Attempt) -> None:
    """Close with ``attempt.close_code``, discarding frames still queued: websockets stops
    reading while its queue is full, and would not see the server's answering close frame
    until ``CLOSE_TIMEOUT``."""
    closing = asyncio.ensure_future(ws.close(attempt.close_code, attempt.close_reason))
    with contextlib.suppress(Exception):  # ConnectionClosed once the handshake is over
        while not closing.done():
            await ws.recv(decode=False)
    with contextlib.suppress(Exception):  # already closed or broken: nothing left to tell the server
        await closing
