"""Running an agent for the embedded server, whatever kind of function it is.

An agent receives an ``AgentRequest`` (exported as ``convowidget.AgentRequest``). It may
be a plain function, a coroutine function, a generator or an async generator, returning
text, events or an iterable of them. ``agent_items`` turns any of those into one async
stream of items: sync code runs on worker threads (a slow agent never blocks other
conversations), and however the stream ends, the agent's own iterator is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .demo import split_chunks
from .protocol import ChunkEvent, MetadataEvent

__all__ = ["Agent", "AgentRequest", "ThreadedIterator", "agent_items"]

log = logging.getLogger("convowidget.server")


@dataclass(frozen=True)
class AgentRequest:
    """What an agent gets for one prompt. ``request`` is the whole interact object."""

    prompt: str
    convo_id: str
    agent_id: str
    history: list[dict[str, Any]]
    request: dict[str, Any] = field(repr=False)


Agent = Callable[[AgentRequest], Any]


class _End:
    """Marks the end of what a worker thread handed over (see ``ThreadedIterator``)."""


_BATCH_END, _EXHAUSTED = _End(), _End()


class ThreadedIterator:
    """A sync iterator run on a worker thread, with no thread hop per item.

    A worker calls ``next()`` up to ``batch`` times, handing each item to the loop as soon
    as it exists (a slow agent still streams, and never blocks the loop), then gives its
    thread back; the next batch starts once the loop has taken those items. When the
    reader stops early (the client left), the iterator is closed on a worker thread.
    """

    def __init__(self, iterator: Iterator[Any], batch: int = 64) -> None:
        self._iterator = iterator
        self._batch = batch
        self._loop = asyncio.get_running_loop()
        self._items: asyncio.Queue[Any] = asyncio.Queue()
        self._lock = threading.Lock()
        self._working = False
        self._stopping = False
        self._finished = False

    def _hand_over(self, item: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is reading
            self._loop.call_soon_threadsafe(self._items.put_nowait, item)

    def _work(self) -> None:
        """On a worker thread: one batch of ``next()`` calls."""
        end: Any = _BATCH_END
        try:
            for _ in range(self._batch):
                if self._stopping:
                    break
                try:
                    item = next(self._iterator)
                except StopIteration:
                    end = _EXHAUSTED
                    break
                except BaseException as exc:  # raised on the loop by the reader, SystemExit included
                    end = exc
                    break
                self._hand_over(item)
        finally:
            with self._lock:
                self._working = False
                self._finished = end is not _BATCH_END
                stop = self._stopping
            if stop and not self._finished:
                self._close()
            else:
                self._hand_over(end)

    def _close(self) -> None:
        close = getattr(self._iterator, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.warning("a sync agent failed while being closed", exc_info=True)

    async def items(self) -> AsyncIterator[Any]:
        """The iterator's items, read on the loop."""
        try:
            while True:
                with self._lock:
                    self._working = True
                self._loop.run_in_executor(None, self._work)
                while (item := await self._items.get()) is not _BATCH_END:
                    if item is _EXHAUSTED:
                        return
                    if isinstance(item, BaseException):
                        raise item
                    yield item
        finally:
            with self._lock:
                self._stopping = True
                idle = not self._working and not self._finished
            if idle:
                self._loop.run_in_executor(None, self._close)


async def agent_items(agent: Agent, request: AgentRequest) -> AsyncGenerator[Any, None]:
    """Whatever the agent is (plain, async, generator, async generator), yield its items.

    Sync code runs on worker threads so a slow agent never blocks other conversations.
    However this generator ends (the client left, too), the agent's own iterator is closed.
    """
    items = await _iterator(agent, request)
    try:
        async for item in items:
            yield item
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


async def _iterator(agent: Agent, request: AgentRequest) -> AsyncIterator[Any]:
    if inspect.isasyncgenfunction(agent):
        return agent(request)  # type: ignore[no-any-return]
    if inspect.isgeneratorfunction(agent):
        result: Any = agent(request)  # making a generator runs none of its code
    elif inspect.iscoroutinefunction(agent):
        result = await agent(request)
    else:
        result = await asyncio.to_thread(agent, request)
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, str):
        return _async_items(split_chunks(result))
    if isinstance(result, (dict, ChunkEvent, MetadataEvent)) or result is None:
        return _async_items([] if result is None else [result])
    if hasattr(result, "__aiter__"):
        return result.__aiter__()  # type: ignore[no-any-return]
    return ThreadedIterator(iter(result)).items()


async def _async_items(items: Iterable[Any]) -> AsyncIterator[Any]:
    """Items already at hand (a plain agent's answer), as an async iterator."""
    for item in items:
        yield item
