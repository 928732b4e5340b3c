"""ChatWidget: the notebook chat panel, an anywidget model over ConvoClient.

Data flows one way: frame -> event -> reply -> trait -> DOM. The client's IO thread
makes every trait write. While a reply streams only new text is sent (``stream``,
see ``_streaming``); the finished message goes into ``transcript`` once.
"""

from __future__ import annotations

import asyncio
import copy
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
from ._streaming import TraitStreamer
from .client import ConvoClient, safe_url
from .errors import ConfigurationError, ConvoError
from .protocol import region_info
from .reply import Reply
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


def _label(client: ConvoClient) -> str:
    if client.url == region_info(client.region).url:
        return f"Convocore agent · {client.region}"
    return f"Agent {client.agent_id} · {safe_url(client.url)}"


class SavedTranscript(anywidget.AnyWidget):
    """An invisible widget: its output carries the transcript as markdown.

    JupyterLab shows this (empty) widget; GitHub and nbviewer, which cannot run
    widgets, show the markdown beside it instead.
    """

    _esm = "export default { render({ el }) { el.hidden = true; } };"


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
    transcript = traitlets.List(traitlets.Dict()).tag(sync=True)
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
        is_demo = False
        if client is None:
            if not _agent_configured(client_options):
                client_options = {**client_options, "url": _demo_url(), "agent_id": "demo"}
                is_demo = True
            client = ConvoClient(**client_options)
        elif client_options:
            raise ConfigurationError("pass either client= or client keywords, not both")
        if not isinstance(flush_interval, (int, float)) or not 0 < flush_interval <= 5:
            raise ConfigurationError(f"flush_interval: expected seconds between 0 and 5, got {flush_interval!r}")
        label = agent_label or ("Local demo agent (embedded server)" if is_demo else _label(client))
        super().__init__(agent_label=label, is_demo=is_demo, _panel_id=uuid.uuid4().hex)
        self.client = client
        self.convo_id = convo_id or client.new_convo_id()
        self.flush_interval = float(flush_interval)
        self._replies: list[Reply] = []
        self._callbacks: list[Callable[[Reply], Any]] = []
        self._ids = 0
        self._turn_lock: asyncio.Lock | None = None
        self._stop_event: asyncio.Event | None = None
        self._display_id = f"convowidget-{uuid.uuid4().hex}"
        self._copy_widget: SavedTranscript | None = None
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

    def stop(self) -> None:
        """Stop the reply that is streaming, if any; its text so far is kept."""

        def stop_now() -> None:
            if self._stop_event is not None:
                self._stop_event.set()

        _io.call_soon(stop_now)

    def new_conversation(self) -> None:
        """Start a new conversation with the agent and empty the panel; ``replies`` stay."""
        self.convo_id = self.client.new_convo_id()
        _io.call_soon(self._reset_panel)

    def clear(self) -> None:
        """Empty the panel and forget ``replies``; the agent still remembers the conversation."""
        self._replies = []
        _io.call_soon(self._reset_panel)

    def to_json(self, indent: int | None = 2) -> str:
        """The transcript as JSON: agent label, conversation id and messages."""
        return json.dumps(
            {"agent": self.agent_label, "convo_id": self.convo_id, "messages": self.history},
            indent=indent,
            ensure_ascii=False,
        )

    def to_markdown(self) -> str:
        """The transcript as markdown, the same text a saved notebook shows."""
        return transcript_markdown(self.agent_label, self.transcript)

    def to_dataframe(self) -> Any:
        """One row per Reply (prompt, text, status, sources, timings, tokens); needs pandas."""
        try:
            import pandas as pd
        except ImportError:
            raise ConvoError("to_dataframe() needs pandas: pip install 'convowidget[pandas]'") from None
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
                "input_tokens": r.metadata.get("inputTokens"),
                "output_tokens": r.metadata.get("outputTokens"),
                "llm_used": r.metadata.get("llmUsed"),
                "convo_id": r.convo_id,
            }
            for r in self._replies
        ]
        return pd.DataFrame(rows, columns=list(rows[0]) if rows else ["prompt", "text", "status"])

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        return f"ChatWidget({self.agent_label!r}, {len(self.transcript)} messages)"

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        return {**data, "text/plain": repr(self), "text/markdown": self.to_markdown()}, metadata

    def _ipython_display_(self) -> None:
        """Show the panel, and under it the transcript's copy for GitHub and nbviewer.

        Refreshing an output re-creates its widget views (ipywidgets' renderer starts
        over), which would cost the panel its scroll position, draft and focus. So the
        markdown that a saved notebook shows lives in an output of its own, beside an
        invisible widget, and only that output is refreshed as the chat goes on.
        """
        from IPython.display import display

        bundle = super()._repr_mimebundle_()
        if bundle is None:
            return
        data, metadata = bundle
        display({**data, "text/plain": repr(self)}, metadata=metadata, raw=True)
        display(self._saved_copy(), raw=True, display_id=self._display_id)

    def _saved_copy(self) -> dict[str, Any]:
        if self._copy_widget is None:
            self._copy_widget = SavedTranscript()
        bundle = self._copy_widget._repr_mimebundle_()
        view = bundle[0] if bundle is not None else {}
        markdown = self.to_markdown()
        return {**view, "text/markdown": markdown, "text/plain": markdown}

    def _refresh_saved_transcript(self) -> None:
        """Update the transcript's copy under every displayed panel, for a saved notebook."""
        if self._copy_widget is None:
            return  # never displayed
        try:
            from IPython.display import update_display

            update_display(self._saved_copy(), raw=True, display_id=self._display_id)
        except Exception:  # the saved copy is a nicety; never let it break a reply
            log.debug("could not update the saved transcript", exc_info=True)

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
            elif kind == "retry" and isinstance(content.get("id"), str):
                self._retry(content["id"])
        except ConvoError as exc:
            _io.call_soon(self._show_error, str(exc))

    def _retry(self, message_id: str) -> None:
        entries = self.transcript
        failed = next((e for e in entries if e.get("id") == message_id and e.get("role") == "assistant"), None)
        if failed is None:
            return
        prompt = next((e["text"] for e in entries if e.get("id") == failed.get("prompt_id")), None)
        if prompt is None:
            return
        drop = {message_id, failed.get("prompt_id")}

        def forget_failed() -> None:
            self.transcript = [e for e in self.transcript if e.get("id") not in drop]

        _io.call_soon(forget_failed)
        self._start(prompt, {})

    def _show_error(self, message: str) -> None:
        with self.hold_sync():
            self.status = "error"
            self.error = message

    def _reset_panel(self) -> None:
        with self.hold_sync():
            self.transcript = []
            self.pending = {}
            self.stream = {}
            self.error = ""
            self.status = "idle"
        self._refresh_saved_transcript()

    # ------------------------------------------------------------------ one exchange (IO thread)

    def _next_id(self) -> str:
        self._ids += 1
        return f"m{self._ids}"

    def _start(self, prompt: str, extra: dict[str, Any]) -> Future[Reply]:
        request = self.client._request(prompt, self.convo_id, extra)  # validates before anything runs
        return _io.submit(self._exchange(request))

    async def _exchange(self, request: dict[str, Any]) -> Reply:
        if self._turn_lock is None:
            self._turn_lock = asyncio.Lock()
        async with self._turn_lock:  # one reply at a time per panel, in the order asked
            return await self._exchange_now(request)

    async def _exchange_now(self, request: dict[str, Any]) -> Reply:
        user = {"id": self._next_id(), "role": "user", "text": request["prompt"]}
        assistant_id = self._next_id()
        self._stop_event = stop_event = asyncio.Event()
        streamer = TraitStreamer(self, assistant_id, self.flush_interval)
        with self.hold_sync():
            self.pending = {"user": user, "assistant_id": assistant_id}
            self.stream = {}
            self.error = ""
            self.status = "connecting"
        try:
            reply = await self.client._exchange(request, stop_event, streamer.on_event)
        finally:
            streamer.close()
            self._stop_event = None
        answer = {
            "id": assistant_id,
            "role": "assistant",
            "text": reply.text,
            "status": reply.status,
            "error": reply.error,
            "sources": list(reply.sources),
            "handoff": reply.handoff,
            "blocks": turn_blocks(reply.ui_turn) if reply.ui_turn is not None else [],
            "prompt_id": user["id"],
        }
        with self.hold_sync():
            self.transcript = [*self.transcript, user, answer]
            self.pending = {}
            self.stream = {}
            self.status = "error" if reply.status == "failed" else "idle"
            self.error = ""
        self._replies.append(reply)
        self._refresh_saved_transcript()
        for callback in list(self._callbacks):
            try:
                callback(reply)
            except Exception:
                log.exception("an on_reply callback failed")
        return reply
