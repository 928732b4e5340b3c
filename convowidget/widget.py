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
import dataclasses
import json
import logging
import os
import pathlib
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import anywidget
import traitlets

from . import _io
from ._dataframe import to_dataframe
from ._options import seconds
from ._panel_forms import PanelForms
from ._saved_copy import SavedCopy
from ._streaming import TraitStreamer
from ._urls import safe_url
from .client import ConvoClient
from .errors import ConfigurationError, ConvoError, FormError
from .protocol import fix_surrogates, has_lone_surrogate, region_info
from .reply import Reply, ReplyBuilder
from .reply_view import reply_view
from .transcript import transcript_markdown
from .turns import turn_blocks

__all__ = ["ChatWidget"]

log = logging.getLogger("convowidget.widget")
_STATIC = pathlib.Path(__file__).parent / "static"
_AGENT_SETTINGS = ("agent_id", "url")
_REAL_AGENT_SETTINGS = ("owner_id", "user_id", "token", "region")
_demo_lock = threading.Lock()
_demo_server: Any = None


def _demo_url() -> str:
    """The URL of this kernel's shared embedded demo server, started on first use."""
    global _demo_server
    shared = os.environ.get("CONVOWIDGET_DEMO_URL")  # set by `convowidget demo`
    if shared:
        return shared
    with _demo_lock:
        if _demo_server is None:
            from .server import serve

            _demo_server = serve().start()
        return str(_demo_server.url)


def _setting(kwargs: dict[str, Any], name: str) -> Any:
    return kwargs.get(name) if kwargs.get(name) is not None else os.environ.get(f"CONVOCORE_{name.upper()}") or None


def _agent_configured(kwargs: dict[str, Any]) -> bool:
    """True when the caller points at an agent; False means the demo may answer.

    Settings that only make sense for a real agent, given without one, are an error:
    a real agent is never silently replaced by the demo.
    """
    if any(_setting(kwargs, name) for name in _AGENT_SETTINGS):
        return True
    stray = [name for name in _REAL_AGENT_SETTINGS if _setting(kwargs, name)]
    if stray:
        raise ConfigurationError(
            f"{', '.join(stray)} given but no agent id: pass agent_id=... or set CONVOCORE_AGENT_ID "
            "(with nothing configured, ChatWidget() talks to the local demo agent)"
        )
    return False


def _valid(value: Any) -> Any:
    """``value`` with every string made encodable as UTF-8 (a lone surrogate becomes U+FFFD).

    Whatever a reply carries, nothing that can fail to encode reaches a trait, so a comm
    message, the kernel's JSON packer or a saved notebook never chokes on it.
    """
    if isinstance(value, str):
        return fix_surrogates(value) if has_lone_surrogate(value) else value
    if isinstance(value, dict):
        return {_valid(k): _valid(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid(v) for v in value]
    return value


def _label(client: ConvoClient) -> str:
    if client.url == region_info(client.region).url:
        return f"Convocore agent · {client.region}"
    return f"Agent {client.agent_id} · {safe_url(client.url)}"


class ChatWidget(anywidget.AnyWidget):
    """A chat panel with a Convocore agent; every reply is also kept as a ``Reply``.

    Takes the same keywords and environment variables as ``ConvoClient``, or a ready
    ``client=``. With no agent configured anywhere it talks to the local demo agent of
    an embedded server, and says so in the panel.
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
    # Every view gets a fresh proxy of the model, so the front end keys its shared
    # per-panel state (text streamed so far) by this id.
    _panel_id = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        client: ConvoClient | None = None,
        *,
        convo_id: str | None = None,
        agent_label: str | None = None,
        flush_interval: float = 0.05,
        **client_options: Any,
    ) -> None:
        if client is not None and not isinstance(client, ConvoClient):
            raise ConfigurationError(f"client: expected a ConvoClient, got {type(client).__name__}")
        if convo_id is not None and (not isinstance(convo_id, str) or not convo_id.strip()):
            raise ConfigurationError(f"convo_id: expected a non-empty string, got {convo_id!r}")
        if agent_label is not None and not isinstance(agent_label, str):
            raise ConfigurationError(f"agent_label: expected a string, got {type(agent_label).__name__}")
        flush_seconds = seconds("flush_interval", flush_interval, most=5, wanted="seconds between 0 and 5")
        is_demo = False
        if client is None:
            if not _agent_configured(client_options):
                client_options = {**client_options, "url": _demo_url(), "agent_id": "demo"}
                is_demo = True
            client = ConvoClient(**client_options)
        elif client_options:
            raise ConfigurationError("pass either client= or client keywords, not both")
        label = agent_label or ("Local demo agent (embedded server)" if is_demo else _label(client))
        super().__init__(agent_label=_valid(label), is_demo=is_demo, _panel_id=uuid.uuid4().hex)
        self.client = client
        self.convo_id = convo_id or client.new_convo_id()
        self.flush_interval = flush_seconds
        self._replies: list[Reply] = []
        self._forms = PanelForms()
        self._callbacks: list[Callable[[Reply], Any]] = []
        self._ids = 0
        self._tail_seq = 0
        self._turn_lock: asyncio.Lock | None = None
        self._stop_event: asyncio.Event | None = None
        self._saved_copy = SavedCopy(self)
        self.on_msg(self._on_front_end_message)

    # ------------------------------------------------------------------ public API

    @property
    def replies(self) -> list[Reply]:
        """Every Reply of this panel, oldest first, including prompts typed in the panel."""
        return list(self._replies)

    @property
    def last_reply(self) -> Reply | None:
        return self._replies[-1] if self._replies else None

    @property
    def history(self) -> list[dict[str, Any]]:
        """The transcript as plain dicts (role, text, and for replies status and sources)."""
        hidden = ("id", "prompt_id")
        return [{k: v for k, v in entry.items() if k not in hidden} for entry in copy.deepcopy(self.transcript)]

    def on_reply(self, callback: Callable[[Reply], Any]) -> None:
        """Call ``callback(reply)`` with each finished Reply (on the IO thread; errors are logged)."""
        if not callable(callback):
            raise ConfigurationError(f"on_reply: expected a function, got {type(callback).__name__}")
        self._callbacks.append(callback)

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
        """One row per Reply (prompt, text, status, sources, timings, tokens); needs pandas."""
        rows = [
            {
                "prompt": r.prompt,
                "text": r.text,
                "status": r.status,
                "error": r.error,
                "sources": list(r.sources),
                "handoff": r.handoff,
                "time_to_first_chunk": r.time_to_first_chunk,
                "elapsed": r.elapsed,
                "input_tokens": r.input_tokens,
                "output_tokens": r.output_tokens,
                "llm_used": r.metadata.get("llmUsed"),
                "model": r.model,
                "tool_calls": [dataclasses.asdict(call) for call in r.tool_calls],
                "convo_id": r.convo_id,
            }
            for r in self._replies
        ]
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
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        try:
            if kind == "send" and isinstance(content.get("text"), str) and content["text"].strip():
                self._start(content["text"], {})
            elif kind == "stop":
                self.stop()
            elif kind == "hello":  # the panel asks whether the kernel hears it: yes
                self.send({"type": "welcome"})
            elif kind == "new_chat" and not self._busy():
                self.new_conversation()
            elif kind == "retry" and isinstance(content.get("id"), str):
                self._ask_again(content["id"])
            elif kind == "regenerate" and isinstance(content.get("id"), str) and not self._busy():
                self._ask_again(content["id"], last_only=True)
            elif kind == "submit_form":
                self._submit_from_panel(content)
        except ConvoError as exc:
            _io.call_soon(self._show_error, str(exc))

    def _busy(self) -> bool:
        return self.status in ("connecting", "streaming")

    def _ask_again(self, message_id: str, *, last_only: bool = False) -> None:
        """Retry (a failed reply) or Regenerate (the last reply): ask its prompt again.

        The pair leaves the panel and the new answer takes its place, as in ChatGPT;
        the earlier Reply stays in ``replies``. ``last_only``: only the last message.
        """
        entries = self.transcript
        if last_only and (not entries or entries[-1].get("id") != message_id):
            return
        answer = next((e for e in entries if e.get("id") == message_id and e.get("role") == "assistant"), None)
        if answer is None:
            return
        prompt = next((e["text"] for e in entries if e.get("id") == answer.get("prompt_id")), None)
        if prompt is None:
            return
        drop = {message_id, answer.get("prompt_id")}

        def forget_answer() -> None:
            self._replace_transcript([e for e in self.transcript if e.get("id") not in drop])

        _io.call_soon(forget_answer)
        self._start(prompt, self._forms.request_fields(answer.get("prompt_id")))  # a form is sent again whole

    # ------------------------------------------------------------------ forms and inputs

    def _submit_from_panel(self, content: dict[str, Any]) -> None:
        """The panel's Submit: send the form, or answer the panel with what does not fit."""
        entry_id, index, values = content.get("id"), content.get("block"), content.get("values")
        if not isinstance(entry_id, str) or type(index) is not int or not isinstance(values, dict):
            return
        try:
            self._submit_form(entry_id, index, values)
        except FormError as exc:  # not saved: the form shows them until it is sent
            problems = exc.problems or {"": str(exc)[:1].upper() + str(exc)[1:] + "."}
            self.send({"type": "form_problems", "id": entry_id, "block": index, "problems": _valid(problems)})

    def _submit_form(self, entry_id: str, index: int, values: dict[str, Any]) -> Future[Reply]:
        """Check ``values`` against the block in this kernel's own transcript, show it sent, ask."""
        submission, shown = self._forms.check(self.transcript, entry_id, index, values)
        request = self.client.make_request(submission.prompt, self.convo_id, **submission.extra)
        self._forms.sent(entry_id, index)
        _io.call_soon(self._show_sent, entry_id, index, shown)
        return _io.submit(self._exchange(request))

    def _show_sent(self, entry_id: str, index: int, block: dict[str, Any]) -> None:
        """Put the sent form in its entry (IO thread): changed in place, sent alone as the tail."""
        for position, entry in enumerate(self.transcript):
            if entry.get("id") == entry_id:
                self.transcript[position] = updated = PanelForms.with_block(entry, index, _valid(block))
                self._tail_seq += 1
                self.transcript_tail = {"seq": self._tail_seq, "entries": [updated]}
                self._saved_copy.changed()
                return

    def _show_error(self, message: str) -> None:
        with self.hold_sync():
            self.status = "error"
            self.error = _valid(message)

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

    def _start(self, prompt: str, extra: dict[str, Any]) -> Future[Reply]:
        request = self.client.make_request(prompt, self.convo_id, **extra)  # validates before anything runs
        return _io.submit(self._exchange(request))

    async def _exchange(self, request: dict[str, Any]) -> Reply:
        if self._turn_lock is None:
            self._turn_lock = asyncio.Lock()
        async with self._turn_lock:  # one reply at a time per panel, in the order asked
            return await self._exchange_now(request)

    async def _exchange_now(self, request: dict[str, Any]) -> Reply:
        """One exchange; whatever happens in it, the panel ends idle (or error) and usable."""
        user = {"id": self._next_id(), "role": "user", "text": _valid(request["prompt"])}
        assistant_id = self._next_id()
        self._forms.asked(user["id"], request)  # a form's fields, kept for Retry and Regenerate
        self._stop_event = stop_event = asyncio.Event()
        streamer = TraitStreamer(self, assistant_id, self.flush_interval, _valid)
        reply: Reply | None = None
        try:
            with self.hold_sync():
                self.pending = {"user": user, "assistant_id": assistant_id}
                self.stream = {}
                self.error = ""
                self.status = "connecting"
            reply = await self.client.exchange(request, on_event=streamer.on_event, stop_event=stop_event)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the client never raises for a reply; if it did, keep the text
            log.debug("an exchange ended on %s", type(exc).__name__, exc_info=True)
            reply = _failed_reply(request, streamer.builder, exc)
        finally:
            streamer.close()
            self._stop_event = None
            if reply is None:  # cancelled: leave the panel usable all the same
                self._settle("idle")
        self._finish(user, assistant_id, reply)
        self._replies.append(reply)
        self._forms.answered(assistant_id, reply)
        self._saved_copy.changed()
        for callback in list(self._callbacks):
            try:
                callback(reply)
            except BaseException:  # even SystemExit: a callback must not take the IO thread down
                log.exception("an on_reply callback failed")
        return reply

    def _finish(self, user: dict[str, Any], assistant_id: str, reply: Reply) -> None:
        """Append the exchange to the transcript and send only it, as the tail; never raises."""
        try:
            answer = {
                "id": assistant_id,
                "role": "assistant",
                "text": _valid(reply.text),
                "status": reply.status,
                "error": _valid(reply.error),
                "sources": _valid([str(s) for s in reply.sources]),
                "handoff": bool(reply.handoff),
                "blocks": _valid(turn_blocks(reply.ui_turn)) if reply.ui_turn is not None else [],
                "prompt_id": user["id"],
                **_valid(reply_view(reply)),  # tool calls, actions, usage, titled sources, blocks_first
            }
            self._tail_seq += 1
            with self.hold_sync():
                self.transcript.extend((user, answer))  # in place: the list is not re-sent
                self.transcript_tail = {"seq": self._tail_seq, "entries": [user, answer]}
                self.pending = {}
                self.stream = {}
                self.status = "error" if reply.status == "failed" else "idle"
                self.error = ""
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


def _failed_reply(request: dict[str, Any], builder: ReplyBuilder | None, exc: BaseException) -> Reply:
    error = f"the reply ended on an unexpected {type(exc).__name__}; the text so far is kept"
    if builder is None:
        return Reply(prompt=request["prompt"], convo_id=request["convoId"], status="failed", error=error)
    return builder.finish("failed", error)
