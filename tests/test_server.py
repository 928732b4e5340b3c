"""The embedded server: bad requests get clear close reasons and disturb nobody."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from convowidget import ConfigurationError, ConvoClient, serve
from convowidget.server import EmbeddedServer


async def _close_of(url: str, frame: str | bytes | None) -> tuple[int, str]:
    async with connect(url) as ws:
        if frame is not None:
            await ws.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


GOOD = {"agentId": "a", "convoId": "c", "prompt": "start"}


@pytest.mark.parametrize(
    ("frame", "code", "reason"),
    [
        ("this is not json", 1007, "the interact object is not JSON"),
        (b"\xff\x00", 1007, "the interact object is not JSON"),
        ("[1, 2]", 1008, "must be a JSON object"),
        (json.dumps({"convoId": "c", "prompt": "hi"}), 1008, "agentId: missing"),
        (json.dumps({"agentId": "a", "convoId": "c"}), 1008, "prompt: missing"),
        (json.dumps({**GOOD, "prompt": ["hi"]}), 1008, "prompt: expected a string, got a list"),
        (json.dumps({**GOOD, "convoId": 7}), 1008, "convoId: expected a string, got a number"),
        (json.dumps({**GOOD, "prompt": "  "}), 1008, "prompt: must not be empty"),
        (json.dumps({**GOOD, "lightConvoData": "web"}), 1008, "lightConvoData: expected an object"),
        (json.dumps({**GOOD, "prompt": "x" * 3000}), 1009, ""),
    ],
)
async def test_bad_requests_get_a_clear_close(frame, code, reason):
    async with serve(chunk_delay=0, max_size=2000) as server:
        got_code, got_reason = await _close_of(server.url, frame)
    assert got_code == code
    assert reason in got_reason


async def test_silent_client_is_closed_after_the_request_timeout():
    async with serve(chunk_delay=0, request_timeout=0.2) as server:
        assert await _close_of(server.url, None) == (1008, "no interact object within 0.2 s")


async def test_bad_requests_do_not_disturb_other_connections():
    async with serve(chunk_delay=0.002) as server:
        client = ConvoClient(url=server.url, agent_id="demo")
        good = [asyncio.ensure_future(client.ask_async("How does streaming work?")) for _ in range(5)]
        bad = [_close_of(server.url, frame) for frame in ("nope", "[]", "{}") * 3]
        closes = await asyncio.gather(*bad)
        replies = await asyncio.gather(*good)
    assert {code for code, _ in closes} == {1007, 1008}
    assert all(r.status == "complete" and r.sources for r in replies)
    assert len({r.text for r in replies}) == 1


async def test_async_variant_and_port_zero():
    async with serve() as server:
        assert server.host == "127.0.0.1" and server.port > 0
        assert server.url == f"ws://127.0.0.1:{server.port}/interact"
        reply = await ConvoClient(url=server.url, agent_id="demo").ask_async("start")
    assert reply.status == "complete"


def test_server_binds_loopback_by_default_and_reports_not_running():
    server = EmbeddedServer()
    assert server.host == "127.0.0.1"
    with pytest.raises(RuntimeError, match="not running"):
        server.url  # noqa: B018
    with pytest.raises(ConfigurationError, match="agent"):
        serve("not callable")  # type: ignore[arg-type]


def test_port_in_use_raises_on_start():
    with serve() as first, pytest.raises(OSError):
        serve(port=first.port).start()


def test_history_is_per_conversation_and_greeting_adds_no_user_turn():
    with serve(chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="demo")
        greeting = client.ask("start")
        follow = client.ask("What is the embedded server?", convo_id=greeting.convo_id)
        other = client.ask("hello there")
    assert [t["from"] for t in greeting.turns] == ["bot"]
    assert [t["from"] for t in follow.turns] == ["bot", "human", "bot"]
    assert follow.turns[1]["messages"][0]["item"]["payload"]["message"] == "What is the embedded server?"
    assert [t["from"] for t in other.turns] == ["human", "bot"]
    assert "don't know" in other.text


def test_ui_engine_turns_stream_as_replacing_snapshots():
    with serve(chunk_delay=0) as server:
        reply = ConvoClient(url=server.url, agent_id="demo").ask("show me the menu")
    assert reply.chunks == []  # snapshots are not plain chunks
    kinds = [m["item"]["type"] for m in reply.ui_turn["messages"]]
    assert kinds == ["text", "choice", "cardV2"]
    assert reply.text.startswith("Here is what I can show you.")


def test_client_leaving_cancels_the_agent_and_stop_is_prompt():
    import threading
    import time

    state = {"cancelled": threading.Event()}

    async def slow(request):
        yield "one "
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            state["cancelled"].set()
            raise
        yield "never"

    server = serve(slow, chunk_delay=0).start()
    pending = ConvoClient(url=server.url, agent_id="x").start("hi")
    time.sleep(0.3)
    pending.stop()
    assert pending.result(5).text == "one "
    assert state["cancelled"].wait(5), "the agent kept running after the client left"
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 3


def test_conversations_are_capped_oldest_first():
    with serve(chunk_delay=0) as server:
        server.max_conversations = 2
        client = ConvoClient(url=server.url, agent_id="demo")
        ids = [client.ask("start").convo_id for _ in range(3)]
        assert list(server.conversations) == ids[1:]
