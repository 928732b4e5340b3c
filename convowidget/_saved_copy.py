"""The copy of a conversation that a saved notebook keeps, under the live chat panel.

Jupyter does not save widget state by default, and a widget output of a saved notebook
then shows "model not found" with no fallback. So the copy is an output of its own, plain
HTML with no widget: a collapsed ``<details>`` (one line under the live panel) holding
the escaped transcript. Refreshing the panel's own output would re-create its views, so
only the copy is refreshed, and not per reply: once the chat has been quiet for a while
(``changed(quiet_after=...)``), and at the end of each cell that changed it (a headless
run, nbclient or papermill, records only what a cell sends while it runs).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
import weakref
from typing import Any, Protocol

from .transcript import transcript_html, transcript_summary

__all__ = ["Chat", "SavedCopy"]

log = logging.getLogger("convowidget.widget")


class Chat(Protocol):
    """What the copy shows of a chat panel (``ChatWidget`` has it)."""

    agent_label: str
    transcript: list[dict[str, Any]]


class SavedCopy:
    """One panel's copy for saved notebooks: shown once, then refreshed in place by display id."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.display_id = f"convowidget-{uuid.uuid4().hex}"
        self.shown = False
        self._dirty = False
        self._lock = threading.Lock()
        self._timer: asyncio.TimerHandle | None = None

    def bundle(self) -> dict[str, str]:
        """The output as saved: the escaped transcript as HTML, and a one-line summary."""
        entries = list(self.chat.transcript)
        return {
            "text/html": transcript_html(self.chat.agent_label, entries),
            "text/plain": transcript_summary(self.chat.agent_label, len(entries)),
        }

    def display(self) -> None:
        """Show the copy as its own output (under the panel), refreshed after each cell from now on."""
        from IPython.display import display

        display(self.bundle(), raw=True, display_id=self.display_id)
        self.shown = True
        _flush_after_each_cell(self)

    def flush(self) -> None:
        """Refresh the shown copy if the transcript changed since (any thread); never raises."""
        with self._lock:
            if not (self.shown and self._dirty):
                return
            self._dirty = False
            try:
                from IPython.display import update_display

                update_display(self.bundle(), raw=True, display_id=self.display_id)
            except Exception:  # the saved copy is a nicety; never let it break a reply
                log.debug("could not update the saved transcript", exc_info=True)

    def changed(self, *, quiet_after: float | None) -> None:
        """Mark the copy stale; refresh it after ``quiet_after`` seconds with no reply (IO thread)."""
        self._dirty = True
        self.cancel_refresh()
        if quiet_after is not None and self.shown:
            self._timer = asyncio.get_running_loop().call_later(quiet_after, self.flush)

    def cancel_refresh(self) -> None:
        """Drop a refresh that was waiting for quiet: a reply is on its way (IO thread)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


_shown_lock = threading.Lock()
_shown: weakref.WeakSet[SavedCopy] = weakref.WeakSet()


def _flush_all(_result: Any = None) -> None:
    """IPython's ``post_run_cell``: refresh the copy of every panel a cell changed."""
    with _shown_lock:
        copies = list(_shown)
    for copy in copies:
        copy.flush()


def _flush_after_each_cell(copy: SavedCopy) -> None:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    with _shown_lock:
        _shown.add(copy)
        if _flush_all not in shell.events.callbacks["post_run_cell"]:
            shell.events.register("post_run_cell", _flush_all)
