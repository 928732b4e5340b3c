"""The client against the real embedded server on loopback."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time

import pytest
from websockets.asyncio.server import serve as ws_serve

from convowidget import ConfigurationError, ConvoClient, Faults, InsecureURLError, StreamError, serve


def test_ask_streams_a_complete_reply_with_sources_and_metadata(client):
    reply = client.ask("How do I install convowidget?")
    assert reply.status == "complete" and reply.error is None
    assert "pip install convowidget" in reply.text
    assert reply.text == "".join(reply.chunks) and len(reply.chunks) > 10
    assert reply.sources and reply.sources[0].startswith("kb/getting-started.md")
    assert {"inputTokens", "outputTokens", "llmUsed"} <= set(reply.metadata)
    assert reply.debug and reply.turns[-1]["from"] == "bot"
    assert 0 <= reply.time_to_first_chunk <= reply.elapsed


def test_same_convo_id_continues_the_conversation(client):
    first = client.ask("How does streaming work?")
    second = client.ask("And how do I stop it?", convo_id=first.convo_id)
    third = client.ask("Hello")
    assert second.convo_id == first.convo_id
    assert [t["from"] for t in second.turns] == ["human", "bot", "human", "bot"]
    assert third.convo_id != first.convo_id and len(third.turns) == 2


def test_greeting_and_handoff(client):
    greeting = client.ask("start")
    assert "demo agent" in greeting.text and greeting.turns[0]["from"] == "bot"
    handoff = client.ask("Can I talk to a human?")
    assert handoff.handoff is True and handoff.actions[0]["type"] == "request_handoff"


async def test_ask_async_and_stream_inside_a_running_loop(client):
    reply = await client.ask_async("Tell me about the Python API")
    assert reply.status == "complete" and "Reply" in reply.text
    blocking = client.ask("start")  # blocking call while this loop runs: must not deadlock
    assert blocking.status == "complete"
    types = [event.type async for event in client.stream("start")]
    assert types[0] == "debug" and "chunk" in types and types[-2:] == ["metadata", "sync_chat_history"]


async def test_many_concurrent_ask_async_calls(client):
    replies = await asyncio.gather(*(client.ask_async(f"streaming {i}") for i in range(50)))
    assert all(r.status == "complete" for r in replies)
    assert len({r.convo_id for r in replies}) == 50


def test_custom_agents_of_every_kind():
    def plain(request):
        return f"plain: {request.prompt}"

    async def coroutine(request):
        return f"async: {request.prompt}"

    def generator(request):
        yield "gen "
        yield {"type": "metadata", "metadata": {"sources": ["https://example.com/doc"]}}
        yield "done"

    async def async_generator(request):
        for word in ("a ", "b ", "c"):
            await asyncio.sleep(0)
            yield word

    expected = {plain: "plain: hi", coroutine: "async: hi", generator: "gen done", async_generator: "a b c"}
    for agent, text in expected.items():
        with serve(agent, chunk_delay=0) as server:
            reply = ConvoClient(url=server.url, agent_id="x").ask("hi")
        assert reply.status == "complete" and reply.text == text, agent.__name__
    assert reply.metadata["llmUsed"] == "custom"


def test_agent_that_raises_fails_the_reply_with_its_message():
    def broken(request):
        yield "partial "
        raise RuntimeError("database is down")

    with serve(broken, chunk_delay=0) as server:
        reply = ConvoClient(url=server.url, agent_id="x").ask("hi")
    assert reply.status == "failed" and reply.text == "partial "
    assert "1011" in reply.error and "database is down" in reply.error


def slow_words(request):
    for i in range(50):
        yield f"w{i} "


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        (Faults(drop_after=3), "the connection dropped before the reply finished"),
        (
            Faults(close_after=3, close_code=1011, close_reason="backend crashed"),
            'internal error and ended the reply: "backend crashed"',
        ),
        (Faults(close_after=3, close_code=1001), "the server went away before the reply finished"),
    ],
)
def test_faults_fail_the_reply_and_keep_the_partial_text(faults, error):
    with serve(slow_words, chunk_delay=0, faults=faults) as server:
        reply = ConvoClient(url=server.url, agent_id="x").ask("go")
    assert reply.status == "failed"
    assert reply.text == "w0 w1 w2 "
    assert error in reply.error


def test_malformed_frame_is_a_warning_and_the_reply_completes():
    with serve(slow_words, chunk_delay=0, faults=Faults(malformed_after=2)) as server:
        reply = ConvoClient(url=server.url, agent_id="x").ask("go")
    assert reply.status == "complete"
    assert reply.text == "".join(f"w{i} " for i in range(50))
    assert len(reply.warnings) == 1 and "not JSON" in reply.warnings[0]


def test_stall_fails_after_idle_timeout_keeping_text():
    with serve(slow_words, chunk_delay=0, faults=Faults(stall_after=4)) as server:
        started = time.perf_counter()
        reply = ConvoClient(url=server.url, agent_id="x", idle_timeout=0.5).ask("go")
    assert reply.status == "failed" and reply.text == "w0 w1 w2 w3 "
    assert "idle_timeout" in reply.error
    assert time.perf_counter() - started < 5


def test_stream_raises_stream_error_after_yielding_what_arrived():
    async def run():
        texts = []
        with pytest.raises(StreamError, match="1006"):
            async for event in client.stream("go"):
                if event.type == "chunk":
                    texts.append(event.text)
        return texts

    with serve(slow_words, chunk_delay=0, faults=Faults(drop_after=2)) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        assert asyncio.run(run()) == ["w0 ", "w1 "]


def test_slow_chunks_and_faults_for_first_connections_only():
    with serve(slow_words, chunk_delay=0, faults=Faults(drop_after=1, times=1)) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        assert client.ask("go").status == "failed"
        assert client.ask("go").status == "complete"
    with serve(slow_words, chunk_delay=0, faults=Faults(chunk_delay=0.01)) as server:
        reply = ConvoClient(url=server.url, agent_id="x").ask("go")
    assert reply.status == "complete" and reply.elapsed >= 0.4


def test_stop_ends_a_reply_as_stopped_with_partial_text():
    def endless(request):
        for i in range(10_000):
            yield f"{i} "

    streaming = threading.Event()

    def count(event, builder):
        if len(builder.reply.chunks) >= 3:
            streaming.set()

    with serve(endless, chunk_delay=0.01) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        pending = client.start("go", on_event=count)
        assert streaming.wait(10), "no chunks arrived"
        pending.stop()
        reply = pending.result(5)
    assert reply.status == "stopped" and reply.error
    assert reply.text.startswith("0 1 2 ") and len(reply.chunks) < 10_000


def test_ask_many_keeps_order_and_shows_no_bar_when_asked(client):
    replies = client.ask_many(["start", "human please", "streaming"], progress=False, concurrency=2)
    assert [r.prompt for r in replies] == ["start", "human please", "streaming"]
    assert [r.handoff for r in replies] == [False, True, False]
    assert len({r.convo_id for r in replies}) == 3
    with pytest.raises(ConfigurationError, match="prompt"):
        client.ask_many(["fine", " "])


def test_connection_refused_and_open_timeout_are_failed_replies():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    reply = ConvoClient(url=f"ws://127.0.0.1:{port}/interact", agent_id="x").ask("hi")
    assert reply.status == "failed" and "refused the connection: nothing is listening there" in reply.error

    with socket.socket() as listener:  # accepts TCP but never answers the handshake
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"ws://127.0.0.1:{listener.getsockname()[1]}/interact"
        reply = ConvoClient(url=url, agent_id="x", open_timeout=0.3).ask("hi")
    assert reply.status == "failed" and "open_timeout" in reply.error


def test_wrong_path_is_a_clear_failed_reply(server):
    reply = ConvoClient(url=server.url.replace("/interact", "/nope"), agent_id="x").ask("hi")
    assert reply.status == "failed" and "HTTP 404" in reply.error


def test_frame_over_max_size_fails_clearly():
    with serve(lambda request: "x" * 5000, chunk_delay=0) as server:
        reply = ConvoClient(url=server.url, agent_id="x", max_size=1000).ask("hi")
    assert reply.status == "failed" and "max_size" in reply.error


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"url": "ws://example.com/interact"}, InsecureURLError, "use wss://"),
        ({"url": "ws://10.0.0.5:8765/interact"}, InsecureURLError, "use wss://"),
        ({"url": "http://127.0.0.1/interact"}, ConfigurationError, "not a WebSocket address"),
        ({"url": "ws://127.0.0.1:99999/x"}, ConfigurationError, "not a valid address"),
        ({"region": "asia"}, ConfigurationError, "region"),
        ({"origin": ""}, ConfigurationError, "origin"),
        ({"idle_timeout": 0}, ConfigurationError, "idle_timeout"),
        ({"open_timeout": "5"}, ConfigurationError, "open_timeout"),
        ({"agent_id": ""}, ConfigurationError, "agent_id"),
    ],
)
def test_bad_arguments_raise_before_connecting(options, error, message):
    with pytest.raises(error, match=message):
        ConvoClient(**{"agent_id": "x", **options})


def test_loopback_ws_is_allowed_and_insecure_opt_out_exists():
    for host in ("localhost", "127.0.0.1", "127.5.6.7", "[::1]"):
        assert ConvoClient(url=f"ws://{host}:1/interact", agent_id="x").url
    assert ConvoClient(url="ws://example.com/interact", agent_id="x", allow_insecure=True).url


def test_prompt_is_checked_before_connecting(client):
    with pytest.raises(ConfigurationError, match="prompt"):
        client.ask("   ")


def test_environment_variables_are_the_fallback(monkeypatch, server):
    monkeypatch.setenv("CONVOCORE_AGENT_ID", "env-agent")
    monkeypatch.setenv("CONVOCORE_URL", server.url)
    monkeypatch.setenv("CONVOCORE_REGION", "na")
    client = ConvoClient()
    assert (client.agent_id, client.region, client.url) == ("env-agent", "na", server.url)
    assert client.ask("start").status == "complete"
    monkeypatch.delenv("CONVOCORE_AGENT_ID")
    with pytest.raises(ConfigurationError, match="CONVOCORE_AGENT_ID"):
        ConvoClient()
    monkeypatch.delenv("CONVOCORE_URL")
    assert ConvoClient(agent_id="a").url == "wss://na-gcp-api.vg-stuff.com/interact"


def test_default_region_is_eu_and_url_overrides_only_the_address():
    client = ConvoClient(agent_id="a")
    assert client.url == "wss://eu-gcp-api.vg-stuff.com/interact"
    assert client.make_request("hi", "c")["bucket"] == "voiceglow-eu"
    client = ConvoClient(agent_id="a", region="na", url="ws://127.0.0.1:1/interact")
    assert client.make_request("hi", "c")["bucket"] == "(default)"


def _recording_server(seen):
    """A bare websockets server that records the handshake and the interact object."""
    ready = threading.Event()
    holder = {}

    async def handler(ws):
        seen["authorization"] = ws.request.headers.get("Authorization")
        seen["request"] = await ws.recv()
        await ws.send('{"type":"chunk","chunk":"ok","chunkIndex":0}')
        await ws.close(1000)

    def run():
        async def main():
            async with ws_serve(handler, "127.0.0.1", 0) as server:
                holder["port"] = server.sockets[0].getsockname()[1]
                holder["stop"] = asyncio.get_running_loop().create_future()
                holder["loop"] = asyncio.get_running_loop()
                ready.set()
                await holder["stop"]

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(5)
    return holder, thread


def test_token_goes_in_the_authorization_header_only_when_given():
    seen = {}
    holder, thread = _recording_server(seen)
    try:
        url = f"ws://127.0.0.1:{holder['port']}/interact"
        assert ConvoClient(url=url, agent_id="x", token="tok-123").ask("hi").text == "ok"
        assert seen["authorization"] == "Bearer tok-123"
        assert "tok-123" not in seen["request"]
        ConvoClient(url=url, agent_id="x").ask("hi")
        assert seen["authorization"] is None
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set_result, None)
        thread.join(5)


# ---------------------------------------------------------------------- nothing escapes a reply


def _first_chunk_raises(exc: BaseException):
    def on_event(event, builder):
        if event.type == "chunk":
            raise exc

    return on_event


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt(), ValueError("bad callback")])
def test_a_callback_that_raises_fails_only_its_reply_and_the_io_thread_goes_on(client, exc):
    reply = client.start("How do I install convowidget?", on_event=_first_chunk_raises(exc)).result(10)
    assert reply.status == "failed"
    assert reply.error.startswith(f"your on_event callback raised {type(exc).__name__}")
    assert reply.text and reply.text == reply.chunks[0]  # the chunk that arrived is kept
    assert client.ask("start").status == "complete"


def test_an_on_start_callback_that_raises_fails_the_reply_before_connecting(client):
    def on_start(builder):
        raise SystemExit("not now")

    reply = client.start("start", on_start=on_start).result(10)
    assert reply.status == "failed" and reply.error.startswith("your on_start callback raised SystemExit: not now")
    assert client.ask("start").status == "complete"


async def test_exchange_runs_on_the_callers_loop_and_never_raises_for_a_reply(client):
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no")

    seen = []

    def on_event(event, builder):
        seen.append((threading.current_thread(), event))

    request = client.make_request("start")
    reply = await client.exchange(request, on_event=on_event)
    assert reply.status == "complete" and reply.convo_id == request["convoId"]
    assert {thread for thread, _ in seen} == {threading.current_thread()}
    assert "".join(e.text for _, e in seen if e.type == "chunk") == reply.text
    broken = await client.exchange(client.make_request("start"), on_event=_first_chunk_raises(Unprintable()))
    assert broken.status == "failed" and "your on_event callback raised Unprintable" in broken.error
    with pytest.raises(ConfigurationError):
        await client.exchange({"prompt": "no agent or conversation"})


# ---------------------------------------------------------------------- turn sharing


def test_replies_of_one_conversation_share_their_turns_until_forgotten(client):
    first = client.ask("start")
    second = client.ask("How does streaming work?", convo_id=first.convo_id)
    assert second.turns[0] == first.turns[0] and second.turns[0] is first.turns[0]
    client.forget(first.convo_id)
    third = client.ask("And how do I stop it?", convo_id=first.convo_id)
    assert third.turns[: len(second.turns)] == second.turns and third.turns[0] is not second.turns[0]


def test_turns_are_kept_for_a_bounded_number_of_conversations(client):
    first = client.ask("start")
    client.ask_many(["start"] * 64, progress=False, concurrency=8)  # 64 newer conversations
    later = client.ask("Hello", convo_id=first.convo_id)
    assert later.turns[0] == first.turns[0] and later.turns[0] is not first.turns[0]


def test_the_io_thread_outlives_a_callback_that_raises_system_exit(caplog):
    from convowidget import _io

    def exit_now():
        raise SystemExit("from some other callback on the IO thread")

    with serve(slow_words, chunk_delay=0.01) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        loop = _io.io_loop()
        pending = client.start("go")
        _io.call_soon(exit_now)
        reply = pending.result(10)  # the reply under way when it struck still finishes
    assert reply.status == "complete" and reply.text.startswith("w0 w1")
    assert _io.io_loop() is loop
    assert "raised SystemExit; the thread goes on" in caplog.text


def test_a_pending_reply_waited_for_from_another_thread_still_works():
    with serve(slow_words, chunk_delay=0.001) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        got = []
        waiter = threading.Thread(target=lambda: got.append(client.start("go").result(10)))
        waiter.start()
        waiter.join(15)
    assert got and got[0].status == "complete" and got[0].text.startswith("w0 w1")


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to this process")
def test_an_interrupt_while_waiting_for_a_pending_reply_stops_it_and_returns_it():
    def endless_on_go(request):
        for i in range(100_000 if request.prompt == "go" else 3):
            yield f"{i} "

    with serve(endless_on_go, chunk_delay=0.01) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        pending = client.start("go")
        stop_button = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))  # what the kernel's stop does
        stop_button.start()
        reply = pending.result()
        stop_button.join()
        after = client.ask("again")
    assert reply.status == "stopped" and reply.text.startswith("0 1 2 ") and "KeyboardInterrupt" not in reply.error
    assert (after.status, after.text) == ("complete", "0 1 2 ")


def test_asks_log_nothing_at_info_and_their_connections_only_at_debug(caplog):
    caplog.set_level(logging.INFO)  # what logging.basicConfig(level=logging.INFO) asks for
    with serve(chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="demo")
        replies = [client.ask("start") for _ in range(3)]
    assert [reply.status for reply in replies] == ["complete"] * 3
    shown = [f"{record.name}: {record.getMessage()}" for record in caplog.records if record.levelno >= logging.INFO]
    assert shown == [f"convowidget.server.websockets: server listening on 127.0.0.1:{server.port}"]  # none per ask

    caplog.clear()
    caplog.set_level(logging.DEBUG)
    with serve(chunk_delay=0) as server:
        ConvoClient(url=server.url, agent_id="demo").ask("start")
    routine = [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.name.endswith(".connections")]
    assert routine == [
        ("convowidget.server.connections", "DEBUG", message)
        for message in ("connection open", "connection closed", "server closing", "server closed")
    ]


def test_a_quieter_level_set_for_the_application_silences_the_wire_loggers_too():
    records: list[logging.LogRecord] = []
    handler = logging.Handler()  # like logging.basicConfig's: no level of its own
    handler.emit = records.append
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.ERROR)
    try:
        with serve(chunk_delay=0) as server:
            reply = ConvoClient(url=server.url, agent_id="demo").ask("start")
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)
    assert reply.status == "complete"
    assert [record.getMessage() for record in records if record.name.startswith("convowidget")] == []
