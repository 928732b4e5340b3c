"""ChatWidget's kernel side, with a recording comm standing in for the browser.

Every message the widget would send to the front end is captured, so the tests can
check what crosses the wire: the streaming budget, the transcript, and no secrets.
"""

from __future__ import annotations

import json
import time

import pytest
from conftest import SECRETS

from convowidget import ChatWidget, ConfigurationError, ConvoClient, Faults, serve
from convowidget.reply import Reply


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
    assert updates(chat)[-1]["transcript"][-1]["text"] == reply.text


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
    for secret in SECRETS.values():
        for text in (wire, state, bundle, repr(chat), chat.to_json(), chat.to_markdown()):
            assert secret not in text
    assert "Hello there." in wire and "Hello there." in bundle  # the checks look at real content


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
    assert bundle["text/markdown"] == markdown
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "1 exchange" in bundle["text/plain"] or "2 messages" in bundle["text/plain"]


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
