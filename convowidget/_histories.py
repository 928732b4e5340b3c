"""The embedded server's conversation histories, capped per conversation and all together.

Each conversation keeps its newest turns within ``Caps.turns`` and ``Caps.bytes`` of JSON.
All of them together keep within ``Caps.total_bytes`` (their ids counted too) and
``Caps.conversations``: past either, the least recently used conversation is forgotten
first, never the one just used. Per-conversation caps alone let 1,000 conversations of
1 MiB each hold a gigabyte.
"""

from __future__ import annotations

import json
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Caps", "Histories", "History"]


@dataclass(frozen=True)
class Caps:
    """The limits, read from the server's settings at each use (so a test may change them)."""

    turns: int
    bytes: int
    total_bytes: int
    conversations: int


class History:
    """One conversation's turns, capped by count and by the size of their JSON; oldest go first."""

    __slots__ = ("_sizes", "id_bytes", "size", "turns")

    def __init__(self, id_bytes: int = 0) -> None:
        self.turns: deque[dict[str, Any]] = deque()
        self._sizes: deque[int] = deque()
        self.size = 2  # len(json.dumps(list(self.turns))): "[]", each turn, ", " between turns
        self.id_bytes = id_bytes  # what its conversation id costs, counted in the total

    def append(self, turn: dict[str, Any], max_turns: int, max_bytes: int) -> None:
        size = len(json.dumps(turn))  # ASCII JSON: bounds the UTF-8 JSON of the turns from above
        self.size += size + (2 if self.turns else 0)
        self.turns.append(turn)
        self._sizes.append(size)
        while self.turns and (len(self.turns) > max_turns or self.size > max_bytes):
            self.turns.popleft()
            self.size -= self._sizes.popleft() + (2 if self.turns else 0)


class Histories:
    """Conversation id to ``History``, least recently used first, with the total size kept."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, History] = OrderedDict()
        self.total_bytes = 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, convo_id: object) -> bool:
        return convo_id in self._items

    def __getitem__(self, convo_id: str) -> History:
        return self._items[convo_id]

    def get(self, convo_id: str) -> History | None:
        """The conversation's history if it has one, leaving its place in the order alone."""
        return self._items.get(convo_id)

    def open(self, convo_id: str, caps: Caps) -> History:
        """The conversation's history, new if it has none (or was forgotten); now the most recent."""
        history = self._items.get(convo_id)
        if history is None:
            history = self._items[convo_id] = History(len(convo_id.encode("utf-8", "surrogatepass")))
            self.total_bytes += history.id_bytes + history.size
        self._items.move_to_end(convo_id)
        self._forget_past(caps)
        return history

    def append(self, convo_id: str, history: History, turn: dict[str, Any], caps: Caps) -> None:
        """Add a turn to ``history``, then forget the least recently used conversations past the caps.

        A history forgotten while its agent answered comes back with the turn, as the most
        recent: the conversation goes on.
        """
        stored = self._items.get(convo_id)
        if stored is not None and stored is not history:  # the id started over meanwhile; keep the new one
            history.append(turn, caps.turns, min(caps.bytes, caps.total_bytes))
            return
        if stored is None:
            self._items[convo_id] = history
        else:
            self.total_bytes -= history.id_bytes + history.size
        history.append(turn, caps.turns, min(caps.bytes, caps.total_bytes))
        self.total_bytes += history.id_bytes + history.size
        self._items.move_to_end(convo_id)
        self._forget_past(caps)

    def replace(self, convo_id: str, turns: list[dict[str, Any]], caps: Caps) -> History:
        """The conversation's history started over with ``turns`` (within the caps), as the most recent."""
        old = self._items.pop(convo_id, None)
        if old is not None:
            self.total_bytes -= old.id_bytes + old.size
        history = self.open(convo_id, caps)
        for turn in turns:
            self.append(convo_id, history, turn, caps)
        return history

    def _forget_past(self, caps: Caps) -> None:
        while len(self._items) > 1 and (len(self._items) > caps.conversations or self.total_bytes > caps.total_bytes):
            _, history = self._items.popitem(last=False)
            self.total_bytes -= history.id_bytes + history.size
