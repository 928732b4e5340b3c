"""The client's transport against real servers on loopback: what it refuses, caps, closes and retries.

Where the embedded server cannot misbehave the right way, a bare websockets server
(``bare_server``) or a plain TCP listener plays the other side.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed

from convowidget import ConfigurationError, ConvoClient, Faults, StreamError, serve
from convowidget._retry import RETRY_AFTER_CAP, retry_delay


@contextlib.contextmanager
def bare_server(handler: Any, **options: Any) -> Iterator[str]:
    """A bare websockets server on its own thread; yields its ``ws://127.0.0.1:PORT/interact``."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        async def main() -> None:
            async with ws_serve(handler, "127.0.0.1", 0, **options) as server:
                holder["port"] = server.sockets[0].getsockname()[1]
                holder["loop"] = asyncio.get_running_loop()
                holder["stop"] = holder["loop"].create_future()
                ready.set()
                await holder["stop"]

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(5)
    try:
        yield f"ws://127.0.0.1:{holder['port']}/interact"
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set_result, None)
        thread.join(10)


def chunk(text: str, index: int) -> str:
    return json.dumps({"type": "chunk", "chunk": text, "chunkIndex": index})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------- redirects


def test_a_redirect_is_refused_naming_the_status_and_nothing_reaches_its_target():
    reached: list[str] = []

    async def target(ws):  # where the redirect points: it must never see a connection
        reached.append(ws.request.path)
        await ws.close(1000)

    with bare_server(target) as target_url:

        def redirect(connection, request):
            response = connection.respond(302, "moved\n")
            response.headers["Location"] = target_url.replace("ws://", "ws://someone:SECRET-PW@") + "?api_key=KEY-42"
            return response

        with bare_server(lambda ws: ws.close(1000), process_request=redirect) as url:
            reply = ConvoClient(url=url, agent_id="x").ask("hi")
    assert reply.status == "failed"
    assert f"answered with an HTTP 302 redirect to {target_url};" in reply.error
    assert "does not follow redirects: use the final address as url=" in reply.error
    assert "SECRET-PW" not in reply.error and "KEY-42" not in reply.error
    assert reached == []


def test_a_redirect_off_this_machine_fails_fast_with_the_status():
    def redirect(connection, request):
        response = connection.respond(301, "moved\n")
        response.headers["Location"] = "ws://example.invalid/interact"
        return response

    with bare_server(lambda ws: ws.close(1000), process_request=redirect) as url:
        reply = ConvoClient(url=url, agent_id="x", open_timeout=5).ask("hi")
    assert reply.status == "failed"
    assert "HTTP 301 redirect to ws://example.invalid/interact" in reply.error


# ---------------------------------------------------------------------- proxies

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def _set_proxy(monkeypatch, address: str) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, address)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_loopback_never_goes_through_the_proxy_of_the_environment(monkeypatch, server):
    _set_proxy(monkeypatch, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    reply = ConvoClient(url=server.url, agent_id="x").ask("start")
    assert reply.status == "complete", reply.error


@contextlib.contextmanager
def fake_proxy(seen: queue.Queue[str]) -> Iterator[int]:
    """A TCP listener on loopback that records the first line sent to it and answers 403."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def run() -> None:
        connection, _ = listener.accept()
        with connection:
            data = b""
            while b"\r\n\r\n" not in data and (piece := connection.recv(4096)):
                data += piece
            seen.put(data.decode("latin-1").split("\r\n")[0])
            connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(5)


def test_a_remote_wss_address_goes_through_the_proxy_of_the_environment(monkeypatch):
    seen: queue.Queue[str] = queue.Queue()
    with fake_proxy(seen) as port:
        _set_proxy(monkeypatch, f"http://proxyuser:PROXY-PW@127.0.0.1:{port}")
        client = ConvoClient(url="wss://agent.example.invalid/interact", agent_id="x", open_timeout=5)
        assert client._transport().connect_options()["proxy"] is True  # websockets' default: the environment's proxy
        reply = client.ask("hi")
    assert seen.get(timeout=5) == "CONNECT agent.example.invalid:443 HTTP/1.1"
    assert reply.status == "failed" and "through the proxy" in reply.error and "HTTP 403" in reply.error
    assert "PROXY-PW" not in reply.error
    assert ConvoClient(url="ws://127.0.0.1:1/interact", agent_id="x")._transport().connect_options()["proxy"] is None


# ---------------------------------------------------------------------- max_reply_size

FRAME_CHARS = 15_000_000


def test_a_reply_past_max_reply_size_fails_keeping_what_came_and_closes_the_connection():
    frame = chunk("x" * FRAME_CHARS, 0)  # compresses to a few kilobytes on the wire
    codes: queue.Queue[int | None] = queue.Queue()

    async def bomb(ws):
        await ws.recv()
        try:
            for _ in range(20):  # 300 MB of text in all
                await ws.send(frame)
                await asyncio.sleep(0)  # let this server read our close frame between frames, as a real one would
            await ws.close(1000)
        except ConnectionClosed:
            pass
        codes.put(ws.close_code)

    cap = 20 * 2**20
    with bare_server(bomb, compression="deflate") as url:
        reply = ConvoClient(url=url, agent_id="x", max_reply_size=cap).ask("hi")
        code = codes.get(timeout=30)
    assert reply.status == "failed"
    assert "the reply passed max_reply_size=20 MiB; raise ConvoClient(max_reply_size=...)" in reply.error
    assert reply.text == "x" * FRAME_CHARS  # the first frame is kept; nothing past the cap is
    assert code in (1000, 1009)


# ---------------------------------------------------------------------- close codes and deadlines


def _closing_server(codes: queue.Queue[int | None], *, interval: float | None):
    """One chunk, then either silence (``interval`` None) or a chunk every ``interval`` seconds."""

    async def handler(ws):
        await ws.recv()
        try:
            await ws.send(chunk("first ", 0))
            index = 1
            while interval is not None:
                await asyncio.sleep(interval)
                await ws.send(chunk(f"{index} ", index))
                index += 1
            await ws.wait_closed()
        except ConnectionClosed:
            pass
        codes.put(ws.close_code)

    return handler


def _stop_after_first_chunk(client: ConvoClient):
    arrived = threading.Event()
    pending = client.start("go", on_event=lambda event, builder: arrived.set())
    assert arrived.wait(5)
    pending.stop()
    return pending.result(10)


@pytest.mark.parametrize(
    ("case", "options", "interval", "status", "error"),
    [
        ("stop", {}, None, "stopped", "stopped before the reply finished"),
        ("idle", {"idle_timeout": 0.3}, None, "failed", "no data from the server for 0.3 s (idle_timeout)"),
        ("timeout", {"timeout": 0.5}, 0.05, "failed", "the reply took longer than timeout=0.5 s"),
    ],
)
def test_stop_idle_and_overall_timeout_close_our_side_with_1000(case, options, interval, status, error):
    codes: queue.Queue[int | None] = queue.Queue()
    with bare_server(_closing_server(codes, interval=interval)) as url:
        client = ConvoClient(url=url, agent_id="x", **options)
        reply = _stop_after_first_chunk(client) if case == "stop" else client.ask("go")
        code = codes.get(timeout=10)
    assert reply.status == status and error in reply.error and "the text so far is kept" in reply.error
    assert reply.text.startswith("first ")
    assert code == 1000


async def test_cancelling_ask_async_leaves_politely_and_the_next_ask_completes(server):
    codes: queue.Queue[int | None] = queue.Queue()
    with bare_server(_closing_server(codes, interval=0.02)) as url:
        client = ConvoClient(url=url, agent_id="x")
        task = asyncio.ensure_future(client.ask_async("go"))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(codes.get, timeout=10) in (1000, 1001)
    reply = await ConvoClient(url=server.url, agent_id="x").ask_async("start")
    assert reply.status == "complete"


async def test_stream_left_early_closes_with_1000_and_a_deadline_is_a_stream_error():
    codes: queue.Queue[int | None] = queue.Queue()
    with bare_server(_closing_server(codes, interval=0.02)) as url:
        async for event in ConvoClient(url=url, agent_id="x").stream("go"):
            assert event.type == "chunk"
            break
        assert await asyncio.to_thread(codes.get, timeout=10) == 1000

        texts = []
        with pytest.raises(StreamError, match=r"timeout=0\.3 s"):
            async for event in ConvoClient(url=url, agent_id="x", timeout=0.3).stream("go"):
                texts.append(event.text)
        assert texts[0] == "first " and len(texts) > 1


async def test_stream_yields_the_events_as_assembled_and_raises_only_stream_error():
    async def hostile(ws):
        await ws.recv()
        await ws.send(chunk("a\ud83d", 0))  # an emoji cut between two chunks
        await ws.send(chunk("\ude00b", 1))
        await ws.send("[" * 100_000)  # nesting no JSON reader survives naively
        await ws.send(b"\xff\xfe not utf-8")
        await ws.close(4000, "done badly")

    with bare_server(hostile) as url:
        events = []
        with pytest.raises(StreamError, match="code 4000"):
            async for event in ConvoClient(url=url, agent_id="x").stream("go"):
                events.append(event)
    texts = "".join(event.text for event in events if event.type == "chunk")
    assert texts == "a\U0001f600b"
    assert [event.type for event in events].count("invalid") == 2


def test_bad_stream_arguments_raise_at_the_call_before_connecting():
    client = ConvoClient(url=f"ws://127.0.0.1:{free_port()}/interact", agent_id="x")
    with pytest.raises(ConfigurationError, match="prompt"):
        client.stream("   ")
    with pytest.raises(ConfigurationError, match="convo_id"):
        client.stream("hi", convo_id=7)


# ---------------------------------------------------------------------- options checked when given


@pytest.mark.parametrize(
    ("options", "message"),
    [
        *[
            ({name: value}, name)
            for name in ("open_timeout", "idle_timeout", "timeout")
            for value in (float("nan"), float("inf"), -1, 0, True, "5")
        ],
        *[({name: value}, name) for name in ("max_size", "max_reply_size") for value in ("big", 0, 1.5, True, None)],
        ({"compression": "gzip"}, "compression"),
        ({"compression": True}, "compression"),
        ({"extra": "isTest"}, "extra"),
        ({"extra": [("isTest", True)]}, "extra"),
        ({"retries": -1}, "retries"),
        ({"retries": "2"}, "retries"),
        ({"retries": True}, "retries"),
        ({"token": "abc\r\nX-Evil: 1"}, "token"),
        ({"url": "ws://127.0.0.1:1/inter act"}, "url"),
        ({"url": "ws://127.0.0.1:1/interact\x00"}, "url"),
        ({"url": "ws://127.0.0.1:1/interact\n"}, "url"),
        ({"url": " ws://127.0.0.1:1/interact"}, "url"),
        ({"url": "ws://127.0.0.1:1/interact\x7f"}, "url"),
    ],
)
def test_options_are_checked_when_given(options, message):
    with pytest.raises(ConfigurationError, match=message):
        ConvoClient(**{"agent_id": "x", "url": "ws://127.0.0.1:1/interact", **options})


def test_call_arguments_are_checked_before_connecting():
    client = ConvoClient(url=f"ws://127.0.0.1:{free_port()}/interact", agent_id="x")
    with pytest.raises(ConfigurationError, match="a single string is not a list of prompts"):
        client.ask_many("what is this?")
    for call in (client.ask, client.start, client.make_request):
        with pytest.raises(ConfigurationError, match="convo_id"):
            call("hi", 42)
    with pytest.raises(ConfigurationError, match="convo_id"):
        client.ask("hi", convo_id="")
    for bad in ("2", 0, True):
        with pytest.raises(ConfigurationError, match="concurrency"):
            client.ask_many(["hi"], concurrency=bad)
    for bad in (-1, "1", 1.0, False):
        with pytest.raises(ConfigurationError, match="retries"):
            client.ask_many(["hi"], retries=bad)
        with pytest.raises(ConfigurationError, match="retries"):
            client.ask("hi", retries=bad)


# ---------------------------------------------------------------------- retries


class Backoffs:
    """Stands in for the client's wait before a retry: records each delay, waits none."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float, stop_event: asyncio.Event) -> None:
        self.delays.append(delay)


def _counting_agent(prompts: list[str]):
    def agent(request):
        prompts.append(request.prompt)
        return f"answer to {request.prompt}"

    return agent


def test_ask_many_retries_refused_handshakes_honouring_retry_after_and_never_sends_twice(monkeypatch):
    prompts: list[str] = []
    faults = Faults(refuse_status=429, retry_after=2.0, times=3)
    with serve(_counting_agent(prompts), chunk_delay=0, faults=faults) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        backoffs = Backoffs()
        monkeypatch.setattr(client, "_backoff", backoffs)
        replies = client.ask_many(["one", "two"], concurrency=1, progress=False, retries=3)
        assert server.faults.times == 0  # all three refusals were used up
    assert [r.status for r in replies] == ["complete", "complete"], [r.error for r in replies]
    assert [r.text for r in replies] == ["answer to one", "answer to two"]
    assert sorted(prompts) == ["one", "two"]  # each delivered exactly once
    assert len(backoffs.delays) == 3 and all(2.0 <= d <= 2.5 for d in backoffs.delays), backoffs.delays


def test_retries_run_out_with_exponential_backoff_and_a_clear_error(monkeypatch):
    with serve(chunk_delay=0, faults=Faults(refuse_status=503)) as server:
        client = ConvoClient(url=server.url, agent_id="x", retries=2)
        backoffs = Backoffs()
        monkeypatch.setattr(client, "_backoff", backoffs)
        [reply] = client.ask_many(["hi"], progress=False)
        assert server.connections == 0
    assert reply.status == "failed" and "HTTP 503" in reply.error and "(after 2 retries)" in reply.error
    first, second = backoffs.delays
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1.0


def test_a_delivered_prompt_is_never_sent_again(monkeypatch):
    prompts: list[str] = []
    with serve(_counting_agent(prompts), chunk_delay=0, faults=Faults(drop_after=0)) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        backoffs = Backoffs()
        monkeypatch.setattr(client, "_backoff", backoffs)
        [reply] = client.ask_many(["once"], progress=False, retries=5)
        assert server.connections == 1
    assert reply.status == "failed" and "1006" in reply.error
    assert prompts == ["once"] and backoffs.delays == []


def test_connection_refused_is_retried_and_ask_does_not_retry_by_default(monkeypatch):
    client = ConvoClient(url=f"ws://127.0.0.1:{free_port()}/interact", agent_id="x")
    backoffs = Backoffs()
    monkeypatch.setattr(client, "_backoff", backoffs)
    [reply] = client.ask_many(["hi"], progress=False, retries=1)
    assert reply.status == "failed" and "refused the connection" in reply.error and len(backoffs.delays) == 1
    assert client.ask("hi").status == "failed" and len(backoffs.delays) == 1
    assert client.ask("hi", retries=2).status == "failed" and len(backoffs.delays) == 3


def test_ask_retries_only_when_asked():
    with serve(chunk_delay=0, faults=Faults(refuse_status=429, times=1)) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        first = client.ask("start")
        second = client.ask("start")
    assert first.status == "failed" and "HTTP 429" in first.error
    assert second.status == "complete"


def test_retry_delay_honours_retry_after_within_a_cap():
    assert all(2.0 <= retry_delay(0, "2") <= 2.5 for _ in range(50))
    assert retry_delay(0, "86400") == RETRY_AFTER_CAP
    assert 0 <= retry_delay(3, "Thu, 01 Jan 1970 00:00:00 GMT") <= 0.5  # a date in the past: now
    assert all(0.25 <= retry_delay(0, "soon") <= 0.5 for _ in range(50))  # not a number: plain backoff
    assert all(2.0 <= retry_delay(3) <= 4.0 for _ in range(50))
    assert retry_delay(30) <= 30.0
