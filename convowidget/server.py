"""The embedded Convocore-compatible server: the demo agent, your own agents, and faults.

It speaks the interact protocol on ``ws://127.0.0.1:PORT/interact`` using the same
protocol module as the client. ``serve()`` gives a server that works both as
``with serve() as server:`` (on its own thread) and ``async with serve() as server:``.
It refuses web pages (handshakes carrying an ``Origin`` header) unless told otherwise,
so a page open in a browser cannot talk to the agent behind the user's back.

It runs past 450 lines on purpose: ``EmbeddedServer`` follows one connection from
handshake to close, faults and replay included, and those steps share its state; what
stands apart already lives elsewhere (agents in ``_agents``, cassettes in ``cassette``,
frames in ``protocol``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import http
import ipaddress
import json
import logging
import math
import os
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ._agents import Agent, AgentRequest, agent_items
from ._histories import Caps, Histories, History
from ._logs import wire_logger
from ._options import finite_number, seconds, whole
from ._turn_record import BotTurn, open_turn
from .agent import UIMessage
from .cassette import Cassette, CassetteMiss, Replay
from .demo import LABEL as DEMO_LABEL
from .demo import demo_agent
from .errors import ConfigurationError, ListenError
from .protocol import (
    NO_RECORDING,
    ChunkEvent,
    CloseCode,
    Event,
    MetadataEvent,
    dumps,
    encode_event,
    loads,
    validate_request,
)

__all__ = ["AgentRequest", "EmbeddedServer", "Faults", "serve"]

log = logging.getLogger("convowidget.server")
_wire_logger = wire_logger("convowidget.server.websockets")  # never at DEBUG: see _logs


@dataclass(frozen=True)
class Faults:
    """Misbehaviour on purpose. Counts are chunks sent before the fault strikes.

    ``refuse_status`` refuses the WebSocket handshake itself with that HTTP status (429,
    503...), with a ``Retry-After`` header of ``retry_after`` seconds (rounded up) when
    given. ``times`` limits the faults to the first N connections; after that the server
    behaves.
    """

    drop_after: int | None = None
    close_after: int | None = None
    close_code: int = CloseCode.INTERNAL_ERROR.value
    close_reason: str = "injected fault"
    malformed_after: int | None = None
    stall_after: int | None = None
    chunk_delay: float | None = None
    times: int | None = None
    refuse_status: int | None = None
    retry_after: float | None = None

    def __post_init__(self) -> None:
        if self.times is not None:
            whole("Faults(times=)", self.times, least=0, wanted="a whole number >= 0")
        if self.refuse_status is not None:
            whole(
                "Faults(refuse_status=)", self.refuse_status, least=400, most=599, wanted="an HTTP error status 400-599"
            )
            try:
                http.HTTPStatus(self.refuse_status)
            except ValueError:
                raise ConfigurationError(
                    f"Faults(refuse_status=): {self.refuse_status} is not a standard HTTP status"
                ) from None
        if self.retry_after is not None:
            if self.refuse_status is None:
                raise ConfigurationError("Faults(retry_after=): only means something with refuse_status=")
            finite_number("Faults(retry_after=)", self.retry_after, least=0, wanted="a number of seconds >= 0")


def _origins(value: object) -> frozenset[str]:
    """``allowed_origins`` checked: a tuple (or list, set) of exact origins like ``http://localhost:8888``."""
    if isinstance(value, str) or not isinstance(value, (tuple, list, set, frozenset)):
        raise ConfigurationError(
            f"allowed_origins: expected a tuple of origins such as ('http://localhost:8888',), "
            f"got {type(value).__name__}"
        )
    for origin in value:
        if not isinstance(origin, str):
            raise ConfigurationError(f"allowed_origins: each origin must be a string, got {type(origin).__name__}")
        parts = urlsplit(origin)
        if origin != "null" and (not parts.scheme or not parts.netloc or parts.path or parts.query or parts.fragment):
            raise ConfigurationError(
                f"allowed_origins: {origin!r} is not an origin; give scheme://host[:port] exactly as a "
                "browser sends it, with no path or trailing slash"
            )
    return frozenset(value)


def _words(text: str) -> int:
    return len(text.split())


def _trim_reason(reason: str) -> str:
    """A close reason fits in 123 bytes of UTF-8: cut to 120, whatever the text holds."""
    data = reason.encode("utf-8", "replace")[:120]
    return data.decode("utf-8", "ignore")


class EmbeddedServer:
    """A Convocore-compatible server on this machine. Start it with ``with`` or ``async with``."""

    def __init__(
        self,
        agent: Agent | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        chunk_delay: float = 0.02,
        faults: Faults | None = None,
        max_size: int = 2**20,
        request_timeout: float = 30.0,
        label: str | None = None,
        allowed_origins: tuple[str, ...] | list[str] | set[str] | frozenset[str] = (),
        backlog: int = 2048,
        max_history_turns: int = 200,
        max_history_bytes: int = 2**20,
        max_total_history_bytes: int = 64 * 2**20,
        replay: str | os.PathLike[str] | Cassette | Replay | None = None,
        pace: float = 1.0,
    ) -> None:
        if agent is not None and not callable(agent):
            raise ConfigurationError(f"agent: expected a function, got {type(agent).__name__}")
        if not isinstance(host, str):
            raise ConfigurationError(f"host: expected a string such as '127.0.0.1', got {type(host).__name__}")
        if faults is not None and not isinstance(faults, Faults):
            raise ConfigurationError(f"faults: expected Faults(...), got {type(faults).__name__}")
        self.replay = _replay(replay, pace, agent, faults)
        self.agent: Agent = agent or demo_agent
        if self.replay is not None:
            default_label = f"Replay of {self.replay.cassette.name} (embedded server)"
        else:
            default_label = DEMO_LABEL if agent is None else "Custom agent (embedded server)"
        self.label = label or default_label
        self.host = host
        self.port = whole("port", port, least=0, most=65535, wanted="a port from 0 to 65535 (0 picks a free one)")
        self.chunk_delay = finite_number(
            "chunk_delay", chunk_delay, least=0, wanted="a finite number of seconds of at least 0"
        )
        self.faults = faults
        self.max_size = whole("max_size", max_size, least=1, wanted="a whole number of bytes > 0")
        self.request_timeout = seconds("request_timeout", request_timeout)
        self.allowed_origins = _origins(allowed_origins)
        self.backlog = whole("backlog", backlog, least=1, wanted="a whole number > 0")
        self.max_history_turns = whole("max_history_turns", max_history_turns, least=1, wanted="a whole number > 0")
        self.max_history_bytes = whole("max_history_bytes", max_history_bytes, least=1, wanted="a whole number > 0")
        self.max_total_history_bytes = whole(
            "max_total_history_bytes", max_total_history_bytes, least=1, wanted="a whole number > 0"
        )
        self._model_name = "convowidget-demo" if agent is None else "custom"
        self.max_conversations = 1000
        self.conversations = Histories()
        self.connections = 0
        self._server: Server | None = None
        self._url_host = host
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        """Where clients connect; for a wildcard host (``0.0.0.0``, ``::``) the loopback address."""
        if self._server is None:
            raise RuntimeError("the server is not running; use `with serve() as server:`")
        host = f"[{self._url_host}]" if ":" in self._url_host else self._url_host
        return f"ws://{host}:{self.port}/interact"

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not running"
        return f"EmbeddedServer({self.label!r}, {where})"

    # ------------------------------------------------------------------ lifecycle

    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse other paths (404), web pages (403) and, on purpose, ``Faults.refuse_status``."""
        if request.path.split("?")[0] != "/interact":
            return connection.respond(404, "convowidget's embedded server answers on /interact only\n")
        origins = request.headers.get_all("Origin")
        if origins and not all(origin in self.allowed_origins for origin in origins):
            shown = _trim_reason(origins[0])[:80]
            log.warning("refused a connection from the web page at %r: its origin is not in allowed_origins", shown)
            return connection.respond(
                403,
                f"Forbidden: this server does not accept connections from web pages (Origin {shown}); "
                "allow one with serve(allowed_origins=(...,))\n",
            )
        faults = self.faults
        if faults is not None and faults.refuse_status is not None and faults.times != 0:
            if faults.times is not None:
                self.faults = replace(faults, times=faults.times - 1)
            status = http.HTTPStatus(faults.refuse_status)
            response = connection.respond(status, f"{status.value} {status.phrase} (injected fault)\n")
            if faults.retry_after is not None:
                response.headers["Retry-After"] = str(math.ceil(faults.retry_after))
            return response
        return None

    async def start_async(self) -> EmbeddedServer:
        """Start serving on the running event loop; ``ListenError`` when it cannot listen there."""
        try:
            self._server = await ws_serve(
                self._handle,
                self.host,
                self.port,
                max_size=self.max_size,
                process_request=self._check_handshake,
                logger=_wire_logger,
                server_header="convowidget",
                backlog=self.backlog,
            )
        except OSError as exc:  # the port is taken, the host is no address of this machine...
            raise ListenError(_cannot_listen(self.host, self.port, exc)) from None
        addresses = [sock.getsockname()[0] for sock in self._server.sockets]
        self.port = self._server.sockets[0].getsockname()[1]
        self._url_host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(addresses[0], addresses[0])
        self._warn_if_reachable(addresses)
        return self

    def _warn_if_reachable(self, addresses: list[str]) -> None:
        exposed = [a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback]
        if not exposed:
            return
        if self.replay is not None:
            who = "the replayed session"
        else:
            who = "the demo agent" if self.agent is demo_agent else "your agent"
        if any(ipaddress.ip_address(a.split("%")[0]).is_unspecified for a in exposed):
            log.warning(
                "the embedded server listens on every network interface (host=%r): %s is reachable from "
                "other machines over plain ws://, unencrypted and with no authentication. server.url is %s "
                "for this machine; use host='127.0.0.1' unless other machines must connect.",
                self.host,
                who,
                self.url,
            )
        else:
            log.warning(
                "the embedded server listens on %s: %s is reachable from other machines over plain ws://, "
                "unencrypted and with no authentication. Clients need allow_insecure=True to use %s; "
                "use host='127.0.0.1' unless other machines must connect.",
                ", ".join(exposed),
                who,
                self.url,
            )

    async def stop_async(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            try:
                await asyncio.wait_for(server.wait_closed(), 5)
            except asyncio.TimeoutError:
                log.warning("some connections did not close within 5 s; stopping anyway")

    def start(self) -> EmbeddedServer:
        """Start serving on a background thread; returns once the port is open."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:  # report a bind failure to the starting thread
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="convowidget-server", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            self._thread = None
            raise errors[0]
        return self

    def stop(self) -> None:
        """Stop serving and end the background thread."""
        if self._thread is None or self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.stop_async(), self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            if not self._thread.is_alive():
                self._loop.close()
            self._thread = self._loop = None

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> EmbeddedServer:
        return await self.start_async()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_async()

    # ------------------------------------------------------------------ one connection

    async def _read_request(self, ws: ServerConnection) -> dict[str, Any] | None:
        """The interact object, or None after closing with 1007 / 1008 and a reason (never 1011)."""
        try:
            frame = await asyncio.wait_for(ws.recv(), self.request_timeout)
        except asyncio.TimeoutError:
            await ws.close(CloseCode.POLICY_VIOLATION, f"no interact object within {self.request_timeout:g} s")
            return None
        try:
            data = loads(frame)
        except ValueError as exc:  # not JSON or not UTF-8 (1007); too deep, NaN, huge numbers (1008)
            reason = str(exc)
            if reason.startswith("not JSON"):
                await ws.close(CloseCode.INVALID_DATA, _trim_reason(f"the interact object is {reason}"))
            else:
                await ws.close(CloseCode.POLICY_VIOLATION, _trim_reason(f"invalid interact object: {reason}"))
            return None
        try:
            return validate_request(data)
        except ConfigurationError as exc:
            await ws.close(CloseCode.POLICY_VIOLATION, _trim_reason(f"invalid interact object: {exc}"))
            return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        faults = self.faults
        if faults is not None and faults.times is not None:
            remaining = faults.times
            if remaining <= 0:
                faults = None
            else:
                self.faults = replace(faults, times=remaining - 1)
        try:
            request = await self._read_request(ws)
        except ConnectionClosed:
            return  # the client left before asking anything
        if request is None:
            return
        # Race the answer against the client leaving: when it goes (Stop, a dropped
        # network), the agent is cancelled rather than left running unheard.
        answer = asyncio.ensure_future(self._answer(ws, request, faults))
        closed = asyncio.ensure_future(ws.wait_closed())
        await asyncio.wait({answer, closed}, return_when=asyncio.FIRST_COMPLETED)
        closed.cancel()
        if not answer.done():
            answer.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
            await answer

    def _caps(self) -> Caps:
        return Caps(
            self.max_history_turns, self.max_history_bytes, self.max_total_history_bytes, self.max_conversations
        )

    def _open_turn(self, request: dict[str, Any]) -> tuple[AgentRequest, History | None]:
        """The agent's request, and where this turn will be stored (None: it will not be).

        See ``_turn_record.open_turn`` for what the agent sees; unless the request says
        ``disableRecordHistory``, the stored history becomes that: so after a
        ``turnsHistory`` the conversation holds those turns and this exchange.
        """
        convo_id = request["convoId"]
        if request.get("disableRecordHistory") is True:
            kept = self.conversations.get(convo_id)
            opened = open_turn(request, kept.turns if kept is not None else ())
            return AgentRequest.from_interact(request, opened.turns), None
        caps = self._caps()
        stored = self.conversations.open(convo_id, caps)
        opened = open_turn(request, stored.turns)
        if opened.replaces:
            stored = self.conversations.replace(convo_id, opened.turns, caps)
        elif opened.human is not None:
            self.conversations.append(convo_id, stored, opened.human, caps)
        return AgentRequest.from_interact(request, list(stored.turns)), stored

    async def _answer(self, ws: ServerConnection, request: dict[str, Any], faults: Faults | None) -> None:
        if self.replay is not None:
            await self._play(ws, request, self.replay)
            return
        agent_request, history = self._open_turn(request)
        reply = BotTurn()
        try:
            async with contextlib.aclosing(agent_items(self.agent, agent_request)) as items:
                if not await self._stream(ws, items, reply, faults, agent_request.disable_ui_engine):
                    return
        except ConnectionClosed:
            raise
        except (Exception, SystemExit) as exc:  # an agent calling sys.exit() ends its reply, not the server
            log.exception("the agent failed on a prompt in conversation %s", agent_request.convo_id)
            await ws.close(CloseCode.INTERNAL_ERROR, _trim_reason(f"agent error: {type(exc).__name__}: {exc}"))
            return
        if faults is not None and await self._strike(ws, faults, reply.chunks):
            return
        if history is not None:
            self.conversations.append(agent_request.convo_id, history, reply.turn(), self._caps())
        else:  # not recorded: the history as stored, without this exchange
            history = self.conversations.get(agent_request.convo_id)
        words = (_words(agent_request.prompt), _words(reply.text()))
        usage = {"inputTokens": words[0], "outputTokens": words[1], "llmUsed": self._model_name}
        turns = list(history.turns) if history is not None else []
        await ws.send(dumps({"type": "metadata", "metadata": {**usage, **reply.metadata}}))
        await ws.send(json.dumps({"type": "sync_chat_history", "turns": turns}))
        await ws.close(CloseCode.NORMAL_CLOSURE)

    @staticmethod
    async def _play(ws: ServerConnection, request: dict[str, Any], replay: Replay) -> None:
        """Answer from the cassette: the recorded frames at their pace, then the recorded close.

        A prompt the cassette never recorded gets close code ``NO_RECORDING`` (4404) naming it.
        """
        try:
            playback = replay.answer(request)
        except CassetteMiss as exc:
            log.info("%s", exc)
            await ws.close(NO_RECORDING, _trim_reason(exc.reason))
            return
        await playback.play(ws.send)
        if playback.close is None:  # the recording's client stopped first: wait for this one to leave
            await ws.wait_closed()
        elif playback.close.sendable:
            await ws.close(playback.close.code, playback.close.reason)
        elif ws.transport is not None:  # 1006 and the like are never sent: drop the connection
            ws.transport.abort()

    async def _stream(
        self,
        ws: ServerConnection,
        items: AsyncIterator[Any],
        reply: BotTurn,
        faults: Faults | None,
        plain_only: bool = False,
    ) -> bool:
        """Send the agent's items as frames, keeping its metadata for the end; False when a fault ended it.

        A ``UIMessage`` goes out as the turn's snapshot so far, or as markdown when ``plain_only``.
        """
        delay = faults.chunk_delay if faults and faults.chunk_delay is not None else self.chunk_delay
        async for item in items:
            if isinstance(item, MetadataEvent):
                reply.metadata.update(item.metadata)
                continue
            if isinstance(item, dict) and item.get("type") == "metadata" and isinstance(item.get("metadata"), dict):
                reply.metadata.update(item["metadata"])
                continue
            if isinstance(item, UIMessage):
                item = _as_plain(item, reply) if plain_only else ChunkEvent(reply.with_message(item.wire()), None, True)
            event = self._to_frame(item, reply.chunks)
            if event is None:
                continue
            frame, chunk = event
            if chunk is not None:
                if faults is not None and await self._strike(ws, faults, reply.chunks):
                    return False
                reply.add(*chunk)
                if delay:
                    await asyncio.sleep(delay)
            await ws.send(frame)
        return True

    @staticmethod
    def _to_frame(item: Any, index: int) -> tuple[str, tuple[str, bool] | None] | None:
        """The frame for one agent item, and (text, ui_engine) when it is a chunk."""
        if item is None:
            return None
        if isinstance(item, str):
            if not item:
                return None
            return encode_event(ChunkEvent(item, index)), (item, False)
        if isinstance(item, dict):
            if item.get("type") == "chunk" and isinstance(item.get("chunk"), str):
                # The agent's own fields pass through (a string chunkIndex, a truthy ui_engine).
                data = item if "chunkIndex" in item else {**item, "chunkIndex": index}
                return dumps(data), (item["chunk"], bool(item.get("ui_engine")))
            return dumps(item), None
        if isinstance(item, ChunkEvent):
            chunk = ChunkEvent(item.text, index, item.ui_engine, None, item.is_v2)
            return encode_event(chunk), (item.text, item.ui_engine)
        event: Event = item
        return encode_event(event), None

    @staticmethod
    async def _strike(ws: ServerConnection, faults: Faults, sent: int) -> bool:
        """Apply the fault due after ``sent`` chunks; True when the answer must end here."""
        if faults.malformed_after == sent:
            await ws.send("{this is not json")
        if faults.drop_after == sent:
            if ws.transport is not None:
                ws.transport.abort()
            return True
        if faults.close_after == sent:
            await ws.close(faults.close_code, faults.close_reason)
            return True
        if faults.stall_after == sent:
            await ws.wait_closed()
            return True
        return False


def _as_plain(message: UIMessage, reply: BotTurn) -> str:
    """A UI message as markdown for a turn without the ui_engine, a paragraph of its own."""
    text = message.markdown()
    return f"\n\n{text}" if text and reply.plain else text


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on port {port}: something else already listens there; pick another port, or 0 for any"
    if isinstance(exc, socket.gaierror):
        return f"cannot listen on {host!r}: it is not a name or address of this machine ({exc.strerror})"
    reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else str(exc)
    return f"cannot listen on {host!r} port {port}: {reason}"


def _replay(
    replay: str | os.PathLike[str] | Cassette | Replay | None, pace: float, agent: Agent | None, faults: Faults | None
) -> Replay | None:
    """The ``Replay`` a server answers from, or None; a cassette that cannot be read fails here."""
    if replay is None:
        return None
    if agent is not None:
        raise ConfigurationError("pass either an agent or replay=..., not both: a replay answers from its cassette")
    mid_reply = ("drop_after", "close_after", "malformed_after", "stall_after", "chunk_delay")
    if faults is not None and any(getattr(faults, name) is not None for name in mid_reply):
        raise ConfigurationError(
            "faults: a replay plays its recording as it was; only Faults(refuse_status=...) applies to it"
        )
    if isinstance(replay, Replay):
        return replay
    if not isinstance(replay, (str, os.PathLike, Cassette)):
        raise ConfigurationError(f"replay: expected the path of a cassette, got {type(replay).__name__}")
    return Replay(replay, pace=pace)


def serve(agent: Agent | None = None, **options: Any) -> EmbeddedServer:
    """An embedded server for ``with`` (own thread) or ``async with`` (current loop).

    ``serve()`` runs the demo agent; ``serve(my_function)`` runs yours. Options:
    ``host`` (127.0.0.1; anything else is reachable from other machines and logs a
    warning), ``port`` (0 picks a free one), ``chunk_delay``, ``faults``, ``max_size``,
    ``request_timeout``, ``allowed_origins`` (web page origins let in; none by default),
    ``backlog`` (pending connects the listener holds, 2048), ``max_history_turns`` (200)
    and ``max_history_bytes`` (1 MiB of JSON) per conversation, and
    ``max_total_history_bytes`` (64 MiB) for all of them: past it, the least recently
    used conversations are forgotten first.

    ``serve(replay="session.jsonl")`` answers from a cassette recorded with
    ``ConvoClient(record=...)`` instead of an agent: the recorded frames, paced as
    recorded (``pace=1.0``), scaled (``pace=0.5`` twice as fast) or at once (``pace=0``),
    then the recorded close. A prompt the cassette never recorded gets close code 4404
    naming it. Only ``Faults(refuse_status=...)`` applies to a replay.
    """
    return EmbeddedServer(agent, **options)
