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

from .agent import split_chunks
from .protocol import ChunkEvent, MetadataEvent, visual_images

__all__ = ["Agent", "AgentRequest", "ThreadedIterator", "agent_items"]

log = logging.getLogger("convowidget.server")


@dataclass(frozen=True)
class AgentRequest:
    """What an agent gets for one prompt: the prompt, the conversation, and what the request asks.

    ``history`` is the conversation so far as the agent should see it, ending with this
    prompt's own human turn (none for ``start``): the stored turns, or the request's
    ``turnsHistory`` when it sent one. ``request`` is the whole interact object, as sent.

    From the request's optional fields, by their Python names:

    - ``session_id``: ``sessionId``; the ``convo_id`` when none was sent (as the service does);
    - ``disable_ui_engine``: ``disableUiEngine``; answer in markdown this turn. The server
      already writes ``convowidget.agent`` messages as markdown then;
    - ``record_history``: False for ``disableRecordHistory``: this turn is not stored;
    - ``history_given``: the request sent ``turnsHistory``, which ``history`` holds;
    - ``images``: the image URLs of a ``messageType: "visual"`` prompt (``visualPayload``);
    - ``form_submission``: ``formSubmissionMetadata`` when a form or input was submitted
      (``{type, mid, submittedData: [{index, label, value, field_id, field_type}]}``),
      password values included: the agent asked for them, and must never repeat them;
      ``form_values`` reads it as ``{field_id: value}``;
    - ``action_metadata``: ``actionMetadata`` (``{mid}``, the message acted on).
    """

    prompt: str
    convo_id: str
    agent_id: str
    history: list[dict[str, Any]]
    request: dict[str, Any] = field(repr=False)
    session_id: str = ""
    disable_ui_engine: bool = False
    record_history: bool = True
    history_given: bool = False
    images: list[str] = field(default_factory=list)
    form_submission: dict[str, Any] | None = field(default=None, repr=False)
    action_metadata: dict[str, Any] | None = None

    @classmethod
    def from_interact(cls, request: dict[str, Any], history: list[dict[str, Any]]) -> AgentRequest:
        """The agent's view of a received interact object, with the history it should see."""
        session = request.get("sessionId")
        submission = request.get("formSubmissionMetadata")
        action = request.get("actionMetadata")
        return cls(
            request["prompt"],
            request["convoId"],
            request["agentId"],
            history,
            request,
            session_id=session if isinstance(session, str) and session else request["convoId"],
            disable_ui_engine=request.get("disableUiEngine") is True,
            record_history=request.get("disableRecordHistory") is not True,
            history_given=isinstance(request.get("turnsHistory"), list),
            images=visual_images(request),
            form_submission=submission if isinstance(submission, dict) else None,
            action_metadata=action if isinstance(action, dict) else None,
        )

    @property
    def form_values(self) -> dict[str, Any]:
        """``{field_id: value}`` of a submitted form or input ({} when none was); passwords included."""
        items = (self.form_submission or {}).get("submittedData")
        values: dict[str, Any] = {}
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("field_id"), str):
                values.setdefault(item["field_id"], item.get("value"))
        return values


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
