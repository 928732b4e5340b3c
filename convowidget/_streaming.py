"""Coalescing a streaming reply into few, small trait updates (runs on the IO thread).

Every chunk arrives as an event; the browser gets at most one update per
``interval`` carrying only the text it has not seen (``{"id", "offset", "text"}``), or the
latest ``ui_engine`` snapshot as blocks. After the first ``EAGER_UPDATES`` updates, one
is sent only when it carries at least ``MIN_CHARS`` new characters or ``MAX_WAIT`` seconds
have passed, so a slow, long reply costs about as many bytes as its text, not per tick.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .protocol import Event
from .reply import ReplyBuilder
from .turns import turn_blocks

EAGER_UPDATES = 100
MIN_CHARS = 256
MAX_WAIT = 1.0


class TraitStreamer:
    """Pushes one reply's new text into ``widget.stream`` at a bounded rate."""

    def __init__(self, widget: Any, message_id: str, interval: float) -> None:
        self._widget = widget
        self._id = message_id
        self._interval = interval
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._builder: ReplyBuilder | None = None
        self._sent_chunks = 0
        self._sent_chars = 0
        self._updates = 0
        self._last_push = self._loop.time()
        self._shown_snapshot: Any = None

    def on_event(self, event: Event, builder: ReplyBuilder) -> None:
        """The client's per-event callback: cheap; only arms the timer."""
        if event.type == "chunk" and self._timer is None:
            self._builder = builder
            self._timer = self._loop.call_later(self._interval, self._tick)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        self._timer = None
        builder = self._builder
        if builder is None:
            return
        chunks = builder.reply.chunks
        snapshot = builder.reply.ui_turn
        new_snapshot = snapshot is not None and snapshot is not self._shown_snapshot
        pending = sum(len(chunk) for chunk in chunks[self._sent_chunks :])
        due = (
            new_snapshot
            or pending >= MIN_CHARS
            or self._updates < EAGER_UPDATES
            or self._loop.time() - self._last_push >= MAX_WAIT
        )
        if not due:
            self._timer = self._loop.call_later(self._interval, self._tick)
            return
        widget = self._widget
        with widget.hold_sync():
            if widget.status != "streaming":
                widget.status = "streaming"
            if pending or len(chunks) > self._sent_chunks:
                text = "".join(chunks[self._sent_chunks :])
                widget.stream = {"id": self._id, "offset": self._sent_chars, "text": text}
                self._sent_chunks, self._sent_chars = len(chunks), self._sent_chars + len(text)
            if new_snapshot:
                self._shown_snapshot = snapshot
                widget.stream = {"id": self._id, "blocks": turn_blocks(snapshot)}
        self._updates += 1
        self._last_push = self._loop.time()
