"""A chat panel's exchanges: one prompt and its reply at a time, into the panel's traits.

``PanelExchanges`` is what a ``ChatWidget`` runs a turn with (on the IO thread): it asks
the client, streams the reply into ``stream`` (``_streaming``), appends the finished pair
to ``transcript`` in place and sends only it as ``transcript_tail``, keeps every ``Reply``
and calls the ``on_reply`` callbacks. Whatever happens in an exchange, the panel ends idle
(or error) and usable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol

from . import _io
from ._answers import answer_entry, failed_reply, valid
from ._panel_forms import PanelForms
from ._streaming import TraitStreamer
from .reply import Reply

if TYPE_CHECKING:
    from .client import ConvoClient

__all__ = ["LAST_ANSWER_CHARS", "Panel", "PanelExchanges", "call_each", "last_answer"]

log = logging.getLogger("convowidget.widget")
LAST_ANSWER_CHARS = 10_000
"""``last_answer`` holds this much of the reply's text (the whole of it is ``last_reply.text``)."""


class Panel(Protocol):
    """What an exchange writes on (``ChatWidget`` has it)."""

    client: ConvoClient
    convo_id: str
    flush_interval: float
    transcript: list[dict[str, Any]]
    transcript_tail: dict[str, Any]
    pending: dict[str, Any]
    stream: dict[str, Any]
    status: str
    error: str
    last_answer: dict[str, Any]

    def hold_sync(self) -> contextlib.AbstractContextManager[Any]: ...


def call_each(callbacks: list[Callable[[Reply], Any]], reply: Reply, what: str) -> None:
    """Call every callback with ``reply``; a failing one is logged (even SystemExit) and the rest still run."""
    for callback in list(callbacks):
        try:
            callback(reply)
        except BaseException:  # a callback must not take the IO thread down
            log.exception("an %s callback failed", what)


def last_answer(answer: dict[str, Any], prompt: str) -> dict[str, Any]:
    """The ``last_answer`` trait for a finished answer entry: its text cut at ``LAST_ANSWER_CHARS``."""
    text, status = answer["text"], answer["status"]
    return {
        "id": answer["id"],
        "prompt": prompt,
        "status": status,
        "text": text[:LAST_ANSWER_CHARS],
        "cut": len(text) > LAST_ANSWER_CHARS,
    }


class PanelExchanges:
    """Runs a panel's turns in the order asked and keeps their replies.

    ``forms`` learns each prompt's form fields and each answer's Reply; ``changed`` is
    called when the transcript changed (the saved copy refreshes on it).
    """

    def __init__(self, panel: Panel, forms: PanelForms, changed: Callable[[], None]) -> None:
        self._panel = panel
        self._forms = forms
        self._changed = changed
        self.replies: list[Reply] = []
        self.callbacks: list[Callable[[Reply], Any]] = []
        self._ids = 0
        self._tail_seq = 0
        self._turn_lock: asyncio.Lock | None = None
        self._stop_event: asyncio.Event | None = None

    def start(self, prompt: str, extra: dict[str, Any], *, greeting: bool = False) -> Future[Reply]:
        """Ask ``prompt`` (checked here, before anything runs); the Reply arrives in the Future."""
        request = self._panel.client.make_request(prompt, self._panel.convo_id, **extra)
        return self.submit(request, greeting=greeting)

    def submit(
        self, request: dict[str, Any], *, versions: list[Any] | None = None, greeting: bool = False
    ) -> Future[Reply]:
        """Run an exchange of a request already made, after any still running."""
        return _io.submit(self._exchange(request, versions=versions, greeting=greeting))

    def stop(self) -> None:
        """Stop the reply that is streaming, if any (IO thread)."""
        if self._stop_event is not None:
            self._stop_event.set()

    def update_entry(self, position: int, entry: dict[str, Any]) -> None:
        """Change one entry (IO thread): in place, sent alone as the tail, the saved copy refreshed later."""
        self._panel.transcript[position] = entry
        self._tail_seq += 1
        self._panel.transcript_tail = {"seq": self._tail_seq, "entries": [entry]}
        self._changed()

    def _next_id(self) -> str:
        self._ids += 1
        return f"m{self._ids}"

    async def _exchange(
        self, request: dict[str, Any], *, versions: list[Any] | None = None, greeting: bool = False
    ) -> Reply:
        if self._turn_lock is None:
            self._turn_lock = asyncio.Lock()
        async with self._turn_lock:  # one reply at a time per panel, in the order asked
            return await self._exchange_now(request, versions or [], greeting)

    async def _exchange_now(self, request: dict[str, Any], versions: list[Any], greeting: bool) -> Reply:
        """One exchange; whatever happens in it, the panel ends idle (or error) and usable.

        ``versions``: the earlier answers of the turn this one replaces; ``greeting``: the
        prompt is the greeting's, and the panel shows only the answer.
        """
        panel = self._panel
        user = None if greeting else {"id": self._next_id(), "role": "user", "text": valid(request["prompt"])}
        assistant_id = self._next_id()
        if user is not None:
            self._forms.asked(user["id"], request)  # a form's fields, kept for Retry and Regenerate
            if self._forms.request_fields(user["id"]):
                user["form"] = True  # a submitted form: it is sent again whole, never edited as text
        self._stop_event = stop_event = asyncio.Event()
        streamer = TraitStreamer(panel, assistant_id, panel.flush_interval, valid)
        reply: Reply | None = None
        try:
            with panel.hold_sync():
                panel.pending = {"assistant_id": assistant_id, **({"user": user} if user else {})}
                panel.stream = {}
                panel.error = ""
                panel.status = "connecting"
            reply = await panel.client.exchange(request, on_event=streamer.on_event, stop_event=stop_event)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the client never raises for a reply; if it did, keep the text
            log.debug("an exchange ended on %s", type(exc).__name__, exc_info=True)
            reply = failed_reply(request, streamer.builder, exc)
        finally:
            streamer.close()
            self._stop_event = None
            if reply is None:  # cancelled: leave the panel usable all the same
                self._settle("idle")
        extra = {**({"versions": versions} if versions else {}), **({"greeting": True} if greeting else {})}
        self._finish(user, assistant_id, reply, extra)
        self.replies.append(reply)
        self._forms.answered(assistant_id, reply)
        self._changed()
        call_each(self.callbacks, reply, "on_reply")
        return reply

    def _finish(self, user: dict[str, Any] | None, answer_id: str, reply: Reply, extra: dict[str, Any]) -> None:
        """Append the exchange to the transcript and send only it, as the tail; never raises."""
        panel = self._panel
        try:
            answer = answer_entry(answer_id, user["id"] if user else None, reply, extra)
            entries = [user, answer] if user else [answer]
            self._tail_seq += 1
            with panel.hold_sync():
                panel.transcript.extend(entries)  # in place: the list is not re-sent
                panel.transcript_tail = {"seq": self._tail_seq, "entries": entries}
                panel.pending = {}
                panel.stream = {}
                panel.status = "error" if reply.status == "failed" else "idle"
                panel.error = ""
                panel.last_answer = last_answer(answer, valid(reply.prompt))
        except Exception:
            log.exception("could not show a reply in the panel")
            self._settle("error")

    def _settle(self, status: str) -> None:
        """Clear what a reply left half-shown; never raises."""
        try:
            with self._panel.hold_sync():
                self._panel.pending = {}
                self._panel.stream = {}
                self._panel.status = status
        except Exception:
            log.debug("could not settle the panel", exc_info=True)
