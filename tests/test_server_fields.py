"""The embedded server honours the request's optional fields as the service documents them,
through a real client on loopback: what the agent receives, and what ``sync_chat_history`` holds."""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from convowidget import ConvoClient, serve
from convowidget.forms import form_submission
from convowidget.protocol import ChunkEvent
from convowidget.turns import turn_blocks


def texts(turns: list[dict]) -> list[str]:
    """Each turn's text messages, joined: what was said, turn by turn."""
    return [
        " ".join(m["item"]["payload"]["message"] for m in turn["messages"] if m["item"]["type"] == "text")
        for turn in turns
    ]


def human(text: str) -> dict:
    return {"from": "human", "messages": [{"type": "text", "item": {"type": "text", "payload": {"message": text}}}]}


def bot(text: str) -> dict:
    return {**human(text), "from": "bot"}


@pytest.fixture
def echo():
    """An embedded server whose agent echoes the prompt and keeps every AgentRequest it got."""
    received = []

    def agent(request):
        received.append(request)
        return f"echo {request.prompt}"

    with serve(agent, chunk_delay=0) as server:
        yield server, ConvoClient(url=server.url, agent_id="x", idle_timeout=5), received


# ---------------------------------------------------------------------------- disableRecordHistory


def test_disable_record_history_streams_the_reply_but_stores_nothing_of_the_turn(echo):
    server, client, received = echo
    first = client.ask("one")
    secret = client.ask("off the record", first.convo_id, disableRecordHistory=True)
    assert secret.status == "complete" and secret.text == "echo off the record"
    assert texts(secret.turns) == ["one", "echo one"]  # sync_chat_history: the history without this turn
    assert texts(list(server.conversations[first.convo_id].turns)) == ["one", "echo one"]
    assert received[-1].record_history is False
    assert texts(received[-1].history) == ["one", "echo one", "off the record"]  # the agent still sees the prompt
    after = client.ask("two", first.convo_id)
    assert texts(after.turns) == ["one", "echo one", "two", "echo two"]
    assert received[-1].record_history is True


def test_disable_record_history_on_a_new_conversation_keeps_no_conversation(echo):
    server, client, _ = echo
    reply = client.ask("hello", disableRecordHistory=True)
    assert reply.status == "complete" and reply.turns == []
    assert reply.convo_id not in server.conversations


# ---------------------------------------------------------------------------- turnsHistory


def test_turns_history_replaces_the_stored_history_for_the_turn_and_after(echo):
    server, client, received = echo
    first = client.ask("stored")
    given = [human("earlier question"), bot("earlier answer")]
    reply = client.ask("now", first.convo_id, turnsHistory=given)
    assert received[-1].history_given is True
    assert texts(received[-1].history) == ["earlier question", "earlier answer", "now"]
    # what is stored afterwards: the given turns and this exchange, the old history gone
    assert texts(reply.turns) == ["earlier question", "earlier answer", "now", "echo now"]
    assert list(server.conversations[first.convo_id].turns) == reply.turns
    later = client.ask("later", first.convo_id)
    assert texts(received[-1].history) == ["earlier question", "earlier answer", "now", "echo now", "later"]
    assert texts(later.turns)[-2:] == ["later", "echo later"] and "stored" not in texts(later.turns)


def test_turns_history_with_disable_record_history_leaves_the_store_alone(echo):
    _, client, received = echo
    first = client.ask("kept")
    reply = client.ask("what if", first.convo_id, turnsHistory=[human("imagined")], disableRecordHistory=True)
    assert texts(received[-1].history) == ["imagined", "what if"]
    assert texts(reply.turns) == ["kept", "echo kept"]


# ---------------------------------------------------------------------------- sessionId, visual


def test_session_id_reaches_the_agent_and_defaults_to_the_conversation(echo):
    _, client, received = echo
    reply = client.ask("hi", sessionId="session-7")
    assert received[-1].session_id == "session-7"
    client.ask("again", reply.convo_id)
    assert received[-1].session_id == reply.convo_id


def test_a_visual_prompt_is_stored_with_its_images_and_reaches_the_agent(echo):
    _, client, received = echo
    images = ["https://cdn.example.org/cat.png", "https://cdn.example.org/dog.jpg"]
    reply = client.ask("What are these?", images=images)
    assert received[-1].images == images
    (person,) = [turn for turn in reply.turns if turn["from"] == "human"]
    assert [m["type"] for m in person["messages"]] == ["visual", "visual", "text"]
    blocks = turn_blocks(person)
    assert [(b["kind"], b.get("url") or b.get("text")) for b in blocks] == [
        ("image", images[0]),
        ("image", images[1]),
        ("text", "What are these?"),
    ]
    assert texts(received[-1].history) == ["What are these?"]  # the agent's history has the visual turn too
    assert received[-1].history[-1]["messages"][0]["item"]["payload"] == {"image": images[0]}


def test_a_text_prompt_has_no_images(echo):
    _, client, received = echo
    client.ask("plain", visualPayload={"image": "https://cdn.example.org/x.png"})  # no messageType: not visual
    assert received[-1].images == []


# ---------------------------------------------------------------------------- ui_engine turns saved whole


def test_a_ui_engine_turn_is_stored_whole_with_its_buttons_and_card_title():
    with serve(chunk_delay=0) as server:
        menu = ConvoClient(url=server.url, agent_id="demo").ask("menu")
    stored = menu.turns[-1]
    assert stored["from"] == "bot"
    assert [m["item"]["type"] for m in stored["messages"]] == ["text", "choice", "cardV2"]
    blocks = turn_blocks(stored)
    assert blocks == turn_blocks(menu.ui_turn)  # the history shows what the reply showed
    (choice,) = [b for b in blocks if b["kind"] == "choice"]
    assert "Talk to a human" in [b["label"] for b in choice["buttons"]]
    assert [b["title"] for b in blocks if b["kind"] == "card"] == ["convowidget"]


def test_plain_text_and_snapshots_are_stored_in_arrival_order():
    def snapshot(*messages):
        turn = {"from": "bot", "messages": [{"type": k, "item": {"type": k, "payload": p}} for k, p in messages]}
        return {"type": "chunk", "chunk": json.dumps(turn), "ui_engine": True}

    buttons = {"buttons": [{"name": "Yes", "request": {"type": "text", "payload": {"message": "yes"}}}]}

    def agent(request):
        yield "Before the snapshot. "
        yield snapshot(("text", {"message": "Pick:"}))
        yield snapshot(("text", {"message": "Pick:"}), ("choice", buttons))
        yield "After "
        yield "it."

    with serve(agent, chunk_delay=0) as server:
        reply = ConvoClient(url=server.url, agent_id="x").ask("go")
    stored = reply.turns[-1]["messages"]
    assert [m["item"]["type"] for m in stored] == ["text", "text", "choice", "text"]
    assert texts([reply.turns[-1]]) == ["Before the snapshot.  Pick: After it."]


# ---------------------------------------------------------------------------- isV2


async def test_an_agents_is_v2_chunk_keeps_its_flag_on_the_wire():
    async def agent(request):
        yield ChunkEvent("new ", is_v2=True)
        yield ChunkEvent("old")

    async with serve(agent, chunk_delay=0) as server, connect(server.url) as ws:
        await ws.send(json.dumps({"agentId": "a", "convoId": "c", "prompt": "hi"}))
        frames = []
        with pytest.raises(ConnectionClosed):
            while True:
                frames.append(json.loads(await ws.recv()))
    chunks = [f for f in frames if f["type"] == "chunk"]
    assert [(c["chunk"], c.get("isV2")) for c in chunks] == [("new ", True), ("old", None)]


# ---------------------------------------------------------------------------- form submissions

PASSWORD = "hunter2-Sw0rdfish!"


def signup_agent(received):
    """An agent that sends a sign-up form with a password field, then thanks for what comes back."""

    def agent(request):
        received.append(request)
        if request.form_submission is not None:
            return f"Welcome, {request.form_values['user']}!"
        fields = [
            {"id": "user", "type": "text", "label": "User name", "required": True},
            {"id": "pass", "type": "password", "label": "Password", "required": True},
        ]
        payload = {"title": "Sign up", "fields": fields, "onSubmit": {"type": "submit_form"}}
        form = {"mid": "form-1", "type": "form", "item": {"type": "form", "payload": payload}}
        return [{"type": "chunk", "chunk": json.dumps({"from": "bot", "messages": [form]}), "ui_engine": True}]

    return agent


async def _exchange(url: str, request: dict) -> list[str]:
    """Every frame of one exchange, as the text that came over the wire."""
    frames = []
    async with connect(url) as ws:
        await ws.send(json.dumps(request))
        with pytest.raises(ConnectionClosed):
            while True:
                frames.append(await ws.recv())
    return frames


async def test_a_form_submission_reaches_the_agent_and_is_stored_without_its_password():
    received = []
    async with serve(signup_agent(received), chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        asked = await client.ask_async("sign me up")
        (block,) = [b for b in turn_blocks(asked.ui_turn) if b["kind"] == "form"]
        sent = form_submission(block, {"user": "ann", "pass": PASSWORD})
        request = client.make_request(sent.prompt, asked.convo_id, **sent.extra)
        frames = await _exchange(server.url, request)
        again = await client.ask_async("anything else?", asked.convo_id)
    got = received[1]
    assert got.form_values == {"user": "ann", "pass": PASSWORD}  # the agent asked for it: it gets it
    assert got.form_submission["mid"] == "form-1" and got.action_metadata == {"mid": "form-1"}
    assert any("Welcome, ann!" in frame for frame in frames)
    history = json.loads(frames[-1])
    assert history["type"] == "sync_chat_history"
    assert all(PASSWORD not in frame for frame in frames)
    assert PASSWORD not in json.dumps(again.turns) and PASSWORD not in json.dumps(received[-1].history)
    person = history["turns"][-2]
    assert person["from"] == "human" and texts([person]) == ["User name: ann; Password: (hidden)"]
    (context,) = [m for m in person["messages"] if m["type"] == "context:form_submission"]
    items = {item["field_id"]: item["value"] for item in context["item"]["payload"]["submittedData"]}
    assert items == {"user": "ann", "pass": None}
    # the form it answers is stored filled in, as the spec says the server populates it
    (form,) = [b for b in turn_blocks(history["turns"][1]) if b["kind"] == "form"]
    assert form["submitted"] is True and form["values"] == {"user": "ann", "pass": None}
