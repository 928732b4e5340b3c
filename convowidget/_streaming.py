"""Coalescing a streaming reply into few, small trait updates (runs on the IO thread).

Every chunk arrives as an event; the browser gets at most one update per
``interval`` carrying only the text it has not seen (``{"id", "offset", "text"}``), or the
latest ``ui_engine`` snapshot as blocks. After the first ``EAGER_UPDATES`` updates, one
is sent only when it carries at least ``MIN_CHARS`` new characters or ``MAX_WAIT`` seconds
have passed, so a slow, long reply costs about as many bytes as its text, not per tick.

The text sent is the text of the events the client hands over, which the reply builder
has already repaired (a surrogate pair split across chunks rejoined), so what streams
is what the finished reply holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from .protocol import ChunkEvent, Event
from .reply import ReplyBuilder
from .turns import turn_blocks

EAGER_UPDATES = 100
MIN_CHARS = 256
MAX_WAIT = 1.0

log = logging.getLogger("convowidget.widget")


class TraitStreamer:
    """Pushes one reply's new text into ``widget.stream`` at a bounded rate.

    ``clean`` makes a value safe for a trait (see ``_panel_options.valid``); it is applied to
    the text before its length counts towards the offset, so offsets match what is sent.
    """

    def __init__(self, widget: Any, message_id: str, interval: float, clean: Callable[[Any], Any]) -> None:
        self._widget = widget
        self._id = message_id
        self._interval = interval
        self._clean = clean
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self.builder: ReplyBuilder | None = None
        self._unsent: list[str] = []
        self._unsent_chars = 0
        self._sent_chars = 0
        self._updates = 0
        self._last_push = self._loop.time()
        self._shown_snapshot: Any = None

    def on_event(self, event: Event, builder: ReplyBuilder) -> None:
        """The client's per-event callback: cheap; keeps the new text and arms the timer."""
        self.builder = builder
        if not isinstance(event, ChunkEvent):
            return
        if not event.ui_engine and event.text:
            self._unsent.append(event.text)
            self._unsent_chars += len(event.text)
        if self._timer is None:
            self._timer = self._loop.call_later(self._interval, self._tick)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        self._timer = None
        try:
            self._push()
        except Exception:  # a failed update must not stop the reply; the transcript gets it all
            log.debug("a streaming update failed", exc_info=True)

    def _push(self) -> None:
        builder = self.builder
        if builder is None:
            return
        snapshot = builder.reply.ui_turn
        new_snapshot = snapshot is not None and snapshot is not self._shown_snapshot
        due = (
            new_snapshot
            or self._unsent_chars >= MIN_CHARS
            or self._updates < EAGER_UPDATES
            or self._loop.time() - self._last_push >= MAX_WAIT
        )
        if not due:
            self._timer = self._loop.call_later(self._interval, self._tick)
            return
        delta: dict[str, Any] = {"id": self._id}
        if self._unsent:
            text = self._clean("".join(self._unsent))
            self._unsent, self._unsent_chars = [], 0
            delta.update(offset=self._sent_chars, text=text)
            self._sent_chars += len(text)
        if new_snapshot:  # in the same delta as the text: two writes in one sync would keep only one
            self._shown_snapshot = snapshot
            delta["blocks"] = self._clean(turn_blocks(snapshot))
        widget = self._widget
        with widget.hold_sync():
            if widget.status != "streaming":
                widget.status = "streaming"
            if len(delta) > 1:
                widget.stream = delta
        self._updates += 1
        self._last_push = self._loop.time()
