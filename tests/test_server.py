"""The embedded server on loopback: bad and hostile requests get clear close reasons and
disturb nobody; web pages are refused; history is bounded; sync agents fan out cheaply."""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
import shutil
import socket
import struct
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Response

from convowidget import ConfigurationError, ConvoClient, Faults, InsecureURLError, serve
from convowidget.demo import demo_agent
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
    first = threading.Event()
    pending = ConvoClient(url=server.url, agent_id="x").start("hi", on_event=lambda event, builder: first.set())
    assert first.wait(10), "the first chunk never came"
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


# ---------------------------------------------------------------------------- helpers


async def _frames(url: str, request: dict | str) -> tuple[list[dict], int]:
    """Every frame of one exchange, parsed, and the close code."""
    frames = []
    async with connect(url) as ws:
        await ws.send(request if isinstance(request, str) else json.dumps(request))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                frames.append(json.loads(await ws.recv()))
    assert closed.value.rcvd is not None
    return frames, closed.value.rcvd.code


def _refusal(url: str, **options) -> Response:
    """The HTTP response that refused a raw handshake."""

    async def attempt():
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, **options):
                pass
        return refused.value.response

    return asyncio.run(attempt())


class CountingExecutor(ThreadPoolExecutor):
    """A default executor that counts what is sent to its threads."""

    submitted = 0

    def submit(self, *args, **kwargs):
        self.submitted += 1
        return super().submit(*args, **kwargs)


def _texts(turns: list[dict]) -> list[str]:
    return [turn["messages"][0]["item"]["payload"]["message"] for turn in turns]


# ---------------------------------------------------------------------------- browsers and binding


def test_web_pages_are_refused_unless_their_origin_is_allowed():
    with serve(chunk_delay=0) as server:
        response = _refusal(server.url, origin="http://evil.example")
        assert ConvoClient(url=server.url, agent_id="demo").ask("start").status == "complete"  # sends no Origin
    assert response.status_code == 403
    assert b"does not accept connections from web pages" in response.body

    async def allowed():
        async with serve(chunk_delay=0, allowed_origins=("http://evil.example",)) as server:
            return await _frames(server.url, GOOD)

    frames, code = asyncio.run(allowed())
    assert code == 1000 and frames[-1]["type"] == "sync_chat_history"


@pytest.mark.parametrize(
    ("origins", "message"),
    [
        ("http://localhost:8888", "expected a tuple of origins"),
        ((8888,), "each origin must be a string"),
        (("http://localhost:8888/",), "no path or trailing slash"),
        (("localhost:8888",), "is not an origin"),
    ],
)
def test_allowed_origins_are_checked(origins, message):
    with pytest.raises(ConfigurationError, match=message):
        serve(allowed_origins=origins)


def _ipv6_loopback_works() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    ("host", "url_host"),
    [
        ("0.0.0.0", "127.0.0.1"),
        pytest.param("::", "[::1]", marks=pytest.mark.skipif(not _ipv6_loopback_works(), reason="no IPv6")),
    ],
)
def test_wildcard_host_warns_and_its_url_is_one_the_client_accepts(caplog, host, url_host):
    with serve(host=host, chunk_delay=0) as server:
        assert server.url == f"ws://{url_host}:{server.port}/interact"
        reply = ConvoClient(url=server.url, agent_id="demo").ask("start")
    assert reply.status == "complete"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "the demo agent is reachable from other machines over plain ws://" in warnings[0]


def _local_non_loopback_ipv4() -> str | None:
    """An IPv4 address of this machine's own interfaces that is not loopback (Linux), or None."""
    try:
        import fcntl
    except ImportError:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
            except OSError:
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not ipaddress.ip_address(address).is_loopback:
                return address
    return None


def test_specific_non_loopback_host_warns_that_clients_need_allow_insecure(caplog):
    address = _local_non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    with serve(lambda request: "hi", host=address, chunk_delay=0) as server:
        assert server.url == f"ws://{address}:{server.port}/interact"
        with pytest.raises(InsecureURLError):
            ConvoClient(url=server.url, agent_id="x")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "your agent is reachable from other machines over plain ws://" in warnings[0]
    assert "allow_insecure=True" in warnings[0] and address in warnings[0]


def test_loopback_binding_logs_no_warning(caplog):
    with serve() as server:
        assert server.url.startswith("ws://127.0.0.1:")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# ---------------------------------------------------------------------------- hostile requests


@pytest.mark.parametrize(
    ("frame", "code", "reason"),
    [
        ("[" * 100_000, 1008, "nested deeper than"),
        ('{"a": ' * 50_000 + "1" + "}" * 50_000, 1008, "nested deeper than"),
        ('{"agentId": "a", "convoId": "c", "prompt": "start", "x": ' + "[" * 60 + "]" * 60 + "}", 1000, ""),
        ('{"agentId": "a", "convoId": "c", "prompt": NaN}', 1008, "NaN"),
        ('{"agentId": "a", "convoId": "c", "prompt": "hi", "x": -Infinity}', 1008, "Infinity"),
        ('{"agentId": "a", "convoId": "c", "prompt": "hi", "x": 1e999}', 1008, "too large"),
        ('{"agentId": "a", "convoId": "c", "prompt": "hi", "x": ' + "7" * 5000 + "}", 1008, "digits"),
        ('{"agentId": "a", "convoId": "c", "prompt": "\\ud83d"}', 1008, "prompt"),
        (b"\xc3\x28", 1007, "not UTF-8"),
        ("{", 1007, "not JSON"),
    ],
)
async def test_hostile_requests_get_1007_or_1008_never_1011_or_a_traceback(caplog, frame, code, reason):
    async with serve(chunk_delay=0) as server:
        got_code, got_reason = await _close_of(server.url, frame)
        after = await ConvoClient(url=server.url, agent_id="demo").ask_async("start")
    assert got_code == code
    assert reason in got_reason
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert after.status == "complete"


# ---------------------------------------------------------------------------- history caps


def echo(request):
    return f"echo {request.prompt}"


def test_history_defaults_and_checks():
    server = EmbeddedServer()
    assert (server.max_history_turns, server.max_history_bytes) == (200, 2**20)
    for option in ("max_history_turns", "max_history_bytes", "backlog"):
        for bad in (0, -1, "big", 2.5, True):
            with pytest.raises(ConfigurationError, match=option):
                serve(**{option: bad})


def test_history_is_capped_by_turns_oldest_first():
    seen = []

    def agent(request):
        seen.append(len(request.history))
        return f"echo {request.prompt}"

    with serve(agent, chunk_delay=0, max_history_turns=5) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        convo = None
        for i in range(6):
            reply = client.ask(f"p{i}", convo_id=convo)
            convo = reply.convo_id
        stored = list(server.conversations[convo].turns)
    expected = [text for i in range(6) for text in (f"p{i}", f"echo p{i}")][-5:]
    assert _texts(reply.turns) == expected
    assert _texts(stored) == expected
    assert max(seen) == 5


def test_history_is_capped_by_the_bytes_of_its_json_oldest_first():
    cap = 3000
    with serve(echo, chunk_delay=0, max_history_bytes=cap) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        convo, sizes = None, []
        for i in range(12):
            reply = client.ask(f"{i} " + "x" * 300, convo_id=convo)
            convo = reply.convo_id
            sizes.append(len(json.dumps(reply.turns)))
            assert len(json.dumps(list(server.conversations[convo].turns))) == server.conversations[convo].size
    assert max(sizes) <= cap
    assert sizes[-1] > cap - 2 * 400  # it keeps as much as fits, not less
    texts = _texts(reply.turns)
    assert texts[-1] == "echo 11 " + "x" * 300
    everything = [t for i in range(12) for t in (f"{i} " + "x" * 300, "echo " + f"{i} " + "x" * 300)]
    assert texts == everything[-len(texts) :]  # the newest turns, oldest dropped first


# ---------------------------------------------------------------------------- one metadata frame


async def test_one_metadata_frame_per_reply_with_sources_and_token_counts():
    async def sources_first(request):
        yield {"type": "metadata", "metadata": {"sources": ["https://example.com/a"], "inputTokens": 99}}
        yield "one "
        yield "two"

    async with serve(chunk_delay=0) as server:
        frames, code = await _frames(server.url, {**GOOD, "prompt": "How do I install convowidget?"})
    async with serve(sources_first, chunk_delay=0) as server:
        custom, custom_code = await _frames(server.url, GOOD)
    for got, close in ((frames, code), (custom, custom_code)):
        kinds = [frame["type"] for frame in got]
        assert close == 1000 and kinds.count("metadata") == 1
        assert kinds[-2:] == ["metadata", "sync_chat_history"]  # after every chunk
        metadata = got[kinds.index("metadata")]["metadata"]
        assert metadata["sources"] and {"inputTokens", "outputTokens", "llmUsed"} <= set(metadata)
    assert frames[-2]["metadata"]["sources"][0].startswith("kb/getting-started.md")
    assert custom[-2]["metadata"] == {
        "sources": ["https://example.com/a"],
        "inputTokens": 99,  # the agent's own figure wins
        "outputTokens": 2,
        "llmUsed": "custom",
    }


# ---------------------------------------------------------------------------- leniency


async def test_requests_the_real_protocol_allows_complete_and_agent_fields_pass_through():
    received = []

    async def agent(request):
        received.append(request.request)
        yield {"type": "chunk", "chunk": "Hello ", "chunkIndex": "a0"}
        yield {"type": "chunk", "chunk": "world", "chunkIndex": 1.5}
        yield "!"

    request = {
        **GOOD,
        "prompt": "hi",
        "replyTo": {"mid": "m-1", "text": "earlier"},
        "lightConvoData": {"origin": "whatsapp", "userImage": "https://example.com/me.png", "capturedVariables": {}},
        "agentProfileId": "p",
        "somethingNew": [1, 2],
    }
    async with serve(agent, chunk_delay=0) as server:
        frames, code = await _frames(server.url, request)
    assert code == 1000
    chunks = [f for f in frames if f["type"] == "chunk"]
    assert [(c["chunk"], c["chunkIndex"]) for c in chunks] == [("Hello ", "a0"), ("world", 1.5), ("!", 2)]
    assert received[0]["replyTo"] == {"mid": "m-1", "text": "earlier"}
    assert _texts(frames[-1]["turns"]) == ["hi", "Hello world!"]


async def test_split_surrogate_pairs_from_an_agent_go_out_escaped():
    async def agent(request):
        yield {"type": "chunk", "chunk": "smile \ud83d"}
        yield "\ude00"

    async with serve(agent, chunk_delay=0) as server:
        frames, code = await _frames(server.url, GOOD)
    assert code == 1000
    assert [f["chunk"] for f in frames if f["type"] == "chunk"] == ["smile \ud83d", "\ude00"]


# ---------------------------------------------------------------------------- fan-out


def test_listen_backlog_holds_a_thousand_connects():
    if shutil.which("ss") is None:
        pytest.skip("needs ss to read the listening socket's backlog")
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    for options, expected in (({}, 2048), ({"backlog": 4000}, 4000)):
        with serve(**options) as server:
            listening = subprocess.run(["ss", "-ltnH", f"sport = :{server.port}"], capture_output=True, text=True)
        assert int(listening.stdout.split()[2]) == min(expected, somaxconn)


async def test_demo_agent_is_native_async_and_uses_no_worker_thread():
    executor = CountingExecutor(max_workers=4)
    asyncio.get_running_loop().set_default_executor(executor)
    assert inspect.isasyncgenfunction(demo_agent)
    async with serve(chunk_delay=0) as server:
        replies = await asyncio.gather(
            *(ConvoClient(url=server.url, agent_id="demo").ask_async("How does streaming work?") for _ in range(5))
        )
    assert all(r.status == "complete" and len(r.chunks) > 20 for r in replies)
    assert executor.submitted == 0


async def test_sync_generators_run_on_a_worker_in_batches_not_a_hop_per_chunk():
    executor = CountingExecutor(max_workers=4)
    asyncio.get_running_loop().set_default_executor(executor)
    threads = set()

    def many(request):
        for i in range(300):
            threads.add(threading.get_ident())
            yield f"{i} "

    async with serve(many, chunk_delay=0) as server:
        reply = await ConvoClient(url=server.url, agent_id="x").ask_async("go")
    assert reply.status == "complete" and reply.text == "".join(f"{i} " for i in range(300))
    assert executor.submitted <= 300 // 64 + 1  # one worker per batch of 64 items, not one per chunk
    assert threading.get_ident() not in threads  # never on the event loop


def test_slow_sync_agent_does_not_delay_other_conversations():
    release = threading.Event()

    def agent(request):
        if request.prompt == "slow":
            release.wait(30)  # a blocking call inside a sync agent
        yield f"{request.prompt} done"

    with serve(agent, chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        slow = client.start("slow")
        fast = client.ask("fast")  # would wait for the slow one if sync agents blocked the loop
        assert not slow.done()
        release.set()
        slow_reply = slow.result(10)
    assert fast.status == "complete" and fast.text == "fast done"
    assert slow_reply.status == "complete" and slow_reply.text == "slow done"


def test_sync_generator_is_closed_when_the_client_leaves():
    closed = threading.Event()

    def endless(request):
        try:
            for i in range(10**6):
                time.sleep(0.01)
                yield f"{i} "
        finally:
            closed.set()

    two = threading.Event()

    def count(event, builder):
        if len(builder.reply.chunks) >= 2:
            two.set()

    with serve(endless, chunk_delay=0) as server:
        pending = ConvoClient(url=server.url, agent_id="x").start("go", on_event=count)
        assert two.wait(10), "no chunks arrived"
        pending.stop()
        assert pending.result(5).text.startswith("0 1 ")
        assert closed.wait(5), "the sync agent kept running after the client left"


def exits_generator(request):
    yield "partial "
    raise SystemExit("agent quit")


def exits_plain(request):
    raise SystemExit("agent quit")


async def exits_async(request):
    yield "partial "
    raise SystemExit("agent quit")


@pytest.mark.parametrize("agent", [exits_generator, exits_plain, exits_async])
def test_an_agent_calling_exit_fails_its_reply_with_1011_and_the_server_lives_on(agent):
    with serve(agent, chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        replies = [client.ask("go"), client.ask("go")]  # the second: the server survived the first
    for reply in replies:
        assert reply.status == "failed" and reply.text == ("" if agent is exits_plain else "partial ")
        assert "1011" in reply.error and "SystemExit: agent quit" in reply.error


# ---------------------------------------------------------------------------- refused handshakes


def test_faults_refuse_handshakes_with_a_status_and_retry_after():
    faults = Faults(refuse_status=429, retry_after=2.0, times=2)
    with serve(chunk_delay=0, faults=faults) as server:
        first, second = _refusal(server.url), _refusal(server.url)
        reply = ConvoClient(url=server.url, agent_id="demo").ask("start")  # the third is served
    for response in (first, second):
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "2"
    assert reply.status == "complete"
    with serve(chunk_delay=0, faults=Faults(refuse_status=503, retry_after=0.2)) as server:
        response = _refusal(server.url)
        assert _refusal(server.url).status_code == 503  # no times: refuses every handshake
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"  # whole seconds, rounded up
    with serve(chunk_delay=0, faults=Faults(refuse_status=503)) as server:
        assert "Retry-After" not in _refusal(server.url).headers


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"refuse_status": 200}, "400-599"),
        ({"refuse_status": "429"}, "400-599"),
        ({"refuse_status": 499}, "not a standard HTTP status"),
        ({"retry_after": 2.0}, "only means something with refuse_status"),
        ({"refuse_status": 429, "retry_after": float("nan")}, "seconds"),
        ({"refuse_status": 429, "retry_after": -1}, "seconds"),
        ({"times": -1}, "times"),
    ],
)
def test_faults_are_checked_when_made(options, message):
    with pytest.raises(ConfigurationError, match=message):
        Faults(**options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"chunk_delay": float("nan")}, "chunk_delay: expected a finite number of seconds"),
        ({"chunk_delay": float("inf")}, "chunk_delay: expected a finite number of seconds"),
        ({"chunk_delay": -1}, "chunk_delay: expected a finite number of seconds"),
        ({"request_timeout": 0}, "request_timeout: expected a positive"),
        ({"max_size": "big"}, "max_size: expected a whole number"),
    ],
)
def test_timing_and_size_options_are_checked_when_the_server_is_made(options, message):
    """``serve(chunk_delay=nan)`` was accepted, and every reply then stalled."""
    with pytest.raises(ConfigurationError, match=message):
        serve(**options)
