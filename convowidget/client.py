"""The client: ``ConvoClient`` and its ways of asking, over one receive loop.

One connection per prompt: send the interact object, read events until the server closes.
A close with 1000 completes the reply; anything else fails it, keeping the partial text.
Every way of calling (``ask``, ``ask_async``, ``start``, ``ask_many``, ``stream`` and the
widget) goes through ``ConvoClient.exchange``, which never lets an exception out of a
reply: it ends ``failed`` with the text so far and says what happened, in words
(``_failures``). The connection itself is ``_connection``, addresses ``_urls``, retry
timing ``_retry`` and option checks ``_options`` (``check_url``, ``is_loopback``,
``redact``, ``safe_url`` and ``retry_delay`` are still importable from here, as before,
though no longer in ``__all__``). It runs past 450 lines because it is
the whole public surface of asking, each call documented where it stands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import Any

from . import _io
from ._connection import Attempt, EventCallback, Outcome, Transport
from ._failures import KEPT, callback_failure, unexpected_failure
from ._options import optional_seconds, seconds, whole
from ._retry import retry_delay, retry_note
from ._urls import check_url, redact, safe_url
from ._urls import is_loopback as is_loopback  # still importable from here, as before
from .cassette import Close, Recorder
from .errors import ConfigurationError, ConvoError, StreamError
from .protocol import Event, build_interact, region_info, validate_request
from .reply import Reply, ReplyBuilder

__all__ = ["ConvoClient", "PendingReply"]

log = logging.getLogger("convowidget.client")

StartCallback = Callable[[ReplyBuilder], None]

DEFAULT_MAX_REPLY_SIZE = 32 * 2**20
REMEMBERED_CONVERSATIONS = 64  # conversations whose last turns are kept for sharing


def _env(value: Any, name: str) -> Any:
    return value if value is not None else (os.environ.get(name) or None)


# ---------------------------------------------------------------------------- option checks


def _recorder(record: object) -> Recorder | None:
    if record is None or isinstance(record, Recorder):
        return record
    if isinstance(record, (str, os.PathLike)):
        return Recorder(record)  # creates the file now: an unwritable path fails here, not mid-run
    raise ConfigurationError(f"record: expected the path of a cassette file, got {type(record).__name__}")


# ---------------------------------------------------------------------------- the client


class PendingReply:
    """A reply being received on the IO thread: ``stop()`` it, or wait for ``result()``."""

    def __init__(self, future: Future[Reply], stop_event: asyncio.Event) -> None:
        self.future = future
        self._stop_event = stop_event

    def stop(self) -> None:
        """Stop receiving; the reply ends ``stopped`` with the text received so far."""
        _io.call_soon(self._stop_event.set)

    def done(self) -> bool:
        """True once the reply has ended, whatever its status."""
        return self.future.done()

    def result(self, timeout: float | None = None) -> Reply:
        """The finished Reply, waiting up to ``timeout`` seconds (None: as long as it takes).

        As with ``ask``, a KeyboardInterrupt while waiting stops the reply and returns it
        ``stopped``. Refused inside a reply callback (on convowidget's IO thread): the reply
        it would wait for needs that very thread, so it would wait forever.
        """
        if _io.on_io_thread():
            raise ConvoError("PendingReply.result() cannot block inside a reply callback; use ask_async() there")
        try:
            return self.future.result(timeout)
        except KeyboardInterrupt:
            self.stop()
            return self.future.result()


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

    ``record`` (a file path, or a ``Recorder`` to share) appends every exchange that
    reached the server to a JSONL cassette, which ``serve(replay=...)`` plays back: the
    request without owner id, user id or personal data, every frame with its time, and
    the close. The token is never written.
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
        record: str | os.PathLike[str] | Recorder | None = None,
    ) -> None:
        raw_url = _env(url, "CONVOCORE_URL")
        try:
            self.agent_id: str | None = _env(agent_id, "CONVOCORE_AGENT_ID")
            self.region: str = _env(region, "CONVOCORE_REGION") or "eu"
            endpoint = region_info(self.region)
            self.url: str = check_url(raw_url or endpoint.url, allow_insecure=allow_insecure)
            self.open_timeout = seconds("open_timeout", open_timeout)
            self.idle_timeout = seconds("idle_timeout", idle_timeout)
            self.timeout = optional_seconds("timeout", timeout)
            self.max_size = whole("max_size", max_size, least=1)
            self.max_reply_size = whole("max_reply_size", max_reply_size, least=1)
            self.retries = whole("retries", retries, least=0)
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
            self._recorder = _recorder(record)
            self._record_failed = False
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

    def make_request(
        self, prompt: str, convo_id: str | None = None, *, images: Sequence[str] | None = None, **extra: Any
    ) -> dict[str, Any]:
        """The validated interact object for one prompt; ``ConfigurationError`` names a bad field.

        Without ``convo_id`` the prompt starts a new conversation. ``extra`` holds optional
        protocol fields by their wire names and overrides the client's own ``extra``.
        ``images`` (https URLs only) sends the prompt as a visual message, ``messageType:
        "visual"`` with ``visualPayload: {images, image, imageCount, message}``: that wire
        shape comes from the reference client's types; the service documents none.
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
            images=images,
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

    # ------------------------------------------------------------------ one reply

    def _transport(self) -> Transport:
        """This client's settings for one reply's connection (read at each reply)."""
        return Transport(
            url=self.url,
            token=self._token,
            open_timeout=self.open_timeout,
            idle_timeout=self.idle_timeout,
            timeout=self.timeout,
            max_size=self.max_size,
            max_reply_size=self.max_reply_size,
            compression=self.compression,
        )

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
    ) -> Outcome:
        """Deliver ``request`` at most once, retrying while it surely never reached the server."""
        loop = asyncio.get_running_loop()
        transport = self._transport()
        deadline = math.inf if transport.timeout is None else loop.time() + transport.timeout
        if on_start is not None:
            try:
                on_start(builder)
            except BaseException as exc:
                return "failed", callback_failure("on_start", exc)
        tries = 0
        while True:
            attempt = Attempt(last_activity=loop.time() + transport.open_timeout)
            if self._recorder is not None:
                attempt.frames = []
            try:
                status, error = await transport.watch(
                    transport.receive(request, builder, on_event, attempt), attempt, stop_event, deadline
                )
            finally:  # a cancelled exchange is recorded too, as one the client ended
                if attempt.frames is not None and attempt.delivered:
                    self._record(request, attempt.frames, attempt.server_close)
            if status != "failed" or attempt.delivered or not attempt.retryable or tries >= retries:
                return status, retry_note(error, tries) if status == "failed" else error
            delay = min(retry_delay(tries, attempt.retry_after), max(0.0, deadline - loop.time()))
            tries += 1
            log.info("retrying a prompt in %.1f s (retry %d of %d): %s", delay, tries, retries, self._redact(error))
            await self._backoff(delay, stop_event)
            if stop_event.is_set():
                return "stopped", "stopped while waiting to retry; the prompt was not delivered"

    def _record(self, request: dict[str, Any], frames: list[tuple[float, bytes]], close: Close | None) -> None:
        """Append a delivered exchange to the cassette; a failure to write (a full disk) never fails the reply."""
        if self._recorder is None:
            return
        try:
            self._recorder.record(request, frames, close, secrets=(self._token or "",))
        except Exception as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            level = logging.DEBUG if self._record_failed else logging.WARNING
            self._record_failed = True
            log.log(
                level,
                "could not add an exchange to the cassette %s (%s); the reply itself is fine, "
                "and further failures to write it are logged at DEBUG",
                self._recorder.path,
                why,
            )

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
        retries = whole("retries", retries, least=0)
        convo_id = request["convoId"]
        builder = ReplyBuilder(request["prompt"], convo_id, previous_turns=self._previous_turns(convo_id))
        try:
            status, error = await self._deliver(
                request, builder, on_event, on_start, stop_event or asyncio.Event(), retries
            )
        except asyncio.CancelledError:
            raise
        except KeyboardInterrupt:  # a real interrupt landing on this loop's thread
            status, error = "stopped", f"stopped by KeyboardInterrupt; {KEPT}"
        except BaseException as exc:  # nothing escapes a reply
            status, error = "failed", unexpected_failure(exc, receiving=False)
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
        retries = whole("retries", retries, least=0)
        stop_event = asyncio.Event()  # binds to the IO loop on first wait there
        future = _io.submit(
            self.exchange(request, on_event=on_event, on_start=on_start, stop_event=stop_event, retries=retries)
        )
        return PendingReply(future, stop_event)

    def ask(self, prompt: str, convo_id: str | None = None, *, retries: int = 0, **extra: Any) -> Reply:
        """Send a prompt and wait for the whole reply; works inside a running notebook.

        Without ``convo_id`` each call starts a new conversation; pass ``reply.convo_id``
        to continue one. ``images=[url, ...]`` (https) sends images with the prompt (see
        ``make_request``). Never raises for a failed reply: check ``reply.status``. A
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
        concurrency = whole("concurrency", concurrency, least=1)
        retries = self.retries if retries is None else whole("retries", retries, least=0)
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

    def run_suite(self, suite: Any, **options: Any) -> Any:
        """``convowidget.run_suite(client, suite, **options)``: a test suite run against this agent."""
        from .runner import run_suite

        return run_suite(self, suite, **options)

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
