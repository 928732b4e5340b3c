"""Global memory caps: the embedded server's histories all together, and what a replay keeps.

Per-conversation caps alone let 1,000 conversations of 1 MiB hold a gigabyte, and a
replay kept every prompt of every conversation (``bench/bench_memory.py`` measures both).
Here the caps are small, to see what goes first and that a live conversation carries on.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import tracemalloc
import uuid

import pytest

from convowidget import ConfigurationError, ConvoClient, EmbeddedServer, serve
from convowidget.cassette import Cassette, CassetteMiss, Exchange, Replay

# ---------------------------------------------------------------------- the embedded server


def echo(request):
    return f"echo {request.prompt[:10]}"


def stored_bytes(server) -> int:
    """What the histories weigh as the server counts it: their JSON and their ids."""
    return sum(len(json.dumps(list(server.conversations[c].turns))) + len(c) for c in server.conversations)


def test_the_total_cap_forgets_the_least_recently_used_conversation_first():
    with serve(echo, chunk_delay=0, max_total_history_bytes=9_000) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        ids = {name: client.new_convo_id() for name in "abcd"}
        for name in "abc":  # about 2,000 bytes each
            client.ask(name * 1900, convo_id=ids[name])
        assert list(server.conversations) == [ids[n] for n in "abc"]
        client.ask("a again", convo_id=ids["a"])  # a is now the most recently used
        client.ask("d" * 3000, convo_id=ids["d"])  # past 9,000 bytes: b goes, not a
        assert list(server.conversations) == [ids[n] for n in "cad"]
        assert server.conversations.total_bytes == stored_bytes(server) <= 9_000

        again = client.ask("b again", convo_id=ids["b"])  # b goes on, with a fresh history
        assert again.status == "complete" and again.text == "echo b again"
        assert [turn["messages"][0]["item"]["payload"]["message"] for turn in again.turns] == ["b again", again.text]
        assert list(server.conversations) == [ids[n] for n in "cadb"]
        kept_a = [t["messages"][0]["item"]["payload"]["message"][:7] for t in server.conversations[ids["a"]].turns]
    assert kept_a == ["a" * 7, "echo aa", "a again", "echo a "]  # a kept its whole history


def test_a_conversation_forgotten_while_its_agent_answers_comes_back_with_its_turns():
    answering, release = threading.Event(), threading.Event()

    async def agent(request):
        if request.prompt.startswith("slow"):
            answering.set()
            while not release.is_set():
                await asyncio.sleep(0.01)
        yield f"echo {request.prompt[:4]}"

    with serve(agent, chunk_delay=0, max_total_history_bytes=5_000) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        convo = client.new_convo_id()
        slow = client.start("slow " + "s" * 1500, convo)
        assert answering.wait(10)
        for _ in range(4):  # 2,000 bytes each: the slow conversation is forgotten
            client.ask("x" * 2000)
        forgotten = convo not in server.conversations
        release.set()
        reply = slow.result(10)
        assert forgotten and reply.status == "complete"
        assert list(server.conversations)[-1] == convo  # back, as the most recent
        assert [turn["from"] for turn in server.conversations[convo].turns] == ["human", "bot"]  # nothing lost
        assert [turn["from"] for turn in reply.turns] == ["human", "bot"]
        assert server.conversations.total_bytes == stored_bytes(server) <= 5_000


def test_the_total_cap_has_a_default_and_is_checked():
    assert EmbeddedServer().max_total_history_bytes == 64 * 2**20
    for bad in (0, -1, "big", 2.5, True):
        with pytest.raises(ConfigurationError, match="max_total_history_bytes"):
            serve(max_total_history_bytes=bad)


def test_one_conversation_never_holds_more_than_the_total_cap():
    with serve(echo, chunk_delay=0, max_total_history_bytes=3_000) as server:  # below the 1 MiB per conversation
        client = ConvoClient(url=server.url, agent_id="x")
        convo = client.new_convo_id()
        for i in range(5):
            reply = client.ask(f"{i} " + "x" * 1400, convo_id=convo)
        assert reply.status == "complete" and server.conversations.total_bytes <= 3_000
        assert list(server.conversations) == [convo]
        assert [turn["from"] for turn in server.conversations[convo].turns] == ["bot", "human", "bot"]  # the newest


# ---------------------------------------------------------------------- a replay


def recording(prompts: list[str], convo_id: str = "rec") -> list[Exchange]:
    return [Exchange(convo_id, p, {}, ((0.0, json.dumps({"type": "chunk", "chunk": p[:8]})),), None) for p in prompts]


def ask(replay: Replay, convo_id: str, prompt: str) -> str:
    """What the replay answers, as from a server: the request parsed fresh from a frame."""
    request = json.loads(json.dumps({"agentId": "a", "convoId": convo_id, "prompt": prompt}))
    return json.loads(replay.answer(request).frames[0][1])["chunk"]


def test_a_replay_keeps_no_prompt_text_per_conversation():
    long = "p" * 200_000
    replay = Replay(Cassette(recording([long, long + " two"])), pace=0)
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(100):  # 100 conversations, two 200 KB turns each: 40 MB of prompts went through
            convo = uuid.uuid4().hex
            assert [ask(replay, convo, long), ask(replay, convo, long + " two")] == ["pppppppp", "pppppppp"]
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 200_000, f"the replay kept {kept:,} bytes for 100 conversations"


def test_a_replay_forgets_the_least_recently_used_conversation_past_its_cap():
    cassette = Cassette(recording(["hello", "more"]))
    replay = Replay(cassette, pace=0, max_conversations=2)
    for convo in ("one", "two", "three"):
        assert ask(replay, convo, "hello") == "hello"
    assert ask(replay, "three", "more") == "more"  # live conversations go on
    assert ask(replay, "two", "more") == "more"
    with pytest.raises(CassetteMiss, match="to start a conversation"):  # "one" was forgotten: "more" starts it
        ask(replay, "one", "more")
    with pytest.raises(ConfigurationError, match="max_conversations"):
        Replay(cassette, max_conversations=0)


def test_a_replay_still_follows_each_recording_of_a_repeated_conversation():
    cassette = Cassette([*recording(["hi", "first a"], "r1"), *recording(["hi", "second b"], "r2")])
    replay = Replay(cassette, pace=0)
    assert [ask(replay, "x", "hi"), ask(replay, "x", "first a")] == ["hi", "first a"]
    assert [ask(replay, "y", "hi"), ask(replay, "y", "second b")] == ["hi", "second b"]
    assert ask(replay, "z", "hi") == "hi"
    with pytest.raises(CassetteMiss, match="as turn 2 of a conversation, after 'hi'"):
        ask(replay, "z", "nothing recorded")
