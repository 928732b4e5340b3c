"""The async WebSocket client over the protocol layer, with blocking calls on the IO thread.

One connection per prompt: send the interact object, read events until the server closes.
A close with 1000 completes the reply; anything else fails it, keeping the partial text.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from . import _io
from .errors import ConfigurationError, ConvoError, InsecureURLError, StreamError
from .protocol import Event, build_interact, parse_frame, region_info
from .reply import Reply, ReplyBuilder, Status

__all__ = ["ConvoClient", "PendingReply"]

# websockets logs handshake headers (the token) and frames (owner id, e-mail) at DEBUG.
# Its connections get this logger, held at INFO whatever the root logger's level is.
_wire_logger = logging.getLogger("convowidget.websockets")
_wire_logger.setLevel(logging.INFO)
_wire_logger.addFilter(lambda record: record.levelno > logging.DEBUG)

EventCallback = Callable[[Event, ReplyBuilder], None]


def _env(value: Any, name: str) -> Any:
    return value if value is not None else (os.environ.get(name) or None)


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
    """The URL without user info, query or fragment, fit for messages and reprs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_url(url: str, *, allow_insecure: bool = False) -> str:
    """Refuse anything but ``wss://``, or ``ws://`` to this machine."""
    if not isinstance(url, str):
        raise ConfigurationError(f"url: expected a string, got {type(url).__name__}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ConfigurationError(f"url: not a valid address ({exc})") from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigurationError(
            f"url: {safe_url(url)!r} is not a WebSocket address; it must start with wss:// "
            "(or ws:// for a server on this machine)"
        )
    if parts.scheme == "ws" and not allow_insecure and not is_loopback(parts.hostname):
        raise InsecureURLError(
            f"url: plain ws:// to {parts.hostname} would send your conversation unencrypted; "
            "use wss://, or pass allow_insecure=True if you really mean it"
        )
    return url


def _describe_close(exc: ConnectionClosed) -> str:
    if exc.rcvd is not None:
        reason = f" ({exc.rcvd.reason})" if exc.rcvd.reason else ""
        return f"the server closed the connection with code {exc.rcvd.code}{reason} before finishing"
    if exc.sent is not None and exc.sent.code == 1009:
        return "a frame from the server was larger than max_size; raise ConvoClient(max_size=...)"
    return "the connection dropped without a close frame (1006); the network or the server failed"


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
    ``CONVOCORE_TOKEN``). Owner id, user id, token, e-mail and phone are never shown.
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
    ) -> None:
        self.agent_id: str | None = _env(agent_id, "CONVOCORE_AGENT_ID")
        self.region: str = _env(region, "CONVOCORE_REGION") or "eu"
        endpoint = region_info(self.region)
        self.url: str = check_url(_env(url, "CONVOCORE_URL") or endpoint.url, allow_insecure=allow_insecure)
        for name, value in (("open_timeout", open_timeout), ("idle_timeout", idle_timeout)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ConfigurationError(f"{name}: expected a positive number of seconds, got {value!r}")
        self.origin = origin
        self.open_timeout = float(open_timeout)
        self.idle_timeout = float(idle_timeout)
        self.max_size = max_size
        self.compression = compression
        self.extra = dict(extra or {})
        self._owner_id: str | None = _env(owner_id, "CONVOCORE_OWNER_ID")
        self._user_id: str | None = _env(user_id, "CONVOCORE_USER_ID")
        self._token: str | None = _env(token, "CONVOCORE_TOKEN")
        self._person = {"user_name": user_name, "user_email": user_email, "user_phone": user_phone}
        # Fail now, not at the first prompt, on a missing agent id or any bad field
        # (the prompt and conversation id here are stand-ins).
        self._request("check", "check", {})

    def __repr__(self) -> str:
        return f"ConvoClient(agent_id={self.agent_id!r}, region={self.region!r}, url={safe_url(self.url)!r})"

    @staticmethod
    def new_convo_id() -> str:
        """A fresh conversation id."""
        return str(uuid.uuid4())

    def _request(self, prompt: str, convo_id: str, extra: dict[str, Any]) -> dict[str, Any]:
        return build_interact(
            agent_id=self.agent_id,
            convo_id=convo_id,
            prompt=prompt,
            region=self.region,
            owner_id=self._owner_id,
            user_id=self._user_id,
            origin=self.origin,
            extra={**self.extra, **extra},
            **self._person,
        )

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    # ------------------------------------------------------------------ streaming core

    async def _connect(self) -> ClientConnection:
        return await connect(
            self.url,
            additional_headers=self._headers(),
            open_timeout=self.open_timeout,
            max_size=self.max_size,
            compression=self.compression,
            logger=_wire_logger,
            user_agent_header="convowidget",
        )

    def _open_error(self, exc: BaseException) -> str:
        where = safe_url(self.url)
        if isinstance(exc, InvalidStatus):
            code = exc.response.status_code
            hint = " check the token (CONVOCORE_TOKEN)" if code in (401, 403) else " check the url and agent id"
            return f"{where} refused the connection with HTTP {code};{hint}"
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            return f"no answer from {where} within open_timeout={self.open_timeout:g} s"
        if isinstance(exc, ConnectionRefusedError):
            return f"could not connect to {where}: connection refused; is the server running?"
        if isinstance(exc, (OSError, InvalidHandshake, InvalidURI)):
            return f"could not connect to {where}: {type(exc).__name__}: {exc}"
        return f"could not connect to {where}: {type(exc).__name__}"

    async def _receive(
        self, request: dict[str, Any], builder: ReplyBuilder, on_event: EventCallback | None, clock: list[float]
    ) -> tuple[Status, str | None]:
        loop = asyncio.get_running_loop()
        try:
            ws = await self._connect()
        except Exception as exc:  # every way of failing to open is a failed reply
            return "failed", self._open_error(exc)
        async with ws:
            await ws.send(json.dumps(request, ensure_ascii=False))
            clock[0] = loop.time()
            while True:
                try:
                    frame = await ws.recv()
                except ConnectionClosed as exc:
                    if exc.rcvd is not None and exc.rcvd.code == 1000:
                        return "complete", None
                    return "failed", _describe_close(exc)
                clock[0] = loop.time()
                event = parse_frame(frame)
                builder.feed(event)
                if on_event is not None:
                    on_event(event, builder)

    async def _watchdog(self, clock: list[float]) -> None:
        loop = asyncio.get_running_loop()
        # The deadline can move earlier once connected, so never sleep past one idle period.
        while (delay := clock[0] + self.idle_timeout - loop.time()) > 0:
            await asyncio.sleep(min(delay, self.idle_timeout))

    async def _exchange(
        self,
        request: dict[str, Any],
        stop_event: asyncio.Event,
        on_event: EventCallback | None = None,
        on_start: Callable[[ReplyBuilder], None] | None = None,
    ) -> Reply:
        """Receive one reply; ends complete, failed, or stopped when ``stop_event`` is set."""
        builder = ReplyBuilder(request["prompt"], request["convoId"])
        if on_start is not None:
            on_start(builder)
        clock = [asyncio.get_running_loop().time() + self.open_timeout]
        receiver = asyncio.ensure_future(self._receive(request, builder, on_event, clock))
        watchdog = asyncio.ensure_future(self._watchdog(clock))
        stopper = asyncio.ensure_future(stop_event.wait())
        try:
            await asyncio.wait({receiver, watchdog, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (receiver, watchdog, stopper):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
        if receiver.done() and not receiver.cancelled() and receiver.exception() is None:
            status, error = receiver.result()
        elif stop_event.is_set():
            status, error = "stopped", "stopped before the reply finished; the text so far is kept"
        elif watchdog.done():
            status, error = (
                "failed",
                (f"no data from the server for {self.idle_timeout:g} s (idle_timeout); the text so far is kept"),
            )
        else:
            exc = receiver.exception() if receiver.done() and not receiver.cancelled() else None
            status, error = "failed", f"unexpected error: {type(exc).__name__}: {exc}"
        return builder.finish(status, error)

    # ------------------------------------------------------------------ public calls

    def start(
        self,
        prompt: str,
        convo_id: str | None = None,
        *,
        on_event: EventCallback | None = None,
        on_start: Callable[[ReplyBuilder], None] | None = None,
        **extra: Any,
    ) -> PendingReply:
        """Begin a reply on the IO thread and return at once; the widget builds on this.

        ``on_event(event, builder)`` runs on the IO thread for every event received.
        """
        request = self._request(prompt, convo_id or self.new_convo_id(), extra)
        stop_event = asyncio.Event()  # binds to the IO loop on first wait there
        future = _io.submit(self._exchange(request, stop_event, on_event, on_start))
        return PendingReply(future, stop_event)

    def ask(self, prompt: str, convo_id: str | None = None, **extra: Any) -> Reply:
        """Send a prompt and wait for the whole reply; works inside a running notebook.

        Without ``convo_id`` each call starts a new conversation; pass ``reply.convo_id``
        to continue one. Never raises for a failed reply: check ``reply.status``. A
        KeyboardInterrupt (the kernel's stop button) stops the stream and returns a
        ``stopped`` Reply holding the text received so far.
        """
        if _io.on_io_thread():
            raise ConvoError("ask() cannot block inside a reply callback; use ask_async() there")
        pending = self.start(prompt, convo_id, **extra)
        return _io.wait(pending.future, pending.stop)

    async def ask_async(self, prompt: str, convo_id: str | None = None, **extra: Any) -> Reply:
        """Like ``ask`` without blocking: ``reply = await client.ask_async(...)``."""
        pending = self.start(prompt, convo_id, **extra)
        return await _io.wait_async(pending.future, pending.stop)

    def ask_many(self, prompts: Iterable[str], *, concurrency: int = 4, progress: bool = True) -> list[Reply]:
        """Ask each prompt in its own new conversation, a few at a time, for evaluation.

        Returns one Reply per prompt, in order. A KeyboardInterrupt stops them all: the
        finished replies are kept, the rest come back ``stopped``.
        """
        if _io.on_io_thread():
            raise ConvoError("ask_many() cannot block inside a reply callback")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigurationError(f"concurrency: expected a whole number of at least 1, got {concurrency!r}")
        requests = [self._request(prompt, self.new_convo_id(), {}) for prompt in prompts]
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
                reply = await self._exchange(request, stop_event)
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

    async def stream(self, prompt: str, convo_id: str | None = None, **extra: Any) -> AsyncIterator[Event]:
        """Yield each typed event as it arrives, on the caller's own event loop.

        Ends when the server closes with 1000; raises ``StreamError`` at the end for any
        other close or after ``idle_timeout`` of silence (every event received is yielded
        first).
        """
        request = self._request(prompt, convo_id or self.new_convo_id(), extra)
        try:
            ws = await self._connect()
        except Exception as exc:
            raise StreamError(self._open_error(exc)) from None
        async with ws:
            await ws.send(json.dumps(request, ensure_ascii=False))
            while True:
                try:
                    frame = await asyncio.wait_for(ws.recv(), self.idle_timeout)
                except asyncio.TimeoutError:
                    raise StreamError(f"no data from the server for {self.idle_timeout:g} s (idle_timeout)") from None
                except ConnectionClosed as exc:
                    if exc.rcvd is not None and exc.rcvd.code == 1000:
                        return
                    raise StreamError(_describe_close(exc)) from None
                yield parse_frame(frame)
