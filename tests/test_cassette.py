"""Cassettes: recording exchanges from a real server, and replaying them byte for byte.

The format is tested first with bare websockets clients and servers (frames captured the
way ``ConvoClient(record=...)`` captures them, played the way ``serve(replay=...)`` plays
them); then through the product itself: the client's ``record=``, the embedded server's
``replay=``, a suite run offline, a chat panel, every way an exchange ends, a full disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading

import pytest
from conftest import SECRETS
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed

from convowidget import ConfigurationError, ConvoClient, Faults, serve
from convowidget.cassette import Cassette, CassetteError, CassetteMiss, Close, Recorder, Replay
from convowidget.protocol import build_interact, fix_surrogates, parse_frame
from convowidget.reply import ReplyBuilder

PERSONAL = {**SECRETS, "user_name": "Ada Lovelace-Secret"}
CONVERSATION = ["start", "How do I install it?", "menu", "I want a human"]


def request(prompt: str, convo_id: str, token: str | None = None, **person) -> dict:
    return build_interact(agent_id="demo", convo_id=convo_id, prompt=prompt, **person)


async def exchange(url: str, interact: dict, token: str | None = None) -> tuple[list[tuple[float, str | bytes]], Close]:
    """One exchange as the client sees it: every frame with its time after the request, and the close."""
    loop = asyncio.get_running_loop()
    frames = []
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with connect(url, additional_headers=headers) as ws:
        await ws.send(json.dumps(interact))
        sent = loop.time()
        try:
            while True:
                frame = await ws.recv()
                frames.append((loop.time() - sent, frame))
        except ConnectionClosed as exc:
            close = Close(exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else Close(1006)
    return frames, close


@contextlib.asynccontextmanager
async def replay_server(replay: Replay):
    """A loopback server answering from the cassette (what serve(replay=...) does)."""

    async def handle(ws):
        interact = json.loads(await ws.recv())
        try:
            playback = replay.answer(interact)
        except CassetteMiss as exc:
            await ws.close(4404, str(exc)[:120])
            return
        await playback.play(ws.send)
        if playback.close is None:
            await ws.wait_closed()
        elif playback.close.sendable:
            await ws.close(playback.close.code, playback.close.reason)
        else:
            ws.transport.abort()

    async with ws_serve(handle, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/interact"


def assemble(prompt: str, frames) -> dict:
    builder = ReplyBuilder(prompt)
    for _, frame in frames:
        builder.feed(parse_frame(frame))
    reply = builder.finish()
    return {
        key: getattr(reply, key)
        for key in ("text", "sources", "source_details", "metadata", "actions", "handoff", "turns", "ui_turn")
    }


async def record_conversation(url: str, path, prompts=CONVERSATION, **person) -> list:
    recorder = Recorder(path)
    convo_id = "recorded-conversation"
    captured = []
    for prompt in prompts:
        interact = request(prompt, convo_id, **person)
        frames, close = await exchange(url, interact, person.get("token"))
        recorder.record(interact, frames, close)
        captured.append((frames, close))
    return captured


async def test_a_replayed_conversation_is_byte_identical_to_the_recording(tmp_path):
    path = tmp_path / "session.jsonl"
    async with serve(chunk_delay=0.001) as server:
        recorded = await record_conversation(server.url, path, **PERSONAL)
    assert len(path.read_text().splitlines()) == len(CONVERSATION)

    replay = Replay(path, pace=0)
    async with replay_server(replay) as url:
        replayed = [await exchange(url, request(p, "a-new-conversation")) for p in CONVERSATION]
    for (frames, close), (again, close_again) in zip(recorded, replayed, strict=True):
        assert [frame for _, frame in again] == [frame for _, frame in frames]  # the same text, byte for byte
        assert close_again == close == Close(1000, "")
    # ...and so the replies built from them hold the same text, sources, ui_engine turn, handoff, metadata
    originals = [assemble(p, frames) for p, (frames, _) in zip(CONVERSATION, recorded, strict=True)]
    copies = [assemble(p, frames) for p, (frames, _) in zip(CONVERSATION, replayed, strict=True)]
    assert copies == originals
    assert originals[1]["sources"] and originals[2]["ui_turn"] and originals[3]["handoff"]
    assert originals[3]["turns"] and originals[3]["metadata"]["llmUsed"] == "convowidget-demo"


async def test_a_client_gets_the_same_replies_from_a_replay(tmp_path):
    path = tmp_path / "session.jsonl"
    async with serve(chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="demo")
        convo = client.new_convo_id()
        originals = [await client.ask_async(p, convo) for p in CONVERSATION]
        await record_conversation(server.url, path)
    async with replay_server(Replay(path, pace=0)) as url:
        client = ConvoClient(url=url, agent_id="demo")
        convo = client.new_convo_id()
        copies = [await client.ask_async(p, convo) for p in CONVERSATION]
        missing = await client.ask_async("never recorded", convo)
    for original, copy in zip(originals, copies, strict=True):
        assert (copy.text, copy.sources, copy.handoff, copy.ui_turn) == (
            original.text,
            original.sources,
            original.handoff,
            original.ui_turn,
        )
    assert missing.status == "failed"
    assert "no reply to 'never recorded' as turn 5 of a conversation" in missing.error


async def test_no_secret_or_personal_data_reaches_the_cassette(tmp_path):
    def echo(agent_request):  # an agent that repeats the caller's personal data back
        light = agent_request.request["lightConvoData"]
        owner = agent_request.request["agentData"]["ownerID"]
        return f"Hello {light['userName']} <{light['userEmail']}>, {light['userPhone']}, account {owner}"

    path = tmp_path / "session.jsonl"
    async with serve(echo, chunk_delay=0) as server:
        await record_conversation(server.url, path, prompts=["hi"], **PERSONAL)
    text = path.read_text(encoding="utf-8")
    for value in PERSONAL.values():
        assert value not in text
        assert json.dumps(value)[1:-1] not in text
    (line,) = map(json.loads, text.splitlines())
    assert "agentData" not in line["request"]
    assert line["request"]["lightConvoData"] == {"origin": "web-chat"}
    replies = "".join(frame for _, frame in line["frames"] if '"chunk"' in frame)
    assert "[redacted]" in replies


def test_a_miss_names_the_prompt_and_where_it_was_asked(tmp_path):
    path = tmp_path / "two.jsonl"
    recorder = Recorder(path)
    recorder.record(request("hi", "c1"), [(0.0, "hi back")], Close(1000))
    replay = Replay(path)
    with pytest.raises(CassetteMiss) as caught:
        replay.answer(request("What is the price?", "x"))
    assert caught.value.prompt == "What is the price?"
    assert str(caught.value) == (
        "the cassette two.jsonl has no reply to 'What is the price?' to start a conversation; "
        "record this conversation with ConvoClient(record=...) and replay again"
    )
    replay.answer(request("hi", "y"))
    with pytest.raises(CassetteMiss, match="no reply to 'hi' as turn 2 of a conversation, after 'hi'"):
        replay.answer(request("hi", "y"))


def make_cassette(path, conversations: dict[str, list[tuple[str, str]]]) -> Cassette:
    recorder = Recorder(path)
    for convo_id, turns in conversations.items():
        for prompt, answer in turns:
            recorder.record(request(prompt, convo_id), [(0.01, answer)], Close(1000))
    return Cassette.load(path)


def answers(replay: Replay, convo_id: str, prompts: list[str]) -> list[str]:
    return [replay.answer(request(p, convo_id)).frames[0][1] for p in prompts]


def test_replay_finds_each_turn_by_the_conversation_so_far(tmp_path):
    cassette = make_cassette(
        tmp_path / "c.jsonl",
        {
            "A": [("hi", "A1"), ("and then?", "A2")],
            "B": [("hello", "B1"), ("and then?", "B2"), ("price?", "B3")],
        },
    )
    replay = Replay(cassette)
    assert answers(replay, "x", ["hello", "and then?"]) == ["B1", "B2"]
    assert answers(replay, "y", ["hi", "and then?"]) == ["A1", "A2"]
    # Not recorded after 'hi', 'and then?': found by prompt and position instead.
    assert answers(replay, "z", ["hi", "and then?", "price?"]) == ["A1", "A2", "B3"]
    with pytest.raises(CassetteMiss):
        replay.answer(request("and then?", "w"))  # never the first turn of a recording


def test_recordings_of_the_same_conversation_are_replayed_in_turn(tmp_path):
    recorder = Recorder(tmp_path / "r.jsonl")
    for run, answer in enumerate(["one", "two"]):
        recorder.record(request("q", f"run{run}"), [(0.0, answer)], Close(1000))
        recorder.record(request("more", f"run{run}"), [(0.0, answer + "+")], Close(1000))
    replay = Replay(recorder.path)
    assert [answers(replay, f"c{i}", ["q", "more"]) for i in range(3)] == [
        ["one", "one+"],
        ["two", "two+"],
        ["one", "one+"],
    ]


def test_pace_scales_the_recorded_timing(tmp_path):
    path = tmp_path / "p.jsonl"
    Recorder(path).record(request("q", "c"), [(0.1, "a"), (0.25, "b"), (1.5, "c")], Close(1000))
    at = {pace: [t for t, _ in Replay(path, pace=pace).answer(request("q", "c")).frames] for pace in (1, 0, 2)}
    assert at == {1: [0.1, 0.25, 1.5], 0: [0.0, 0.0, 0.0], 2: [0.2, 0.5, 3.0]}
    with pytest.raises(ValueError, match="pace: expected a number of at least 0"):
        Replay(path, pace=-1)


async def test_playback_sends_every_frame_in_order():
    sent = []

    async def send(frame):
        sent.append(frame)

    path_frames = ((0.0, "a"), (0.01, b"\x00binary"), (0.02, "c"))
    from convowidget.cassette import Exchange, Playback

    source = Exchange("c", "q", {}, path_frames, Close(1000))
    await Playback("q", path_frames, Close(1000), source).play(send)
    assert sent == ["a", b"\x00binary", "c"]


def test_binary_frames_closes_and_lone_surrogates_round_trip(tmp_path):
    path = tmp_path / "b.jsonl"
    recorder = Recorder(path)
    frames = [(0.0, b"\x00\xff raw"), (0.1, "half \ud83d"), (0.2, '{"type": "chunk", "chunk": "\u00e9"}'.encode())]
    recorder.record(request("bin", "c"), frames, Close(1011, "agent error"))
    recorder.record(request("drop", "d"), [(0.0, "partial")], {"code": 1006, "reason": ""})
    recorder.record(request("stop", "e"), [], None)
    replay = Replay(path)
    first = replay.answer(request("bin", "x"))
    # Undecoded UTF-8 frames (a client reading with decode=False) come back as the text frames they were.
    assert [frame for _, frame in first.frames] == [b"\x00\xff raw", "half \ud83d", '{"type": "chunk", "chunk": "é"}']
    assert first.close == Close(1011, "agent error") and first.close.sendable
    dropped = replay.answer(request("drop", "y")).close
    assert dropped == Close(1006) and not dropped.sendable
    assert replay.answer(request("stop", "z")).close is None


def test_a_broken_cassette_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    Recorder(path).record(request("q", "c"), [(0.0, "a")], Close(1000))
    with open(path, "a", encoding="utf-8") as file:
        file.write("{not json\n")
    with pytest.raises(CassetteError, match=r"bad.jsonl line 2: not JSON"):
        Cassette.load(path)
    path.write_text('{"convo_id": "c", "prompt": "q", "frames": [["soon", "a"]], "close": null}\n')
    with pytest.raises(CassetteError, match=r"bad.jsonl line 1: each frame must be \[seconds, text\]"):
        Cassette.load(path)
    with pytest.raises(CassetteError, match="no cassette at"):
        Cassette.load(tmp_path / "missing.jsonl")


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        ('[Infinity, "a"]', "a frame's time must be a finite number of seconds, at most 86400; got inf"),
        ('[-Infinity, "a"]', "got -inf"),
        ('[NaN, "a"]', "got nan"),
        ('[1e400, "a"]', "got inf"),
        (f'[{10**400}, "a"]', "got 1000000000000000000"),
        ('[1e300, "a"]', "got 1e+300"),  # finite, but the replay would wait for ever
        ('[0.1, {"base64": "!!!!"}]', "a binary frame's base64 is not valid base64"),
        ('[0.1, {"base64": "abc"}]', "a binary frame's base64 is not valid base64"),
    ],
)
def test_a_cassette_time_or_base64_that_cannot_replay_is_named_with_its_line(tmp_path, frame, problem):
    path = tmp_path / "bad.jsonl"
    Recorder(path).record(request("q", "c"), [(0.0, "a")], Close(1000))
    with open(path, "a", encoding="utf-8") as file:
        file.write(f'{{"convo_id": "c", "prompt": "q2", "frames": [{frame}], "close": null}}\n')
    with pytest.raises(CassetteError) as raised:
        Cassette.load(path)
    assert str(raised.value).startswith("bad.jsonl line 2: ") and problem in str(raised.value)


@pytest.mark.parametrize("reason", ["é" * 100, "x" * 200, "\ud83d\ude00" * 40, "\ud83d" * 3 + "lone halves"])
def test_a_recorded_close_reason_too_long_for_a_close_frame_replays_cut_short(tmp_path, caplog, reason):
    path = tmp_path / "long-reason.jsonl"
    chunk = json.dumps({"type": "chunk", "chunk": "hi", "chunkIndex": 0})
    Recorder(path).record(request("q", "c"), [(0.0, chunk)], Close(4000, reason))
    with serve(replay=path, pace=0) as server:
        reply = ConvoClient(url=server.url, agent_id="demo").ask("q")
    sent = Cassette.load(path).exchanges[0].close.reason
    assert len(sent.encode("utf-8")) <= 123 and fix_surrogates(reason).startswith(sent)
    assert len(sent) >= min(30, len(reason))  # cut, not emptied
    assert (reply.status, reply.text) == ("failed", "hi") and "(close code 4000)" in reply.error
    assert sent in reply.error and "internal error" not in reply.error
    assert "connection handler failed" not in caplog.text


def test_unicode_line_separators_in_a_reply_do_not_split_its_cassette_line(tmp_path):
    path = tmp_path / "separators.jsonl"
    text = "one\u2028two\u2029three\x85four\x1cfive"  # str.splitlines() breaks lines at each
    chunk = json.dumps({"type": "chunk", "chunk": text, "chunkIndex": 0}, ensure_ascii=False)
    Recorder(path).record(request("q", "c"), [(0.0, chunk)], Close(1000))
    Recorder(path).record(request("q2", "c"), [(0.0, "x")], Close(1000))
    cassette = Cassette.load(path)
    assert [e.prompt for e in cassette.exchanges] == ["q", "q2"] and [e.line for e in cassette.exchanges] == [1, 2]
    assert json.loads(cassette.exchanges[0].frames[0][1])["chunk"] == text


def test_recording_from_many_threads_never_interleaves_lines(tmp_path):
    recorder = Recorder(tmp_path / "many.jsonl")
    big = "x" * 100_000  # far beyond any pipe or page-size atomicity

    def work(worker: int) -> None:
        for n in range(25):
            recorder.record(request(f"w{worker} n{n}", f"c{worker}"), [(0.0, big), (0.1, f"{worker}:{n}")], Close(1000))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cassette = Cassette.load(recorder.path)
    assert len(cassette) == 200
    assert sorted(e.frames[1][1] for e in cassette.exchanges) == sorted(f"{w}:{n}" for w in range(8) for n in range(25))
    assert [e.prompt for e in cassette.conversations["c3"]] == [f"w3 n{n}" for n in range(25)]


# ---------------------------------------------------------------------- ConvoClient(record=) and serve(replay=)


def test_client_records_and_the_embedded_server_replays(tmp_path):
    path = tmp_path / "session.jsonl"
    with serve(chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="demo", record=path, **PERSONAL)
        convo = client.new_convo_id()
        originals = [client.ask(p, convo) for p in CONVERSATION]
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) == len(CONVERSATION)
    for value in PERSONAL.values():
        assert value not in text
    with serve(replay=path, pace=0) as server:
        client = ConvoClient(url=server.url, agent_id="demo")
        convo = client.new_convo_id()
        copies = [client.ask(p, convo) for p in CONVERSATION]
        missing = client.ask("never recorded", convo)
    for original, copy in zip(originals, copies, strict=True):
        assert (copy.text, copy.sources, copy.handoff, copy.ui_turn, copy.metadata, copy.turns) == (
            original.text,
            original.sources,
            original.handoff,
            original.ui_turn,
            original.metadata,
            original.turns,
        )
    assert missing.status == "failed"
    assert missing.error == (
        "the server has no reply to this prompt: \"no recorded reply to 'never recorded' as turn 5\". "
        "A replay knows only what its cassette recorded: record this conversation first. (close code 4404)"
    )


def test_a_suite_recorded_once_runs_offline_from_the_cassette(tmp_path):
    from convowidget.suite import Scenario, Suite, Turn, run_suite

    suite = Suite(
        [
            Scenario("install", [Turn("How do I install it?", expect={"contains": "pip", "sources_include": "kb/"})]),
            Scenario("human", ["start", Turn("I want a human", expect={"handoff": True})]),
        ]
    )
    path = tmp_path / "suite.jsonl"
    with serve(chunk_delay=0) as server:
        live = run_suite(ConvoClient(url=server.url, agent_id="demo", record=path), suite, progress=False, repeat=2)
    with serve(replay=path, pace=0) as server:
        offline = run_suite(ConvoClient(url=server.url, agent_id="demo"), suite, progress=False, repeat=2)
    assert live.passed == offline.passed == 2
    assert [t.text for t in offline.turns] == [t.text for t in live.turns]


def test_a_chat_panel_records_too(tmp_path, recording_comm):
    from convowidget import ChatWidget

    path = tmp_path / "panel.jsonl"
    with serve(chunk_delay=0) as server:
        chat = ChatWidget(url=server.url, agent_id="demo", record=path)
        chat.ask("start")
        chat.ask("menu")
    (greeting, menu) = Cassette.load(path).exchanges
    assert (greeting.prompt, menu.prompt) == ("start", "menu")
    assert greeting.convo_id == menu.convo_id == chat.convo_id


def test_each_way_an_exchange_ends_is_recorded_and_replayed_the_same(tmp_path):
    path = tmp_path / "endings.jsonl"
    words = "one two three four five six"
    endings = {
        "error": Faults(close_after=2, close_code=1011, close_reason="agent crashed"),
        "drop": Faults(drop_after=2),
        "stall": Faults(stall_after=2),  # the server goes quiet; the client gives up and closes
    }
    originals = {}
    for name, faults in endings.items():
        with serve(lambda request: words, chunk_delay=0, faults=faults) as server:
            client = ConvoClient(url=server.url, agent_id="a", idle_timeout=1, record=path)
            originals[name] = client.ask(name)
    closes = {exchange.prompt: exchange.close for exchange in Cassette.load(path).exchanges}
    assert closes == {"error": Close(1011, "agent crashed"), "drop": Close(1006), "stall": None}
    with serve(replay=path, pace=0) as server:
        client = ConvoClient(url=server.url, agent_id="a", idle_timeout=1)
        copies = {name: client.ask(name) for name in endings}
    for name, original in originals.items():
        assert original.status == "failed" and original.text == "one two "
        assert (copies[name].status, copies[name].text, copies[name].error) == (
            original.status,
            original.text,
            original.error,
        )


def test_only_delivered_exchanges_are_recorded(tmp_path):
    path = tmp_path / "retried.jsonl"
    with serve(chunk_delay=0, faults=Faults(refuse_status=503, retry_after=0, times=1)) as server:
        reply = ConvoClient(url=server.url, agent_id="demo", record=path).ask("start", retries=1)
    assert reply.status == "complete"
    (exchange,) = Cassette.load(path).exchanges  # the refused handshake sent nothing: no line for it
    assert exchange.prompt == "start" and exchange.close == Close(1000)


async def test_a_token_the_server_echoes_never_reaches_the_cassette(tmp_path):
    async def echo_headers(ws):
        await ws.recv()
        chunk = {"type": "chunk", "chunk": f"you sent {ws.request.headers['Authorization']}", "chunkIndex": 0}
        await ws.send(json.dumps(chunk))
        await ws.close(1000)

    path = tmp_path / "token.jsonl"
    async with ws_serve(echo_headers, "127.0.0.1", 0) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/interact"
        reply = await ConvoClient(url=url, agent_id="a", record=path, **SECRETS).ask_async("hi")
    assert reply.text == f"you sent Bearer {SECRETS['token']}"  # the client itself sees it...
    text = path.read_text(encoding="utf-8")
    assert SECRETS["token"] not in text and "you sent Bearer [redacted]" in text  # ...the cassette never


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full to play a full disk")
def test_a_full_disk_does_not_fail_the_reply(caplog):
    caplog.set_level(logging.DEBUG, logger="convowidget.client")
    with serve(chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="demo", record="/dev/full", **SECRETS)
        replies = [client.ask("start"), client.ask("menu")]
    assert [reply.status for reply in replies] == ["complete", "complete"]
    ours = [record for record in caplog.records if record.name == "convowidget.client"]
    assert [record.levelno for record in ours] == [logging.WARNING, logging.DEBUG]  # said once, then quietly
    message = ours[0].getMessage()
    assert "could not add an exchange to the cassette /dev/full (No space left on device)" in message
    assert "the reply itself is fine" in message
    for value in SECRETS.values():
        assert value not in caplog.text


def test_bad_record_and_replay_options_fail_at_once(tmp_path):
    with pytest.raises(ConfigurationError, match="record: expected the path of a cassette file, got int"):
        ConvoClient(url="ws://127.0.0.1:9/interact", agent_id="a", record=3)
    with pytest.raises(ConfigurationError, match="record: cannot write the cassette"):
        ConvoClient(url="ws://127.0.0.1:9/interact", agent_id="a", record=tmp_path / "no" / "such" / "folder.jsonl")
    path = tmp_path / "c.jsonl"
    Recorder(path).record(request("hi", "c"), [(0.0, "hello")], Close(1000))
    with pytest.raises(ConfigurationError, match="either an agent or replay"):
        serve(lambda request: "x", replay=path)
    with pytest.raises(ConfigurationError, match=r"only Faults\(refuse_status=...\) applies"):
        serve(replay=path, faults=Faults(drop_after=1))
    with pytest.raises(CassetteError, match="no cassette at"):
        serve(replay=tmp_path / "missing.jsonl")
    with pytest.raises(ConfigurationError, match="pace: expected a number of at least 0"):
        serve(replay=path, pace=-1)
    assert serve(replay=path).label == "Replay of c.jsonl (embedded server)"
