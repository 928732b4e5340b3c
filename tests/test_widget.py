"""ChatWidget's kernel side, with a recording comm standing in for the browser.

Every message the widget would send to the front end is captured, so the tests can
check what crosses the wire: the streaming budget, the transcript, and no secrets.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html.parser import HTMLParser

import comm
import pytest
from conftest import SECRETS, RecordingComm
from ipykernel.jsonutil import json_clean
from jupyter_client.session import json_packer
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve

from convowidget import ChatWidget, ConfigurationError, ConvoClient, ConvoError, Faults, serve
from convowidget.protocol import ChunkEvent
from convowidget.reply import Reply, ReplyBuilder


@pytest.fixture(autouse=True)
def _record(recording_comm):
    pass


def updates(chat: ChatWidget) -> list[dict]:
    return [m["data"]["state"] for m in chat.comm.sent if m["data"].get("method") == "update"]


def from_front_end(chat: ChatWidget, content: dict) -> None:
    chat._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def kernel_packed(message: dict) -> bytes:
    """A comm message as ipykernel puts it on the wire: json_clean, then the session's packer."""
    return json_packer(json_clean(dict(data=message["data"], comm_id="c")))


class KernelPackingComm(RecordingComm):
    """Packs every message as the kernel does before keeping it, so what the kernel
    would fail to send (a lone surrogate) fails here the same way."""

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        json_packer(json_clean(dict(data=data or {}, comm_id=self.comm_id))).decode("utf-8")
        super().publish_msg(msg_type, data, metadata, buffers, **keys)


@pytest.fixture
def kernel_packing(monkeypatch):
    monkeypatch.setattr(comm, "create_comm", lambda **kwargs: KernelPackingComm(**kwargs))


Answer = Callable[[dict], tuple[list[str | bytes], int]]


class RawServer:
    """A loopback WebSocket server that answers each request with exactly the frames
    ``answer(request)`` gives, then closes with the code it gives; it keeps nothing."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _handle(self, ws: ServerConnection) -> None:
        request = json.loads(await ws.recv())
        frames, code = self.answer(request)
        for frame in frames:
            await ws.send(frame)
        await ws.close(code)

    def __enter__(self) -> RawServer:
        self._thread.start()

        async def start() -> Server:
            return await ws_serve(self._handle, "127.0.0.1", 0, max_size=None)

        self._server = asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/interact"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()
        asyncio.run_coroutine_threadsafe(self._server.wait_closed(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@contextmanager
def displayed() -> Iterator[list[tuple[str, dict, str | None]]]:
    """Record what IPython's display and update_display are given: (kind, bundle, display_id)."""
    import IPython.display

    shown: list[tuple[str, dict, str | None]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            IPython.display, "display", lambda obj, **kw: shown.append(("display", obj, kw.get("display_id")))
        )
        patch.setattr(
            IPython.display, "update_display", lambda obj, **kw: shown.append(("update", obj, kw["display_id"]))
        )
        yield shown


def test_with_nothing_configured_it_talks_to_the_local_demo_agent():
    chat = ChatWidget()
    assert chat.is_demo is True and "demo agent" in chat.agent_label
    reply = chat.ask("How do I install convowidget?")
    assert isinstance(reply, Reply) and reply.status == "complete" and "pip install" in reply.text
    assert chat.replies == [reply] and chat.last_reply is reply
    user, answer = chat.transcript
    assert user == {"id": "m1", "role": "user", "text": "How do I install convowidget?"}
    assert answer["role"] == "assistant" and answer["text"] == reply.text and answer["status"] == "complete"
    assert answer["sources"] == reply.sources and answer["prompt_id"] == "m1"
    assert chat.history[0] == {"role": "user", "text": "How do I install convowidget?"}
    assert (chat.status, chat.pending, chat.stream) == ("idle", {}, {})


def test_a_configured_real_agent_is_never_replaced_by_the_demo(monkeypatch):
    chat = ChatWidget(agent_id="real-agent", region="na")
    assert chat.is_demo is False and chat.client.url == "wss://na-gcp-api.vg-stuff.com/interact"
    monkeypatch.setenv("CONVOCORE_AGENT_ID", "env-agent")
    assert ChatWidget().is_demo is False
    monkeypatch.setenv("CONVOCORE_URL", "ws://example.com/interact")
    with pytest.raises(ConfigurationError, match="wss://"):
        ChatWidget()


def test_conversation_continues_across_asks_and_new_conversation_starts_over():
    chat = ChatWidget()
    first = chat.ask("start")
    second = chat.ask("How does streaming work?")
    assert second.convo_id == first.convo_id and len(second.turns) == 3
    chat.new_conversation()
    third = chat.ask("hello")
    assert third.convo_id != first.convo_id
    wait_for(lambda: len(chat.transcript) == 2)
    assert len(chat.replies) == 3
    chat.clear()
    wait_for(lambda: chat.transcript == [])
    assert chat.replies == [] and chat.last_reply is None


def test_streaming_sends_only_new_text_within_budget_and_rate():
    """100,000 characters in 10,000 chunks: at most 2.5x the size plus 20 KB, <= 60 msgs/s."""
    piece = "abcdefghi "

    def long_reply(request):
        for _ in range(10_000):
            yield piece

    with serve(long_reply, chunk_delay=0) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        chat.comm.sent.clear()
        started = time.perf_counter()
        reply = chat.ask("go")
        seconds = time.perf_counter() - started
    assert reply.status == "complete" and len(reply.text) == 100_000
    sent_bytes = sum(len(json.dumps(m["data"])) for m in chat.comm.sent)
    assert sent_bytes <= 2.5 * 100_000 + 20_000, sent_bytes
    assert len(chat.comm.sent) <= 60 * seconds + 5, (len(chat.comm.sent), seconds)
    deltas = [u["stream"] for u in updates(chat) if u.get("stream")]
    assert len(deltas) >= 2, "the reply should stream in several updates, not arrive at the end"
    text = ""
    for delta in deltas:
        assert delta["offset"] == len(text)
        text += delta["text"]
    assert reply.text.startswith(text)
    assert updates(chat)[-1]["transcript_tail"]["entries"][-1]["text"] == reply.text


def test_nothing_secret_is_synced_displayed_or_saved():
    def echo(request):
        return "Hello there."

    with serve(echo, chunk_delay=0) as server:
        chat = ChatWidget(url=server.url, agent_id="agent", **SECRETS)
        chat.ask("hi")
        chat.ask("again")
    wire = json.dumps([m["data"] for m in chat.comm.sent])
    state = json.dumps(chat.get_state(), default=str)
    bundle = json.dumps(chat._repr_mimebundle_())
    saved = json.dumps(chat._saved_copy.bundles())  # the outputs a saved notebook keeps
    for secret in SECRETS.values():
        for text in (wire, state, bundle, saved, repr(chat), chat.to_json(), chat.to_markdown()):
            assert secret not in text
    assert "Hello there." in wire and "Hello there." in saved  # the checks look at real content


def test_prompts_from_the_panel_land_in_replies_and_stop_works():
    def endless(request):
        if request.prompt == "quick":
            yield "done"
            return
        for i in range(100_000):
            yield f"{i} "

    with serve(endless, chunk_delay=0.002) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        from_front_end(chat, {"type": "send", "text": "quick"})
        wait_for(lambda: len(chat.replies) == 1)
        from_front_end(chat, {"type": "send", "text": "go on forever"})
        wait_for(lambda: chat.status == "streaming")
        from_front_end(chat, {"type": "stop"})
        wait_for(lambda: len(chat.replies) == 2)
    quick, stopped = chat.replies
    assert quick.text == "done" and quick.prompt == "quick"
    assert stopped.status == "stopped" and stopped.text.startswith("0 1 2")
    assert chat.transcript[-1]["status"] == "stopped" and chat.transcript[-1]["text"] == stopped.text
    assert chat.status == "idle"
    from_front_end(chat, {"type": "send", "text": "   "})  # blank: ignored
    from_front_end(chat, {"type": "bogus"})
    from_front_end(chat, "not a dict")
    assert len(chat.replies) == 2


def test_failed_reply_shows_the_error_and_retry_replaces_it():
    with serve(lambda request: "a b c d e", chunk_delay=0, faults=Faults(drop_after=2, times=1)) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        failed = chat.ask("hello")
        assert failed.status == "failed" and failed.text == "a b "
        assert chat.status == "error"
        entry = chat.transcript[-1]
        assert entry["status"] == "failed" and "1006" in entry["error"] and entry["text"] == "a b "
        from_front_end(chat, {"type": "retry", "id": entry["id"]})
        wait_for(lambda: len(chat.replies) == 2)
    wait_for(lambda: chat.status == "idle")
    assert [e["role"] for e in chat.transcript] == ["user", "assistant"]
    assert chat.transcript[0]["text"] == "hello" and chat.transcript[1]["status"] == "complete"
    assert chat.replies[1].text == "a b c d e"


def test_ui_engine_turns_stream_blocks_and_keep_them():
    with serve(chunk_delay=0.1) as server:  # slow enough for snapshots to flush mid-reply
        chat = ChatWidget(url=server.url, agent_id="demo")
        reply = chat.ask("menu")
    snapshots = [u["stream"]["blocks"] for u in updates(chat) if u.get("stream", {}).get("blocks")]
    assert snapshots, "ui_engine snapshots should reach the front end as blocks"
    final = chat.transcript[-1]["blocks"]
    assert [b["kind"] for b in final] == ["text", "choice", "card"]
    assert final[1]["buttons"][0] == {"label": "Streaming", "message": "How does streaming work?"}
    assert reply.text.startswith("Here is what I can show you")


def test_on_reply_callbacks_get_each_reply_and_their_errors_are_contained(caplog):
    chat = ChatWidget()
    got = []
    chat.on_reply(got.append)
    chat.on_reply(lambda reply: 1 / 0)
    reply = chat.ask("start")
    assert got == [reply]
    assert "on_reply callback failed" in caplog.text
    with pytest.raises(ConfigurationError):
        chat.on_reply("nope")


def test_callbacks_cannot_deadlock_by_blocking():
    chat = ChatWidget()
    errors = []

    def blocking_callback(reply):
        try:
            chat.ask("again")
        except Exception as exc:
            errors.append(exc)

    chat.on_reply(blocking_callback)
    chat.ask("start")
    assert "ask_async" in str(errors[0])


def test_waiting_for_a_pending_reply_inside_a_callback_is_refused_not_a_deadlock():
    chat = ChatWidget()
    errors = []

    def waits_for_another_reply(reply):
        try:  # the bound only matters without the refusal: the IO thread would wait on itself
            chat.client.start("again").result(10)
        except Exception as exc:
            errors.append(exc)

    chat.on_reply(waits_for_another_reply)
    chat.ask("start")
    assert [type(error) for error in errors] == [ConvoError]
    assert str(errors[0]) == "PendingReply.result() cannot block inside a reply callback; use ask_async() there"
    assert chat.ask("Hello").status == "complete"  # the IO thread was never stuck
    assert len(errors) == 2


def test_exports_json_markdown_dataframe_and_mime_bundle():
    chat = ChatWidget()
    chat.ask("How do I stop a reply?")
    data = json.loads(chat.to_json())
    assert data["messages"][0]["text"] == "How do I stop a reply?" and data["convo_id"] == chat.convo_id
    markdown = chat.to_markdown()
    assert "**You:**" in markdown and "Stop" in markdown and "Sources:" in markdown
    frame = chat.to_dataframe()
    assert list(frame["prompt"]) == ["How do I stop a reply?"] and frame["status"][0] == "complete"
    assert frame["output_tokens"][0] > 0
    bundle, _ = chat._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "ChatWidget('Local demo agent (embedded server)', 2 messages)"
    assert set(bundle) == {"application/vnd.jupyter.widget-view+json", "text/plain"}  # no second copy


def test_bad_arguments_raise_before_anything_runs():
    chat = ChatWidget()
    with pytest.raises(ConfigurationError, match="prompt"):
        chat.ask("  ")
    with pytest.raises(ConfigurationError, match="client"):
        ChatWidget(client=chat.client, agent_id="x")
    with pytest.raises(ConfigurationError, match="flush_interval"):
        ChatWidget(flush_interval=0)
    assert chat.replies == []


def test_label_says_where_the_agent_is():
    with serve(lambda request: "hi", chunk_delay=0) as server:
        chat = ChatWidget(url=server.url, agent_id="mine")
        assert chat.agent_label == f"Agent mine · {server.url}" and chat.is_demo is False
    assert ChatWidget(agent_id="a", region="na").agent_label == "Convocore agent · na"
    assert ChatWidget(agent_id="a", agent_label="Support bot").agent_label == "Support bot"


def test_real_agent_settings_without_an_agent_id_are_an_error_not_the_demo(monkeypatch):
    with pytest.raises(ConfigurationError, match="owner_id given but no agent id"):
        ChatWidget(owner_id="someone")
    monkeypatch.setenv("CONVOCORE_TOKEN", "t")
    with pytest.raises(ConfigurationError, match="token given but no agent id"):
        ChatWidget()


def test_a_slow_long_reply_sends_few_updates_once_past_the_eager_start():
    """After the first updates, each one must carry enough text to pay for itself."""
    from convowidget._streaming import EAGER_UPDATES, MAX_WAIT, MIN_CHARS

    def trickle(request):
        for _ in range(3_000):
            yield "abcdefghi "

    with serve(trickle, chunk_delay=0.001) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"), flush_interval=0.005)
        chat.comm.sent.clear()
        reply = chat.ask("go")
    deltas = [u["stream"] for u in updates(chat) if u.get("stream", {}).get("text")]
    allowed = EAGER_UPDATES + len(reply.text) / MIN_CHARS + reply.elapsed / MAX_WAIT + 2
    assert len(deltas) <= allowed, (len(deltas), allowed)
    assert "".join(d["text"] for d in deltas) == reply.text[: sum(len(d["text"]) for d in deltas)]
    late = deltas[EAGER_UPDATES:-1]
    assert late and min(len(d["text"]) for d in late) >= MIN_CHARS - 10


# ---------------------------------------------------------------------- the panel always recovers


def test_an_emoji_split_across_two_chunks_arrives_whole_and_every_later_ask_works(kernel_packing):
    """A server slicing text by UTF-16 code units sends "\\ud83d" then "\\ude00" (as JSON escapes)."""

    def halves(request):
        if request.prompt == "emoji":
            yield "smile "
            yield {"type": "chunk", "chunk": "\ud83d"}
            yield {"type": "chunk", "chunk": "\ude00"}
            yield {"type": "chunk", "chunk": " and a lone \udc00 half"}
        else:
            yield "still here"

    with serve(halves, chunk_delay=0.01) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        reply = chat.ask("emoji")
        later = [chat.ask("again"), chat.ask("and again")]
    assert reply.text == "smile \U0001f600 and a lone \ufffd half"
    assert chat.transcript[1]["text"] == reply.text
    assert [(r.status, r.text) for r in later] == [("complete", "still here")] * 2
    assert (chat.status, chat.pending, chat.stream) == ("idle", {}, {})
    packed = [kernel_packed(m).decode("utf-8") for m in chat.comm.sent]  # strict: valid UTF-8
    assert any("\U0001f600" in text for text in packed)


@pytest.mark.timeout(60)
def test_system_exit_in_an_on_reply_callback_leaves_the_io_thread_and_the_panel_working(caplog):
    chat = ChatWidget()
    chat.on_reply(lambda reply: sys.exit(3))
    first = chat.ask("start")
    second = chat.ask("How do I stop a reply?")
    assert first.status == second.status == "complete"
    assert "on_reply callback failed" in caplog.text
    assert [e["role"] for e in chat.transcript] == ["user", "assistant"] * 2
    assert (chat.status, chat.pending, chat.stream) == ("idle", {}, {})


class _BrokenClient(ConvoClient):
    """A client whose exchange breaks after some text arrived (the contract says it never does)."""

    async def exchange(self, request, *, on_event=None, **options):
        if request["prompt"] == "break":
            builder = ReplyBuilder("break", request["convoId"])
            on_event(builder.feed(ChunkEvent("partial ", 0)), builder)
            raise RuntimeError("boom")
        return await super().exchange(request, on_event=on_event, **options)


def test_an_exchange_that_raises_fails_the_reply_keeps_the_text_and_the_panel_recovers():
    with serve(lambda request: "fine", chunk_delay=0) as server:
        chat = ChatWidget(client=_BrokenClient(url=server.url, agent_id="x"))
        broken = chat.ask("break")
        assert (chat.status, chat.pending, chat.stream) == ("error", {}, {})
        fine = chat.ask("next")
    assert broken.status == "failed" and broken.text == "partial " and "RuntimeError" in broken.error
    assert chat.transcript[1]["status"] == "failed" and chat.transcript[1]["text"] == "partial "
    assert fine.status == "complete" and fine.text == "fine"
    assert (chat.status, chat.pending, chat.stream) == ("idle", {}, {})


@pytest.mark.parametrize(
    "options",
    [
        {"client": "x"},
        {"client": object()},
        {"convo_id": 5},
        {"convo_id": "  "},
        {"flush_interval": float("nan")},
        {"flush_interval": float("inf")},
        {"flush_interval": "0.1"},
        {"flush_interval": True},
        {"flush_interval": None},
        {"agent_label": 3},
    ],
    ids=repr,
)
def test_bad_options_raise_configuration_error_when_given(options):
    with pytest.raises(ConfigurationError, match=next(iter(options))):
        ChatWidget(**options)


# ---------------------------------------------------------------------- exports are inert

VECTORS = """Hello <img src=x onerror=alert(1)> and <svg onload=alert(2)><circle r=5></circle></svg>
<script>alert(3)</script> <iframe src="javascript:alert(4)"></iframe>
<a href="javascript:alert(5)">raw link</a> [md link](javascript:alert(6)) ![pic](javascript:alert(7))
[ref link][r] and [good](https://example.com/docs?a=1&b=2) and `<b>code span</b>` and `plain`

[r]: javascript:alert(8)

```html
<div class="x">kept as code</div>
```
"""


class _Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's parser would see them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str, allowed: set[str]) -> None:
    for tag, attrs in _Elements(html).tags:
        assert tag in allowed, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src"):
            assert not (attrs.get(name) or "").strip().lower().startswith(("javascript", "data")), (tag, attrs)


def test_every_export_shows_the_agents_html_as_text_and_runs_nothing():
    with serve(lambda request: VECTORS, chunk_delay=0) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        with displayed() as shown:
            chat._ipython_display_()
        chat.ask("show me <b>tags</b>")
    # the copy a saved notebook keeps: the agent's HTML as text (tests/test_saved_copy.py has more)
    copy = "".join(bundle["text/html"] for bundle in chat._saved_copy.bundles())
    assert "&lt;img src=x onerror=alert(1)&gt;" in copy and "show me &lt;b&gt;" in copy and "<img" not in copy
    # to_markdown(), rendered by nbconvert's markdown renderer
    markdown = chat.to_markdown()
    rendered = markdown2html_mistune(markdown)
    assert_inert(rendered, {"p", "strong", "blockquote", "a", "code", "div", "pre", "span"})
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered  # shown, as text
    assert "<code>&lt;b&gt;code span&lt;/b&gt;</code>" in rendered and "<code>plain</code>" in rendered
    assert "kept as code" in rendered and "&lt;/" in rendered.split("kept as code")[1][:40]
    assert '<a href="https://example.com/docs?a=1&amp;b=2">good</a>' in rendered  # safe links still work
    assert "[md link](javascript:alert(6))" in rendered  # a script link shows as its text
    # the panel's own output: the widget view and a one-line text; then the copy, in plain HTML
    (_, panel, _), (_, header, display_id), *pages = shown
    assert set(panel) == {"application/vnd.jupyter.widget-view+json", "text/plain"} and display_id
    assert all(set(bundle) <= {"text/html", "text/plain"} for _, bundle, _ in [(None, header, None), *pages])


def test_a_turn_appends_in_place_and_sends_only_the_new_messages():
    with serve(lambda request: "x" * 2000, chunk_delay=0) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        sizes = []
        for i in range(30):
            chat.comm.sent.clear()
            chat.ask(f"turn {i}")
            sizes.append(sum(len(kernel_packed(m)) for m in chat.comm.sent))
            tails = [u["transcript_tail"] for u in updates(chat) if "transcript_tail" in u]
            assert not any("transcript" in u for u in updates(chat)), "the whole transcript was re-sent"
            assert tails == [{"seq": i + 1, "entries": chat.transcript[-2:]}]
    assert sizes[-1] < 1.2 * sizes[0], sizes
    state = chat.get_state()  # what a late view, a page reload or saved widget state gets
    assert len(state["transcript"]) == 60 and state["transcript"][-1]["text"] == "x" * 2000
    chat.clear()
    wait_for(lambda: chat.transcript == [])
    assert updates(chat)[-1]["transcript"] == [] and updates(chat)[-1]["transcript_tail"] == {}


# ---------------------------------------------------------------------- memory


def _big_history(request):
    """One short reply, with a history of about 4 MB that nothing else keeps."""
    text = "y" * 4000
    history = [
        {"from": "bot", "messages": [{"item": {"type": "text", "payload": {"message": f"{i}{text}"}}}]}
        for i in range(1000)
    ]
    frames = [json.dumps({"type": "chunk", "chunk": "ok"}), json.dumps({"type": "sync_chat_history", "turns": history})]
    return frames, 1000


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@pytest.mark.parametrize("how", ["clear", "new_conversation then clear"])
def test_clear_and_new_conversation_release_what_they_drop(how):
    with RawServer(_big_history) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        chat.ask("warm up")  # imports and first-use caches are not what is measured
        chat.clear()
        wait_for(lambda: chat.transcript == [])
        tracemalloc.start()
        try:
            base = _traced()
            chat.ask("big")
            held = _traced() - base
            if how != "clear":
                chat.new_conversation()
            chat.clear()
            wait_for(lambda: chat.transcript == [] and chat.replies == [])
            time.sleep(0.2)
            left = _traced() - base
        finally:
            tracemalloc.stop()
    assert held > 3_000_000, held
    assert left < 0.1 * held, (left, held)


def custom_messages(chat: ChatWidget) -> list[dict]:
    return [m["data"]["content"] for m in chat.comm.sent if m["data"].get("method") == "custom"]


def test_the_kernel_answers_the_panels_hello_so_the_panel_knows_it_is_live():
    chat = ChatWidget()
    chat.comm.sent.clear()
    from_front_end(chat, {"type": "hello"})
    assert custom_messages(chat) == [{"type": "welcome"}]


def test_new_chat_from_the_panel_starts_a_new_conversation_but_not_while_a_reply_streams():
    def agent(request):
        if request.prompt == "endless":
            for i in range(100_000):
                yield f"{i} "
        else:
            yield f"you said {request.prompt}"

    with serve(agent, chunk_delay=0.002) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        first = chat.ask("hello")
        old = chat.convo_id
        from_front_end(chat, {"type": "send", "text": "endless"})
        wait_for(lambda: chat.status == "streaming")
        from_front_end(chat, {"type": "new_chat"})  # ignored: the panel offers no New chat while busy
        assert chat.convo_id == old
        from_front_end(chat, {"type": "stop"})
        wait_for(lambda: len(chat.replies) == 2 and chat.status == "idle")
        from_front_end(chat, {"type": "new_chat"})
        wait_for(lambda: chat.transcript == [])
        assert chat.convo_id != old and chat.replies[0] is first and len(chat.replies) == 2
        third = chat.ask("again")
    assert third.convo_id == chat.convo_id != first.convo_id
    assert [e["text"] for e in chat.transcript] == ["again", "you said again"]


def test_regenerate_asks_the_last_prompt_again_and_the_new_answer_takes_its_place():
    count = iter(range(1, 100))

    with serve(lambda request: f"answer {next(count)} to {request.prompt}", chunk_delay=0) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        chat.ask("first")
        chat.ask("second")
        not_last = chat.transcript[1]["id"]
        from_front_end(chat, {"type": "regenerate", "id": not_last})  # only the last reply: ignored
        from_front_end(chat, {"type": "regenerate", "id": chat.transcript[-1]["id"]})
        wait_for(lambda: len(chat.replies) == 3)
        chat.ask("third")
    texts = [e["text"] for e in chat.transcript]
    assert texts == ["first", "answer 1 to first", "second", "answer 3 to second", "third", "answer 4 to third"]
    # like ChatGPT, the panel shows the new answer in place; Python keeps every Reply
    assert [r.text for r in chat.replies] == [
        "answer 1 to first", "answer 2 to second", "answer 3 to second", "answer 4 to third",
    ]  # fmt: skip
