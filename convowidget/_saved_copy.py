"""The copy of a conversation that a saved notebook keeps, under the live chat panel.

Jupyter does not save widget state by default, and a widget output of a saved notebook
then shows "model not found" with no fallback. So the copy is plain HTML outputs of their
own, with no widget, displayed with the panel (``_copy_html`` says what they look like).
Refreshing the panel's own output would re-create its views, so only these are refreshed.

A turn must not re-send the conversation, and a cell can hold only so many outputs
(JupyterLab and Notebook 7 show the first 50 of a cell and hide the rest behind "Show
more outputs"). So the copy is ``SLOTS`` outputs, each with its own display id: a header,
then pages. Each of the newest turns has an output of its own, written once; when
``NEWEST`` of them have gathered (or ``PAGE_CHARS`` of HTML), the next turn gathers them
into one page output and empties the outputs they had. A turn therefore sends itself,
plus now and then one page: the same bytes at turn 1,000 as at turn 1. Past the last
slot, pages take two gatherings each (then four...): that turn rewrites the copy once.

When: at once after a reply or a change of the transcript (clear, new conversation,
Regenerate, Retry) while no cell runs, as when typing in the panel; otherwise at the end
of the cell, so a loop of asks writes each output once (a headless run, nbclient or
papermill, records only what a cell sends while it runs).
"""

from __future__ import annotations

import logging
import threading
import uuid
import weakref
from typing import Any, Protocol

from ._copy_html import EMPTY_CONVERSATION, MESSAGE_FIELDS, header_html, header_text, message_html, page_html

__all__ = ["Chat", "SavedCopy", "layout"]

log = logging.getLogger("convowidget.widget")

SLOTS = 40
"""Outputs of the copy: the header and 39 for pages (with the panel, 41 of a cell's 50)."""
NEWEST = 12
"""The newest turns that keep an output each before they are gathered into one page."""
PAGE_CHARS = 32_000
"""A page is gathered early once its HTML would pass this many characters."""


class Chat(Protocol):
    """What the copy shows of a chat panel (``ChatWidget`` has it)."""

    agent_label: str
    transcript: list[dict[str, Any]]


def layout(sizes: list[int], slots: int = SLOTS - 1, newest: int = NEWEST, page_chars: int = PAGE_CHARS) -> list[range]:
    """Which turns each page output holds, given each turn's size: gathered pages, then the newest turns one each.

    A group of turns closes when the next turn finds it holding ``newest`` turns or
    would take it past ``page_chars``; the last group stays open, a turn per output.
    Closed groups are pages, two (four...) to a page when there are more than the
    outputs left beside the open group.
    """
    groups: list[range] = []
    start, chars = 0, 0
    for turn, size in enumerate(sizes):
        if turn > start and (turn - start >= newest or chars + size > page_chars):
            groups.append(range(start, turn))
            start, chars = turn, 0
        chars += size
    per_page = 1
    while -(-len(groups) // per_page) > slots - newest:
        per_page *= 2
    pages = [
        range(groups[i].start, groups[min(i + per_page, len(groups)) - 1].stop) for i in range(0, len(groups), per_page)
    ]
    return pages + [range(turn, turn + 1) for turn in range(start, len(sizes))]


def _turns(entries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The transcript in turns: each prompt with the replies after it."""
    turns: list[list[dict[str, Any]]] = []
    for entry in entries:
        if entry.get("role") == "user" or not turns:
            turns.append([])
        turns[-1].append(entry)
    return turns


def _key(entry: dict[str, Any]) -> tuple[Any, ...]:
    """What an entry's HTML depends on (equal keys, equal HTML); a string is hashed once, not per call."""
    values = map(entry.get, ("id", *MESSAGE_FIELDS))
    return tuple(value if isinstance(value, (str, bool, type(None))) else repr(value) for value in values)


class SavedCopy:
    """One panel's copy for saved notebooks: shown once with the panel, then refreshed in place by display id."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.copy_id = f"cw-copy-{uuid.uuid4().hex}"
        self.display_ids = [f"{self.copy_id}-{slot}" for slot in range(SLOTS)]
        self.shown = False
        self._dirty = False
        self._lock = threading.Lock()
        self._html: dict[tuple[Any, ...], str] = {}  # an entry's HTML by its key
        self._sent: list[tuple[Any, ...] | None] = [None] * SLOTS  # what each output holds

    def header(self) -> dict[str, str]:
        label = self.chat.agent_label
        return {"text/html": header_html(label, self.copy_id), "text/plain": header_text(label)}

    def bundles(self) -> list[dict[str, str]]:
        """Every output of the copy as it is now: the header, then the pages (some empty)."""
        with self._lock:
            return [self.header()] + [self._bundle(page) for page in self._layout()]

    def display(self) -> None:
        """Show the copy as outputs of their own (under the panel), kept up to date from now on."""
        from IPython.display import display

        with self._lock:
            display(self.header(), raw=True, display_id=self.display_ids[0])
            for slot, page in enumerate(self._layout(), start=1):
                display(self._bundle(page), raw=True, display_id=self.display_ids[slot])
                self._sent[slot] = page
            self.shown = True
            self._dirty = False
        _follow_cells(self)

    def changed(self) -> None:
        """The transcript changed: refresh now, or at the end of the cell that is running (any thread)."""
        self._dirty = True
        if not _in_cell.is_set():
            self.flush()

    def flush(self) -> None:
        """Refresh the outputs whose messages changed, if the transcript did (any thread); never raises."""
        with self._lock:
            if not (self.shown and self._dirty):
                return
            self._dirty = False
            try:
                from IPython.display import update_display

                for slot, page in enumerate(self._layout(), start=1):
                    if page != self._sent[slot]:
                        update_display(self._bundle(page), raw=True, display_id=self.display_ids[slot])
                        self._sent[slot] = page
            except Exception:  # the saved copy is a nicety; never let it break a reply
                log.debug("could not update the saved transcript", exc_info=True)

    def _layout(self) -> list[tuple[Any, ...]]:
        """The messages of each page output, by key (under the lock); each message rendered once."""
        turns = [[(_key(entry), entry) for entry in turn] for turn in _turns(list(self.chat.transcript))]
        if not turns:
            return [_NO_MESSAGES] + [()] * (SLOTS - 2)
        rendered = {key: self._html.get(key) or message_html(entry) for turn in turns for key, entry in turn}
        self._html = rendered  # only what the transcript still holds
        pages = [
            tuple(key for turn in turns[held.start : held.stop] for key, _ in turn)
            for held in layout([sum(len(rendered[key]) for key, _ in turn) for turn in turns])
        ]
        return pages + [()] * (SLOTS - 1 - len(pages))

    def _bundle(self, page: tuple[Any, ...]) -> dict[str, str]:
        if page == _NO_MESSAGES:
            return {"text/html": page_html(self.copy_id, [EMPTY_CONVERSATION])}
        return {"text/html": page_html(self.copy_id, [self._html[key] for key in page]) if page else ""}


_NO_MESSAGES = (("no messages",),)


# A cell is running from IPython's pre_run_cell to its post_run_cell; set when the first
# copy is shown, since that happens in a cell, after its pre_run_cell.
_in_cell = threading.Event()
_shown_lock = threading.Lock()
_shown: weakref.WeakSet[SavedCopy] = weakref.WeakSet()


def _cell_starts(*_args: Any) -> None:
    _in_cell.set()


def _cell_ends(*_args: Any) -> None:
    """IPython's ``post_run_cell``: refresh the copy of every panel the cell changed."""
    _in_cell.clear()
    with _shown_lock:
        copies = list(_shown)
    for copy in copies:
        copy.flush()


def _follow_cells(copy: SavedCopy) -> None:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    with _shown_lock:
        _shown.add(copy)
        if _cell_ends not in shell.events.callbacks["post_run_cell"]:
            _in_cell.set()
            shell.events.register("pre_run_cell", _cell_starts)
            shell.events.register("post_run_cell", _cell_ends)
