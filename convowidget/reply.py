"""A reply assembled from events, as pure data (no I/O).

Plain chunks are markdown concatenated in arrival order; ``ui_engine`` chunks are
snapshots of the whole bot turn that replace each other. ``ReplyBuilder`` folds events
into a ``Reply``; the client decides when the reply is over and how it ended.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .errors import StreamError
from .protocol import (
    ActionEvent,
    ChunkEvent,
    DebugEvent,
    Event,
    InvalidEvent,
    MetadataEvent,
    SyncChatHistoryEvent,
    UnknownEvent,
)
from .turns import parse_snapshot, turn_text

Status = Literal["complete", "stopped", "failed"]


@dataclass
class Reply:
    """One answer from the agent, with everything the server sent about it."""

    text: str = ""
    chunks: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    handoff: bool = False
    turns: list[Any] = field(default_factory=list)
    debug: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    convo_id: str = ""
    status: Status = "complete"
    error: str | None = None
    time_to_first_chunk: float | None = None
    elapsed: float = 0.0
    prompt: str = ""
    ui_turn: Any = None
    unknown_events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the server finished the reply normally."""
        return self.status == "complete"

    def raise_for_status(self) -> Reply:
        """Return the reply if complete; raise ``StreamError`` saying why if not."""
        if self.status != "complete":
            raise StreamError(f"reply {self.status}: {self.error or 'no reason given'}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready dict of every field."""
        return asdict(self)

    def __repr__(self) -> str:
        preview = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        parts = [f"status={self.status!r}", f"text={preview!r}"]
        if len(self.text) > 60:
            parts.append(f"chars={len(self.text)}")
        if self.sources:
            parts.append(f"sources={len(self.sources)}")
        if self.handoff:
            parts.append("handoff=True")
        if self.error:
            parts.append(f"error={self.error!r}")
        if self.warnings:
            parts.append(f"warnings={len(self.warnings)}")
        parts.append(f"elapsed={self.elapsed:.2f}s")
        return f"Reply({', '.join(parts)})"

    def _repr_markdown_(self) -> str:
        lines = [self.text or "*(no text)*", ""]
        if self.sources:
            lines.append("**Sources:** " + ", ".join(self.sources))
        if self.handoff:
            lines.append("**The agent asked for a human to take over.**")
        footer = f"*{self.status}* · {self.elapsed:.2f} s"
        if self.error:
            footer += f" · error: {self.error}"
        lines.append(footer)
        return "\n\n".join(line for line in lines if line is not None)


class ReplyBuilder:
    """Folds events into a Reply. ``feed`` never raises; ``finish`` stamps the outcome."""

    def __init__(self, prompt: str = "", convo_id: str = "") -> None:
        self.reply = Reply(prompt=prompt, convo_id=convo_id)
        self._started = time.perf_counter()
        self._next_index = 0
        self._snapshot_text: str | None = None

    @property
    def text(self) -> str:
        """The text so far (joins the chunks; cheap enough to call per flush, not per chunk)."""
        plain = "".join(self.reply.chunks)
        if self._snapshot_text is None:
            return plain
        return f"{plain}\n\n{self._snapshot_text}" if plain else self._snapshot_text

    def feed(self, event: Event) -> None:
        reply = self.reply
        if isinstance(event, ChunkEvent):
            if reply.time_to_first_chunk is None:
                reply.time_to_first_chunk = time.perf_counter() - self._started
            if event.ui_engine:
                self._feed_snapshot(event.text)
                return
            if event.index is not None:
                if event.index != self._next_index:
                    kind = "repeated" if event.index < self._next_index else "out of order or missing"
                    reply.warnings.append(f"chunk index {event.index} {kind}: expected {self._next_index}")
                self._next_index = event.index + 1
            reply.chunks.append(event.text)
        elif isinstance(event, MetadataEvent):
            reply.metadata.update(event.metadata)
            sources = event.metadata.get("sources")
            if isinstance(sources, list):
                for source in sources:
                    if isinstance(source, str):
                        if source not in reply.sources:
                            reply.sources.append(source)
                    else:
                        reply.warnings.append(f"ignored a source that is not a string: {source!r}")
            elif sources is not None:
                reply.warnings.append("metadata 'sources' is not a list; ignored")
        elif isinstance(event, ActionEvent):
            reply.actions.append(event.action)
            if event.action_type == "request_handoff":
                reply.handoff = True
        elif isinstance(event, SyncChatHistoryEvent):
            reply.turns = event.turns
        elif isinstance(event, DebugEvent):
            reply.debug.append(event.raw)
        elif isinstance(event, UnknownEvent):
            reply.unknown_events.append(event.raw)
        elif isinstance(event, InvalidEvent):
            reply.warnings.append(f"ignored a frame: {event.reason}: {event.raw!r}")

    def _feed_snapshot(self, raw: str) -> None:
        parsed = parse_snapshot(raw)
        if parsed is None:
            self.reply.warnings.append("a ui_engine snapshot could not be parsed; showing it raw")
            self.reply.ui_turn = None
            self._snapshot_text = raw
        else:
            self.reply.ui_turn = parsed
            self._snapshot_text = turn_text(parsed)

    def finish(self, status: Status = "complete", error: str | None = None) -> Reply:
        reply = self.reply
        reply.text = self.text
        reply.status = status
        reply.error = error
        reply.elapsed = time.perf_counter() - self._started
        return reply
