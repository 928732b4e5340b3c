"""The embedded Convocore-compatible server: the demo agent, your own agents, and faults.

It speaks the interact protocol on ``ws://127.0.0.1:PORT/interact`` using the same
protocol module as the client. ``serve()`` gives a server that works both as
``with serve() as server:`` (on its own thread) and ``async with serve() as server:``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .demo import LABEL as DEMO_LABEL
from .demo import demo_agent, split_chunks
from .errors import ConfigurationError
from .protocol import ChunkEvent, Event, encode_event, validate_request
from .turns import parse_snapshot, turn_text

__all__ = ["AgentRequest", "EmbeddedServer", "Faults", "serve"]

log = logging.getLogger("convowidget.server")
_wire_logger = logging.getLogger("convowidget.server.websockets")
_wire_logger.setLevel(logging.INFO)  # frames carry owner ids and e-mails: never at DEBUG
_wire_logger.addFilter(lambda record: record.levelno > logging.DEBUG)

Agent = Callable[["AgentRequest"], Any]


@dataclass(frozen=True)
class AgentRequest:
    """What an agent gets for one prompt. ``request`` is the whole interact object."""

    prompt: str
    convo_id: str
    agent_id: str
    history: list[dict[str, Any]]
    request: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Faults:
    """Misbehaviour on purpose. Counts are chunks sent before the fault strikes.

    ``times`` limits the faults to the first N connections; after that the server behaves.
    """

    drop_after: int | None = None
    close_after: int | None = None
    close_code: int = 1011
    close_reason: str = "injected fault"
    malformed_after: int | None = None
    stall_after: int | None = None
    chunk_delay: float | None = None
    times: int | None = None


def _text_turn(who: str, text: str) -> dict[str, Any]:
    message = {"type": "text", "item": {"type": "text", "payload": {"message": text}}}
    return {"from": who, "messages": [message], "ts": int(time.time())}


def _words(text: str) -> int:
    return len(text.split())


def _trim_reason(reason: str) -> str:
    data = reason.encode("utf-8")[:120]
    return data.decode("utf-8", "ignore")


async def _agent_items(agent: Agent, request: AgentRequest) -> AsyncIterator[Any]:
    """Whatever the agent is (plain, async, generator, async generator), yield its items."""
    if inspect.isasyncgenfunction(agent):
        async for item in agent(request):
            yield item
        return
    if inspect.iscoroutinefunction(agent):
        result = await agent(request)
    else:
        result = await asyncio.to_thread(agent, request)  # a slow agent must not block others
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, (str, dict, ChunkEvent)) or result is None:
        if isinstance(result, str):
            for piece in split_chunks(result):
                yield piece
        elif result is not None:
            yield result
        return
    if hasattr(result, "__aiter__"):
        async for item in result:
            yield item
        return
    iterator = iter(result)
    done = object()
    while (item := await asyncio.to_thread(next, iterator, done)) is not done:
        yield item


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
    ) -> None:
        if agent is not None and not callable(agent):
            raise ConfigurationError(f"agent: expected a function, got {type(agent).__name__}")
        self.agent: Agent = agent or demo_agent
        self.label = label or (DEMO_LABEL if agent is None else "Custom agent (embedded server)")
        self.host = host
        self.port = port
        self.chunk_delay = chunk_delay
        self.faults = faults
        self.max_size = max_size
        self.request_timeout = request_timeout
        self._model_name = "convowidget-demo" if agent is None else "custom"
        self.max_conversations = 1000
        self.conversations: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self.connections = 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the server is not running; use `with serve() as server:`")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/interact"

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not running"
        return f"EmbeddedServer({self.label!r}, {where})"

    # ------------------------------------------------------------------ lifecycle

    def _refuse_other_paths(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?")[0] != "/interact":
            return connection.respond(404, "convowidget's embedded server answers on /interact only\n")
        return None

    async def start_async(self) -> EmbeddedServer:
        """Start serving on the running event loop."""
        self._server = await ws_serve(
            self._handle,
            self.host,
            self.port,
            max_size=self.max_size,
            process_request=self._refuse_other_paths,
            logger=_wire_logger,
            server_header="convowidget",
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

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
        try:
            frame = await asyncio.wait_for(ws.recv(), self.request_timeout)
        except asyncio.TimeoutError:
            await ws.close(1008, f"no interact object within {self.request_timeout:g} s")
            return None
        try:
            data = json.loads(frame)
        except (ValueError, UnicodeDecodeError):
            await ws.close(1007, "the interact object is not JSON")
            return None
        try:
            return validate_request(data)
        except ConfigurationError as exc:
            await ws.close(1008, _trim_reason(f"invalid interact object: {exc}"))
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

    async def _answer(self, ws: ServerConnection, request: dict[str, Any], faults: Faults | None) -> None:
        convo_id, prompt = request["convoId"], request["prompt"]
        history = self.conversations.setdefault(convo_id, [])
        self.conversations.move_to_end(convo_id)
        while len(self.conversations) > self.max_conversations:  # forget the oldest, not grow forever
            self.conversations.popitem(last=False)
        greeting = prompt.strip().lower() == "start"
        if not greeting:
            history.append(_text_turn("human", prompt))
        agent_request = AgentRequest(prompt, convo_id, request["agentId"], list(history), request)
        delay = faults.chunk_delay if faults and faults.chunk_delay is not None else self.chunk_delay
        sent = 0
        plain: list[str] = []
        snapshot = ""
        try:
            async for item in _agent_items(self.agent, agent_request):
                event = self._to_frame(item, sent)
                if event is None:
                    continue
                frame, chunk = event
                if chunk is not None:
                    if faults is not None and await self._strike(ws, faults, sent):
                        return
                    if chunk.ui_engine:
                        snapshot = chunk.text
                    else:
                        plain.append(chunk.text)
                    sent += 1
                    if delay:
                        await asyncio.sleep(delay)
                await ws.send(frame)
        except ConnectionClosed:
            raise
        except Exception as exc:
            log.exception("the agent failed on a prompt in conversation %s", convo_id)
            await ws.close(1011, _trim_reason(f"agent error: {type(exc).__name__}: {exc}"))
            return
        if faults is not None and await self._strike(ws, faults, sent):
            return
        text = "".join(plain)
        if snapshot:
            text = (text + "\n\n" if text else "") + turn_text(parse_snapshot(snapshot) or {})
        history.append(_text_turn("bot", text))
        usage = {"inputTokens": _words(prompt), "outputTokens": _words(text), "llmUsed": self._model_name}
        await ws.send(json.dumps({"type": "metadata", "metadata": usage}))
        await ws.send(json.dumps({"type": "sync_chat_history", "turns": history}))
        await ws.close(1000)

    @staticmethod
    def _to_frame(item: Any, index: int) -> tuple[str, ChunkEvent | None] | None:
        if item is None:
            return None
        if isinstance(item, str):
            if not item:
                return None
            chunk = ChunkEvent(item, index)
            return encode_event(chunk), chunk
        if isinstance(item, dict):
            if item.get("type") == "chunk" and isinstance(item.get("chunk"), str):
                chunk = ChunkEvent(item["chunk"], index, bool(item.get("ui_engine")))
                return encode_event(chunk), chunk
            return json.dumps(item, ensure_ascii=False), None
        if isinstance(item, ChunkEvent):
            chunk = ChunkEvent(item.text, index, item.ui_engine)
            return encode_event(chunk), chunk
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


def serve(agent: Agent | None = None, **options: Any) -> EmbeddedServer:
    """An embedded server for ``with`` (own thread) or ``async with`` (current loop).

    ``serve()`` runs the demo agent; ``serve(my_function)`` runs yours. Options:
    ``host``, ``port`` (0 picks a free one), ``chunk_delay``, ``faults``, ``max_size``.
    """
    return EmbeddedServer(agent, **options)
