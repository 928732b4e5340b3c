"""ChatWidget: the notebook chat panel, an anywidget model over ConvoClient.

Data flows one way: frame -> event -> reply -> trait -> DOM. The client's IO thread
makes every trait write. While a reply streams only new text is sent (``stream``,
see ``_streaming``). A finished exchange is appended to ``transcript`` in place and
sent alone as ``transcript_tail``, so a turn costs the same bytes at turn 1 and turn
1,000; the front end merges the tail into its copy of ``transcript``, and the whole
list still reaches late views, a page reload and saved widget state. The copy a saved
notebook keeps under the panel is the panel's ``SavedCopy`` (``_saved_copy``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import pathlib
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import anywidget
import traitlets

from . import _io
from ._answers import answer_entry, asked_again, edited, failed_reply, feedback_fields, reply_row, valid, with_feedback
from ._dataframe import to_dataframe
from ._export import export_message
from ._options import seconds
from ._panel_forms import PanelForms
from ._panel_messages import PanelMessages
from ._panel_options import agent_configured, css_height, demo_url, greets, label_for, suggestion_list
from ._saved_copy import SavedCopy
from ._streaming import TraitStreamer
from .client import ConvoClient
from .demo import LABEL as DEMO_LABEL
from .errors import ConfigurationError, ConvoError, FormError
from .reply import Reply
from .transcript import transcript_markdown

__all__ = ["ChatWidget"]

log = logging.getLogger("convowidget.widget")
_STATIC = pathlib.Path(__file__).parent / "static"
LAST_ANSWER_CHARS = 10_000
"""``last_answer`` holds this much of the reply's text (the whole of it is ``last_reply.text``)."""
GREETING_PROMPT = "start"
"""What ``greet=True`` sends when the panel first shows: Convocore agents greet on it."""


def _call_each(callbacks: list[Callable[[Reply], Any]], reply: Reply, what: str) -> None:
    """Call every callback with ``reply``; a failing one is logged (even SystemExit) and the rest still run."""
    for callback in list(callbacks):
        try:
            callback(reply)
        except BaseException:  # a callback must not take the IO thread down
            log.exception("an %s callback failed", what)


def _last_answer(answer: dict[str, Any], prompt: str) -> dict[str, Any]:
    text, status = answer["text"], answer["status"]
    return {
        "id": answer["id"],
        "prompt": prompt,
        "status": status,
        "text": text[:LAST_ANSWER_CHARS],
        "cut": len(text) > LAST_ANSWER_CHARS,
    }


class ChatWidget(anywidget.AnyWidget):
    """A chat panel with a Convocore agent; every reply is also kept as a ``Reply``.

    Takes the same keywords and environment variables as ``ConvoClient``, or a ready
    ``client=``. With no agent configured anywhere it talks to the local demo agent of
    an embedded server, and says so in the panel. ``height``: how tall the conversation
    grows before it scrolls (pixels, or a CSS length such as ``"70vh"``; 520 px when not
    given). ``suggestions``: starter prompts the empty panel offers. ``greet``: send
    ``start`` once, when the panel first shows (on by default for the demo agent only:
    with a real agent a greeting costs a turn).
    """

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    agent_label = traitlets.Unicode("").tag(sync=True)
    is_demo = traitlets.Bool(False).tag(sync=True)
    status = traitlets.Unicode("idle").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    # The whole conversation. Appended to in place (traitlets sees no change, nothing is
    # sent); replaced, and so sent whole, only by clear, new_conversation and retry.
    transcript = traitlets.List(traitlets.Dict()).tag(sync=True, echo_update=False)
    # The messages appended last, ``{"seq": n, "entries": [...]}``: what a turn sends.
    transcript_tail = traitlets.Dict().tag(sync=True)
    pending = traitlets.Dict().tag(sync=True)
    stream = traitlets.Dict().tag(sync=True)
    height = traitlets.Unicode("").tag(sync=True)
    """The conversation's greatest height as a CSS length ('' for the panel's default, 520 px)."""
    suggestions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """Starter prompts shown until the first message is sent."""
    last_answer = traitlets.Dict().tag(sync=True)
    """The latest finished reply, ``{id, prompt, status, text, cut}`` (``text`` cut at
    ``LAST_ANSWER_CHARS``, ``cut`` says so): what marimo's ``value`` shows of each reply."""
    # Every view gets a fresh proxy of the model, so the front end keys its shared
    # per-panel state (text streamed so far) by this id.
    _panel_id = traitlets.Unicode("").tag(sync=True)
    # Written by the front end once it has drawn ``last_answer`` (its id): a change from
    # the front end is what makes marimo re-run the cells that read the panel.
    _shown_answer = traitlets.Unicode("").tag(sync=True, echo_update=False)

    def __init__(
        self,
        client: ConvoClient | None = None,
        *,
        convo_id: str | None = None,
        agent_label: str | None = None,
        flush_interval: float = 0.05,
        height: float | str | None = None,
        suggestions: list[str] | None = None,
        greet: bool | None = None,
        **client_options: Any,
    ) -> None:
        if client is not None and not isinstance(client, ConvoClient):
            raise ConfigurationError(f"client: expected a ConvoClient, got {type(client).__name__}")
        if convo_id is not None and (not isinstance(convo_id, str) or not convo_id.strip()):
            raise ConfigurationError(f"convo_id: expected a non-empty string, got {convo_id!r}")
        if agent_label is not None and not isinstance(agent_label, str):
            raise ConfigurationError(f"agent_label: expected a string, got {type(agent_label).__name__}")
        flush_seconds = seconds("flush_interval", flush_interval, most=5, wanted="seconds between 0 and 5")
        css = css_height(height)
        is_demo = False
        if client is None:
            if not agent_configured(client_options):
                client_options = {**client_options, "url": demo_url(), "agent_id": "demo"}
                is_demo = True
            client = ConvoClient(**client_options)
        elif client_options:
            raise ConfigurationError("pass either client= or client keywords, not both")
        prompts, self._greet = suggestion_list(suggestions, is_demo), greets(greet, is_demo)
        label = agent_label or (DEMO_LABEL if is_demo else label_for(client))
        super().__init__(
            agent_label=valid(label), is_demo=is_demo, height=css, suggestions=prompts, _panel_id=uuid.uuid4().hex
        )
        self.client = client
        self.convo_id = convo_id or client.new_convo_id()
        self.flush_interval = flush_seconds
        self._replies: list[Reply] = []
        self._forms = PanelForms()
        self._callbacks: list[Callable[[Reply], Any]] = []
        self._feedback_callbacks: list[Callable[[Reply], Any]] = []
        self._ids = 0
        self._tail_seq = 0
        self._turn_lock: asyncio.Lock | None = None
        self._stop_event: asyncio.Event | None = None
        self._saved_copy = SavedCopy(self)
        self._panel = PanelMessages(
            send=lambda text: self._start(text, {}),
            stop=self.stop,
            hello=self._hello,
            new_chat=lambda: None if self._busy() else self.new_conversation(),
            retry=self._ask_again,
            regenerate=lambda answer_id: None if self._busy() else self._ask_again(answer_id, last_only=True),
            edit=self._edit,
            submit_form=self._submit_from_panel,
            feedback=self._feedback,
            export=self._export,
        )
        self.on_msg(self._on_front_end_message)

    @traitlets.validate("height")
    def _check_height(self, proposal: Any) -> str:
        return css_height(proposal["value"])

    # ------------------------------------------------------------------ public API

    @property
    def replies(self) -> list[Reply]:
        """Every Reply of this panel, oldest first, including prompts typed in the panel and
        every version of a regenerated or edited answer."""
        return list(self._replies)

    @property
    def last_reply(self) -> Reply | None:
        return self._replies[-1] if self._replies else None

    @property
    def history(self) -> list[dict[str, Any]]:
        """The transcript as plain dicts (role, text, and for replies status, sources, versions, feedback)."""
        hidden = ("id", "prompt_id")
        return [{k: v for k, v in entry.items() if k not in hidden} for entry in copy.deepcopy(self.transcript)]

    def on_reply(self, callback: Callable[[Reply], Any]) -> None:
        """Call ``callback(reply)`` with each finished Reply (on the IO thread; errors are logged)."""
        if not callable(callback):
            raise ConfigurationError(f"on_reply: expected a function, got {type(callback).__name__}")
        self._callbacks.append(callback)

    def on_feedback(self, callback: Callable[[Reply], Any]) -> None:
        """Call ``callback(reply)`` when the person gives, changes or takes back feedback on a
        reply in the panel (``reply.feedback``, ``reply.feedback_note``); on the IO thread,
        errors are logged."""
        if not callable(callback):
            raise ConfigurationError(f"on_feedback: expected a function, got {type(callback).__name__}")
        self._feedback_callbacks.append(callback)

    def ask(self, prompt: str, **extra: Any) -> Reply:
        """Send a prompt, stream the reply into every view of the panel, return the Reply.

        The kernel's stop button (KeyboardInterrupt) stops the reply; you get it back
        ``stopped``, with the text received so far.
        """
        if _io.on_io_thread():
            raise ConvoError("ask() cannot block inside a reply callback; use ask_async() there")
        return _io.wait(self._start(prompt, extra), self.stop)

    async def ask_async(self, prompt: str, **extra: Any) -> Reply:
        """Like ``ask`` without blocking the event loop."""
        return await _io.wait_async(self._start(prompt, extra), self.stop)

    def submit(self, values: dict[str, Any], *, reply: Reply | None = None) -> Reply:
        """Fill in and send the form (or input) of the latest reply, as its Submit button does.

        ``values`` maps field ids to what to type (see ``forms.form_submission``); ``reply``
        picks an earlier reply still in the panel. The same checks and request as the
        panel's: the panel shows the readable prompt as your message (passwords "(hidden)")
        and the form filled in and read only; returns the agent's answer. Raises
        ``FormError`` when that reply has no form waiting, or a value does not fit
        (``.problems`` names the fields); nothing is sent then.
        """
        if _io.on_io_thread():
            raise ConvoError("submit() cannot block inside a reply callback; use the panel there")
        return _io.wait(self._submit_form(*self._forms.open_form(self.transcript, reply), values), self.stop)

    def stop(self) -> None:
        """Stop the reply that is streaming, if any; its text so far is kept."""

        def stop_now() -> None:
            if self._stop_event is not None:
                self._stop_event.set()

        _io.call_soon(stop_now)

    def new_conversation(self) -> None:
        """Start a new conversation with the agent and empty the panel; ``replies`` stay.

        The turns the client kept to share with this conversation's next reply are let go.
        """
        old, self.convo_id = self.convo_id, self.client.new_convo_id()
        _io.call_soon(self.client.forget, old)
        _io.call_soon(self._reset_panel)

    def clear(self) -> None:
        """Empty the panel and forget ``replies``; the agent still remembers the conversation.

        What the panel held is let go: the replies, and the turns the client kept for them.
        """
        self._replies = []
        _io.call_soon(self.client.forget, self.convo_id)
        _io.call_soon(self._reset_panel)

    def to_json(self, indent: int | None = 2) -> str:
        """The transcript as JSON: agent label, conversation id and messages."""
        return json.dumps(
            {"agent": self.agent_label, "convo_id": self.convo_id, "messages": self.history},
            indent=indent,
            ensure_ascii=False,
        )

    def to_markdown(self) -> str:
        """The transcript as markdown; the agent's HTML is shown as text, never as markup."""
        return transcript_markdown(self.agent_label, list(self.transcript))

    def to_dataframe(self) -> Any:
        """One row per Reply (prompt, text, status, sources, timings, tokens, feedback); needs pandas."""
        rows = [reply_row(r) for r in self._replies]
        return to_dataframe(rows, columns=list(rows[0]) if rows else ["prompt", "text", "status"])

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        closed = "; the panel was closed" if self._panel_closed else ""
        return f"ChatWidget({self.agent_label!r}, {len(self.transcript)} messages{closed})"

    @property
    def _panel_closed(self) -> bool:
        """True after ``close()``: the panel is gone from the front end and cannot be shown again."""
        return self.comm is None

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if self._panel_closed:
            return {"text/plain": repr(self)}, {}
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        return {**data, "text/plain": repr(self)}, metadata

    def _ipython_display_(self) -> None:
        """Show the panel, and under it the conversation's copy for a saved notebook (``_saved_copy``)."""
        from IPython.display import display

        if self._panel_closed:
            display({"text/plain": repr(self)}, raw=True)
            return
        bundle = super()._repr_mimebundle_()
        if bundle is None:
            return
        data, metadata = bundle
        # Written once and never refreshed (that would re-create the views): no message count.
        plain = f"Chat panel with {self.agent_label} (live while the kernel runs; a copy of the conversation follows)"
        display({**data, "text/plain": plain}, metadata=metadata, raw=True)
        self._saved_copy.display()

    # ------------------------------------------------------------------ the front end

    def _on_front_end_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        try:
            self._panel.handle(content)  # checked there; each kind comes back to one method here
        except ConvoError as exc:
            _io.call_soon(self._show_error, str(exc))

    def _busy(self) -> bool:
        return self.status in ("connecting", "streaming")

    def _hello(self) -> None:
        """The panel asks whether the kernel hears it: yes. The first time, greet if asked to."""
        self.send({"type": "welcome"})
        greet, self._greet = self._greet, False  # once per panel: not on a second view or a reload
        if greet and not self._replies and not self.transcript and not self._busy():
            self._start(GREETING_PROMPT, {}, greeting=True)

    def _ask_again(self, answer_id: str, *, last_only: bool = False) -> None:
        """Retry (a failed reply) or Regenerate (the last reply): ask its prompt again.

        The pair leaves the panel and the new answer takes its place, as in ChatGPT,
        carrying the earlier answers as its versions; every Reply stays in ``replies``.
        ``last_only``: only the last message.
        """
        again = asked_again(self.transcript, answer_id, last_only=last_only)
        if again is not None:
            prompt, answer, versions = again
            self._replace_turn(prompt, answer, prompt["text"], versions, self._forms.request_fields(prompt["id"]))

    def _edit(self, prompt_id: str, text: str) -> None:
        """Edit: the latest prompt asked again as ``text``, its answers kept as versions.

        When that prompt is no longer the latest (or a reply is in flight), ``text`` is
        asked as a new prompt instead: what the person typed is never lost.
        """
        edit = None if self._busy() else edited(self.transcript, prompt_id)
        if edit is None:
            self._start(text, {})
        else:
            self._replace_turn(*edit[:2], text, edit[2], {})

    def _replace_turn(
        self, prompt: dict[str, Any], answer: dict[str, Any], text: str, versions: list[Any], extra: dict[str, Any]
    ) -> None:
        request = self.client.make_request(text, self.convo_id, **extra)  # validates before anything changes
        drop = {prompt["id"], answer["id"]}

        def forget_turn() -> None:
            self._replace_transcript([e for e in self.transcript if e.get("id") not in drop])

        _io.call_soon(forget_turn)
        _io.submit(self._exchange(request, versions=versions))

    def _feedback(self, answer_id: str, value: Any, note: Any) -> None:
        """Helpful / Not helpful (and a note) on an answer, or one of its versions.

        The Reply has it at once (a cell run right after the click sees it); the entry
        and the callbacks follow on the IO thread.
        """
        fields, reply = feedback_fields(value, note), self._forms.reply_of(answer_id)
        if fields is None or reply is None:
            return
        reply.feedback, reply.feedback_note = fields["feedback"], valid(fields["feedback_note"])
        _io.call_soon(self._show_feedback, answer_id, reply)

    def _show_feedback(self, answer_id: str, reply: Reply) -> None:
        found = with_feedback(self.transcript, answer_id, reply.feedback, reply.feedback_note)
        if found is not None:
            self._update_entry(*found[:2])
        _call_each(self._feedback_callbacks, reply, "on_feedback")

    def _export(self, fmt: str, request: str) -> None:
        """Export: the conversation's text for the panel to download, as ``to_markdown()``/``to_json()``."""
        texts = {"markdown": self.to_markdown, "json": self.to_json}
        message = export_message(fmt, request, self.agent_label, texts)
        if message is not None:
            self.send(valid(message))

    # ------------------------------------------------------------------ forms and inputs

    def _submit_from_panel(self, entry_id: str, index: int, values: dict[str, Any]) -> None:
        """The panel's Submit: send the form, or answer the panel with what does not fit."""
        try:
            self._submit_form(entry_id, index, values)
        except FormError as exc:  # not saved: the form shows them until it is sent
            problems = exc.problems or {"": str(exc)[:1].upper() + str(exc)[1:] + "."}
            self.send({"type": "form_problems", "id": entry_id, "block": index, "problems": valid(problems)})

    def _submit_form(self, entry_id: str, index: int, values: dict[str, Any]) -> Future[Reply]:
        """Check ``values`` against the block in this kernel's own transcript, show it sent, ask."""
        submission, shown = self._forms.check(self.transcript, entry_id, index, values)
        request = self.client.make_request(submission.prompt, self.convo_id, **submission.extra)
        self._forms.sent(entry_id, index)
        _io.call_soon(self._show_sent, entry_id, index, shown)
        return _io.submit(self._exchange(request))

    def _show_sent(self, entry_id: str, index: int, block: dict[str, Any]) -> None:
        """Put the sent form in its entry (IO thread)."""
        for position, entry in enumerate(self.transcript):
            if entry.get("id") == entry_id:
                self._update_entry(position, PanelForms.with_block(entry, index, valid(block)))
                return

    def _update_entry(self, position: int, entry: dict[str, Any]) -> None:
        """Change one entry (IO thread): in place, sent alone as the tail, the saved copy refreshed later."""
        self.transcript[position] = entry
        self._tail_seq += 1
        self.transcript_tail = {"seq": self._tail_seq, "entries": [entry]}
        self._saved_copy.changed()

    def _show_error(self, message: str) -> None:
        with self.hold_sync():
            self.status = "error"
            self.error = valid(message)

    def _replace_transcript(self, entries: list[dict[str, Any]]) -> None:
        """Send the transcript whole (IO thread); the tail is emptied so no stale one is merged."""
        with self.hold_sync():
            self.transcript = entries
            self.transcript_tail = {}

    def _reset_panel(self) -> None:
        self._forms.forget_answers()
        with self.hold_sync():
            self._replace_transcript([])
            self.pending = {}
            self.stream = {}
            self.error = ""
            self.status = "idle"
        self._saved_copy.changed()

    # ------------------------------------------------------------------ one exchange (IO thread)

    def _next_id(self) -> str:
        self._ids += 1
        return f"m{self._ids}"

    def _start(self, prompt: str, extra: dict[str, Any], *, greeting: bool = False) -> Future[Reply]:
        request = self.client.make_request(prompt, self.convo_id, **extra)  # validates before anything runs
        return _io.submit(self._exchange(request, greeting=greeting))

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
        user = None if greeting else {"id": self._next_id(), "role": "user", "text": valid(request["prompt"])}
        assistant_id = self._next_id()
        if user is not None:
            self._forms.asked(user["id"], request)  # a form's fields, kept for Retry and Regenerate
            if self._forms.request_fields(user["id"]):
                user["form"] = True  # a submitted form: it is sent again whole, never edited as text
        self._stop_event = stop_event = asyncio.Event()
        streamer = TraitStreamer(self, assistant_id, self.flush_interval, valid)
        reply: Reply | None = None
        try:
            with self.hold_sync():
                self.pending = {"assistant_id": assistant_id, **({"user": user} if user else {})}
                self.stream = {}
                self.error = ""
                self.status = "connecting"
            reply = await self.client.exchange(request, on_event=streamer.on_event, stop_event=stop_event)
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
        self._replies.append(reply)
        self._forms.answered(assistant_id, reply)
        self._saved_copy.changed()
        _call_each(self._callbacks, reply, "on_reply")
        return reply

    def _finish(self, user: dict[str, Any] | None, answer_id: str, reply: Reply, extra: dict[str, Any]) -> None:
        """Append the exchange to the transcript and send only it, as the tail; never raises."""
        try:
            answer = answer_entry(answer_id, user["id"] if user else None, reply, extra)
            entries = [user, answer] if user else [answer]
            self._tail_seq += 1
            with self.hold_sync():
                self.transcript.extend(entries)  # in place: the list is not re-sent
                self.transcript_tail = {"seq": self._tail_seq, "entries": entries}
                self.pending = {}
                self.stream = {}
                self.status = "error" if reply.status == "failed" else "idle"
                self.error = ""
                self.last_answer = _last_answer(answer, valid(reply.prompt))
        except Exception:
            log.exception("could not show a reply in the panel")
            self._settle("error")

    def _settle(self, status: str) -> None:
        """Clear what a reply left half-shown; never raises."""
        try:
            with self.hold_sync():
                self.pending = {}
                self.stream = {}
                self.status = status
        except Exception:
            log.debug("could not settle the panel", exc_info=True)
