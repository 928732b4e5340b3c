"""A reply assembled from events, as pure data (no I/O).

Plain chunks are markdown concatenated in arrival order; ``ui_engine`` chunks are
snapshots of the whole bot turn that replace each other. ``ReplyBuilder`` folds events
into a ``Reply``; the client decides when the reply is over and how it ended. Every
string a Reply holds is valid text: a surrogate pair split across two chunks is
rejoined, and a lone half becomes U+FFFD with a warning.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from ._metadata import source_parts, token_count
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
    fix_surrogates,
    has_lone_surrogate,
    may_hold_surrogates,
    scrub,
)
from .turns import read_snapshot, turn_text

Status = Literal["complete", "stopped", "failed"]
Feedback = Literal["up", "down"]

_find_surrogate = re.compile("[\ud800-\udfff]").search  # has_lone_surrogate, minus a call per chunk
_LONE_SURROGATE_WARNING = (
    "the text held unpaired UTF-16 surrogates (half characters, as a server that splits text by "
    "UTF-16 code units sends); each was replaced by U+FFFD"
)


@dataclass(frozen=True)
class ToolCall:
    """A tool the agent called while answering, from an ``action`` frame of type ``tool_call``.

    ``name``, ``input`` and ``output`` come from the action's ``toolMetadata`` (``toolName``,
    ``input``, ``output``: any JSON, as sent; ``name`` is '' when it had none), ``payload``
    is the action's own ``payload``.
    """

    name: str
    input: Any = None
    output: Any = None
    payload: Any = None


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
    source_details: list[Any] = field(default_factory=list)
    """Every source as the server sent it: strings, and objects such as ``{url, title}``."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    """The tools the agent called, in order (``action`` frames of type ``tool_call``)."""
    input_tokens: int | None = None
    """``metadata.inputTokens`` as a count; None when absent or not a count (then a warning says so)."""
    output_tokens: int | None = None
    """``metadata.outputTokens`` as a count; None when absent or not a count."""
    model: str | None = None
    """The model that answered: ``metadata.llmUsed``, else the snapshot's ``modelId``, else None."""
    snapshot_first: bool = False
    """True when a ``ui_engine`` snapshot arrived before the first plain chunk (show blocks first)."""
    feedback: Feedback | None = None
    """What the person said of this reply in the panel: "up" (Helpful), "down" (Not helpful) or None.
    Kept in the notebook only: the Convocore protocol has no documented field to send it."""
    feedback_note: str | None = None
    """The note the person added to their feedback, or None."""

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
        """The reply as a notebook shows it, and saves it: the agent's markdown with its HTML made inert."""
        from ._inert_links import neutralise_links
        from .transcript import escape_markdown

        lines = [escape_markdown(self.text) if self.text else "*(no text)*"]
        if self.sources:
            lines.append("**Sources:** " + ", ".join(escape_markdown(source) for source in self.sources))
        if self.handoff:
            lines.append("**The agent asked for a human to take over.**")
        footer = f"*{self.status}* · {self.elapsed:.2f} s"
        if self.error:
            footer += f" · error: {escape_markdown(self.error)}"
        lines.append(footer)
        return neutralise_links("\n\n".join(lines))  # two sources side by side can make a link


def share_turns(previous: list[Any], new: list[Any]) -> list[Any]:
    """``new`` with each turn equal to its counterpart in ``previous`` replaced by that object.

    Counterparts are at the same position, or shifted by a constant when the server
    dropped turns from the front of the history. Shared turns are the previous objects
    themselves, not copies, so many replies of one conversation hold each turn once.
    """
    if not previous or not new:
        return list(new)
    offset = 0
    if not _same(previous[0], new[0]):
        # The server may have dropped old turns: find where new[0] sits in previous.
        offset = next((k for k in range(1, len(previous)) if _same(previous[k], new[0])), -1)
        if offset < 0:
            return list(new)
    shared = list(new)
    for position in range(min(len(new), len(previous) - offset)):
        old = previous[position + offset]
        if old is not new[position] and _same(old, new[position]):
            shared[position] = old
    return shared


def _same(a: Any, b: Any) -> bool:
    try:
        return a is b or bool(a == b)
    except Exception:  # deeply nested or odd objects from a caller: not worth sharing
        return False


def _identity(value: Any) -> str:
    """A key for spotting a source sent twice (JSON text; the repr for anything else)."""
    try:
        return json.dumps(value, sort_keys=True)
    except Exception:
        return f"{type(value).__name__}@{id(value)}"


def _source_label(source: Any) -> str | None:
    """What ``Reply.sources`` shows for a source: itself, or an object's url, else its title, else its id."""
    if isinstance(source, str):
        return source
    parts = source_parts(source)
    return parts["url"] or parts["title"] or parts["id"]


def _tool_call(action: dict[str, Any]) -> ToolCall:
    meta = action.get("toolMetadata")
    meta = meta if isinstance(meta, dict) else {}
    name = meta.get("toolName")
    return ToolCall(name if isinstance(name, str) else "", meta.get("input"), meta.get("output"), action.get("payload"))


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _short(value: Any, limit: int = 80) -> str:
    try:
        text = repr(value)
    except Exception:  # an integer past Python's digit limit, a repr that fails...
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ReplyBuilder:
    """Folds events into a Reply. ``feed`` never raises; ``finish`` stamps the outcome.

    ``previous_turns`` (the last reply's ``turns`` in this conversation) lets the
    history this reply receives share the turns it already knows: N replies of one
    conversation then hold the history once, not N times.
    """

    def __init__(self, prompt: str = "", convo_id: str = "", previous_turns: list[Any] | None = None) -> None:
        self.reply = Reply(prompt=prompt, convo_id=convo_id)
        self._started = time.perf_counter()
        self._next_index = 0  # plain and ui_engine chunks share one chunkIndex sequence...
        self._next_by_kind = {False: 0, True: 0}  # ...or, on some servers, may each count their own
        self._snapshots = 0
        self._snapshot_repaired = False
        self._history_synced = False
        self._snapshot_text: str | None = None
        self._previous_turns = previous_turns if isinstance(previous_turns, list) else []
        self._held = ""  # a high surrogate that ended the last chunk, waiting for its low half
        self._lone_noted = False
        self._odd_index_noted = False
        self._source_keys: set[str] = set()
        self._source_labels: set[str] = set()

    @property
    def text(self) -> str:
        """The text so far (joins the chunks; cheap enough to call per flush, not per chunk)."""
        plain = "".join(self.reply.chunks)
        if self._snapshot_text is None:
            return plain
        return f"{plain}\n\n{self._snapshot_text}" if plain else self._snapshot_text

    def feed(self, event: Event) -> Event:
        """Fold one event in and return it as assembled; never raises.

        For a chunk, the returned event's ``text`` is what was really added (split
        surrogate pairs rejoined, lone halves replaced): pass that one on to consumers.
        """
        reply = self.reply
        try:
            if isinstance(event, ChunkEvent) and not event.ui_engine:  # the hot path: kept inline and cheap
                if reply.time_to_first_chunk is None:
                    reply.time_to_first_chunk = time.perf_counter() - self._started
                index = event.index
                if index is not None and index == self._next_index:
                    self._next_index = self._next_by_kind[False] = index + 1
                else:
                    self._note_index(event)
                text = event.text
                if self._held or (not text.isascii() and _find_surrogate(text)):
                    text = self._repair(self._held + text)
                    reply.chunks.append(text)
                    return replace(event, text=text)
                reply.chunks.append(text)
                return event
            return self._feed_other(event)
        except Exception as exc:  # a last guard: one odd event must not take the reply down
            reply.warnings.append(f"ignored a {type(event).__name__} that could not be used ({type(exc).__name__})")
            return event

    def _feed_other(self, event: Event) -> Event:
        reply = self.reply
        if isinstance(event, ChunkEvent):  # a ui_engine snapshot: plain chunks never get here
            if reply.time_to_first_chunk is None:
                reply.time_to_first_chunk = time.perf_counter() - self._started
            if event.index is not None and event.index == self._next_index:
                self._next_index = self._next_by_kind[True] = event.index + 1
            else:
                self._note_index(event)
            if self._snapshots == 0 and not reply.chunks:
                reply.snapshot_first = True
            self._snapshots += 1
            return self._feed_snapshot(event)
        if isinstance(event, MetadataEvent):
            self._feed_metadata(event.metadata)
        elif isinstance(event, ActionEvent):
            reply.actions.append(event.action)
            if event.action_type == "request_handoff":
                reply.handoff = True
            elif event.action_type == "tool_call":
                reply.tool_calls.append(_tool_call(event.action))
        elif isinstance(event, SyncChatHistoryEvent):  # the history wins over metadata.turns
            self._history_synced = True
            reply.turns = self._shared(event.turns)
        elif isinstance(event, DebugEvent):
            reply.debug.append(event.raw)
        elif isinstance(event, UnknownEvent):
            reply.unknown_events.append(event.raw)
        elif isinstance(event, InvalidEvent):
            reply.warnings.append(f"ignored a frame: {event.reason}: {event.raw!r}")
        return event

    def _feed_metadata(self, metadata: dict[str, Any]) -> None:
        reply = self.reply
        reply.metadata.update(metadata)
        sources = metadata.get("sources")
        if isinstance(sources, list):
            for source in sources:
                self._add_source(source)
        elif sources is not None:
            reply.warnings.append("metadata 'sources' is not a list; ignored")
        for key, attribute in (("inputTokens", "input_tokens"), ("outputTokens", "output_tokens")):
            if key in metadata:
                count = token_count(metadata[key])
                setattr(reply, attribute, count)
                if count is None and metadata[key] is not None:
                    shown = _short(metadata[key])
                    reply.warnings.append(f"metadata '{key}' is not a count of tokens ({shown}); ignored")
        turns = metadata.get("turns")
        if isinstance(turns, list):  # the reference client reads the turns here; keep one shared copy
            reply.metadata["turns"] = shared = self._shared(turns)
            if not self._history_synced:
                reply.turns = shared
        elif turns is not None:
            reply.warnings.append("metadata 'turns' is not a list; ignored")

    def _shared(self, turns: list[Any]) -> list[Any]:
        return share_turns(self._previous_turns, turns) if self._previous_turns else turns

    def _note_index(self, event: ChunkEvent) -> None:
        """Warn about a gap, a repeat or an index that is not a whole number (once).

        An index is in order when it follows the last chunk of either kind (one shared
        sequence) or the last chunk of its own kind (a server numbering each apart).
        """
        reply = self.reply
        if event.index is not None:
            own_next = self._next_by_kind[event.ui_engine]
            if event.index != self._next_index and event.index != own_next:
                kind = "repeated" if event.index < self._next_index else "out of order or missing"
                reply.warnings.append(f"chunk index {_short(event.index)} {kind}: expected {_short(self._next_index)}")
            self._next_by_kind[event.ui_engine] = event.index + 1
            self._next_index = max(self._next_index, event.index + 1)
        elif event.raw_index is not None and not self._odd_index_noted:
            self._odd_index_noted = True
            reply.warnings.append(
                f"chunk index {_short(event.raw_index)} is not a whole number; its text is kept "
                "(later odd indexes in this reply are not noted)"
            )

    def _repair(self, text: str) -> str:
        """Valid text for a chunk: hold back a trailing high surrogate, fix the rest."""
        self._held = ""
        if text and "\ud800" <= text[-1] <= "\udbff":
            self._held, text = text[-1], text[:-1]
        if not has_lone_surrogate(text):
            return text
        fixed = fix_surrogates(text)
        if fixed.count("\ufffd") > text.count("\ufffd"):
            self._note_lone_surrogates()
        return fixed

    def _note_lone_surrogates(self) -> None:
        if not self._lone_noted:
            self._lone_noted = True
            self.reply.warnings.append(_LONE_SURROGATE_WARNING)

    def _add_source(self, source: Any) -> None:
        key = _identity(source)
        if key in self._source_keys:
            return
        self._source_keys.add(key)
        self.reply.source_details.append(source)
        label = _source_label(source)
        if label is None:
            self.reply.warnings.append(
                f"a source with no url, title or id is kept in source_details only: {_short(source)}"
            )
        elif label not in self._source_labels:
            self._source_labels.add(label)
            self.reply.sources.append(label)

    def _feed_snapshot(self, event: ChunkEvent) -> Event:
        raw = event.text
        if has_lone_surrogate(raw):
            raw = fix_surrogates(raw)
            self._note_lone_surrogates()
        parsed, self._snapshot_repaired = read_snapshot(raw)
        if parsed is None:
            self.reply.warnings.append("a ui_engine snapshot could not be parsed; showing it raw")
            self.reply.ui_turn = None
            self._snapshot_text = raw
        else:
            if may_hold_surrogates(raw):
                parsed, replaced = scrub(parsed)
                if replaced:
                    self._note_lone_surrogates()
            self.reply.ui_turn = parsed
            self._snapshot_text = turn_text(parsed)
        return event if raw is event.text else replace(event, text=raw)

    def _model(self) -> str | None:
        for value in (self.reply.metadata.get("llmUsed"), _as_dict(self.reply.ui_turn).get("modelId")):
            if isinstance(value, str) and value.strip():
                return value
        return None

    def finish(self, status: Status = "complete", error: str | None = None) -> Reply:
        reply = self.reply
        if self._held:  # a high surrogate whose low half never came
            self._held = ""
            reply.chunks.append("\ufffd")
            self._note_lone_surrogates()
        if self._snapshot_repaired:
            self._snapshot_repaired = False
            reply.warnings.append(
                "the last ui_engine snapshot was cut short (its JSON ended early): it was repaired "
                "to show what arrived, and may be missing its end"
            )
        reply.model = self._model()
        reply.text = self.text
        reply.status = status
        reply.error = error
        reply.elapsed = time.perf_counter() - self._started
        return reply
