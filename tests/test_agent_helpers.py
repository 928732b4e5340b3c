"""``convowidget.agent``: what a custom agent yields comes back to the client as the right
``Reply.tool_calls`` and blocks, as one growing snapshot, or as markdown without the ui_engine."""

from __future__ import annotations

import json

import pytest

from convowidget import ConfigurationError, ConvoClient, ToolCall, serve
from convowidget import agent as ui
from convowidget.agent import UIMessage
from convowidget.forms import form_submission
from convowidget.protocol import ChunkEvent
from convowidget.turns import parse_snapshot, turn_blocks

ORDER = {"order_id": "A-17", "status": "shipped"}


def everything():
    """One of each builder, in the order the spec prefers."""
    return [
        ui.text("Here you are:"),
        ui.card("**Pro plan**", "Unlimited agents.", buttons=[ui.button("Upgrade", url="https://example.org/up")]),
        ui.image("https://cdn.example.org/team.png"),
        ui.iframe("https://video.example.org/embed/1", layout="vertical"),
        ui.form(
            [
                ui.form_field("name", "Your name", required=True, placeholder="Ada"),
                ui.form_field("size", "Team size", "select", options=[("s", "Small"), ("l", "Large")]),
                ui.form_field("ok", "I agree", "checkbox", required=True),
            ],
            title="Sign up",
            submit_label="Join",
        ),
        ui.input_field(ui.form_field("email", "Email", "email", required=True), submit_on_enter=False),
        ui.notice("Saved!"),
        ui.choice("Yes", ui.button("No thanks", "no")),
    ]


def run(agent, **extra):
    """The reply to one prompt from ``agent`` on a real embedded server, and every event the client got."""
    events = []
    with serve(agent, chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        reply = client.start("go", on_event=lambda event, builder: events.append(event), **extra).result(10)
    return reply, events


def test_a_tool_call_comes_back_as_reply_tool_calls():
    def agent(request):
        yield ui.tool_call("lookup_order", {"order_id": "A-17"}, ORDER)
        yield "It has shipped."

    reply, _ = run(agent)
    assert reply.tool_calls == [ToolCall("lookup_order", {"order_id": "A-17"}, ORDER)]
    assert reply.actions == [
        {
            "type": "tool_call",
            "toolMetadata": {"toolName": "lookup_order", "input": {"order_id": "A-17"}, "output": ORDER},
        }
    ]
    assert reply.text == "It has shipped." and not reply.warnings


def test_ui_messages_grow_into_one_snapshot_the_client_reads_back_as_blocks():
    messages = everything()

    def agent(request):
        yield from messages

    reply, events = run(agent)
    snapshots = [e for e in events if isinstance(e, ChunkEvent) and e.ui_engine]
    # snapshots overwrite: each holds every message so far, so the last one is the whole turn
    assert [len(parse_snapshot(s.text)["messages"]) for s in snapshots] == list(range(1, len(messages) + 1))
    assert reply.status == "complete" and not reply.warnings and reply.chunks == []
    blocks = turn_blocks(reply.ui_turn)
    assert [b["kind"] for b in blocks] == ["text", "card", "image", "iframe", "form", "input", "notice", "choice"]
    text, card, image, iframe, form, field, notice, choice = blocks
    assert text["text"] == "Here you are:"
    assert card["title"] == "**Pro plan**" and card["buttons"] == [
        {"label": "Upgrade", "url": "https://example.org/up"}
    ]
    assert image["url"] == "https://cdn.example.org/team.png"
    assert (iframe["layout"], iframe["host"]) == ("vertical", "video.example.org")
    assert form["mid"] == messages[4].mid and form["title"] == "Sign up" and form["submit"]["label"] == "Join"
    assert [(f["id"], f["type"], f["required"]) for f in form["fields"]] == [
        ("name", "text", True),
        ("size", "select", False),
        ("ok", "checkbox", True),
    ]
    assert form["fields"][1]["options"] == [{"value": "s", "label": "Small"}, {"value": "l", "label": "Large"}]
    assert field["field"]["type"] == "email" and field["submit_on_enter"] is False
    assert notice == {"kind": "notice", "level": "success", "text": "Saved!"}
    assert choice["buttons"] == [{"label": "Yes", "message": "Yes"}, {"label": "No thanks", "message": "no"}]
    assert turn_blocks(reply.turns[-1]) == blocks  # stored whole in the history


def test_a_form_built_with_the_helpers_can_be_submitted_back():
    def agent(request):
        if request.form_submission:
            yield f"Hello {request.form_values['name']}, size {request.form_values['size']}."
        else:
            yield everything()[4]

    with serve(agent, chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="x")
        asked = client.ask("sign me up")
        (form,) = [b for b in turn_blocks(asked.ui_turn) if b["kind"] == "form"]
        sent = form_submission(form, {"name": "Ann", "size": "Large", "ok": True})
        answer = client.ask(sent.prompt, asked.convo_id, **sent.extra)
    assert answer.text == "Hello Ann, size l."
    (stored,) = [b for b in turn_blocks(answer.turns[1]) if b["kind"] == "form"]
    assert stored["submitted"] and stored["values"] == {"name": "Ann", "size": "l", "ok": True}


def test_plain_text_between_ui_messages_streams_and_is_stored_where_it_came():
    def agent(request):
        yield "First, "
        yield "some words. "
        yield ui.notice("Saved!")
        yield "Then more."
        yield ui.choice("Again")

    reply, _ = run(agent)
    assert reply.chunks == ["First, ", "some words. ", "Then more."]
    assert [b["kind"] for b in turn_blocks(reply.ui_turn)] == ["notice", "choice"]
    stored = reply.turns[-1]["messages"]
    assert [(m["item"]["type"], m["item"]["payload"].get("message")) for m in stored] == [
        ("text", "First, some words. "),
        ("info:success", "Saved!"),
        ("text", "Then more."),
        ("choice", None),
    ]


def test_without_the_ui_engine_the_server_writes_ui_messages_as_markdown():
    received = []

    def agent(request):
        received.append(request.disable_ui_engine)
        yield "Intro."
        yield from everything()
        yield ui.tool_call("lookup_order", {"order_id": "A-17"}, ORDER)

    reply, events = run(agent, disableUiEngine=True)
    assert received == [True]
    assert reply.ui_turn is None and not any(isinstance(e, ChunkEvent) and e.ui_engine for e in events)
    text = reply.text
    for expected in (
        "Intro.\n\nHere you are:",
        "**Pro plan**",
        "[Upgrade](https://example.org/up)",
        "![image](https://cdn.example.org/team.png)",
        "<https://video.example.org/embed/1>",
        "**Sign up**",
        "- Your name (required)",
        "- Team size: Small, Large",
        "- I agree (yes or no) (required)",
        "Email (required): please send it in a message.",
        "**Saved!**",
        "- **No thanks**: say *no*",
    ):
        assert expected in text, expected
    assert reply.tool_calls[0].name == "lookup_order"  # a tool call is an action, not a UI message
    assert [m["item"]["type"] for m in reply.turns[-1]["messages"]] == ["text"]
    run_without, _ = run(agent)
    assert run_without.ui_turn is not None and received[-1] is False


def test_ui_message_wire_shape_follows_the_spec():
    message = ui.notice("Careful", "warning")
    wire = message.wire()
    assert set(wire) == {"from", "type", "mid", "item"}
    assert UIMessage("text", {"message": "x"}, "m-1", ts=1700000000).wire()["ts"] == 1700000000
    assert wire["item"] == {"type": "info:warning", "payload": {"message": "Careful"}}
    assert wire["mid"] == message.mid and message.mid != ui.notice("Careful", "warning").mid
    payload = ui.form([ui.form_field("a", "A")], after_submit="Thanks!").payload
    assert payload["onSubmit"] == {"type": "submit_form", "message": "Thanks!"}
    assert payload["submitButton"] == {"label": "Submit", "style": "primary"}
    assert ui.input_field(ui.form_field("a", "A")).payload["onSubmit"] == {"type": "submit_input"}
    json.dumps([m.wire() for m in everything()])  # JSON as it is


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ui.form_field("", "Name"), "form_field\\(id\\)"),
        (lambda: ui.form_field("n", " "), "form_field\\(label\\)"),
        (lambda: ui.form_field("n", "N", "colour"), "'colour' is not one of"),
        (lambda: ui.form_field("s", "Size", "select"), "needs options"),
        (lambda: ui.form_field("s", "Size", "radio", options=["a", "a"]), "share a value"),
        (lambda: ui.form_field("s", "Size", "select", options=[3]), "pair, a dict or a string"),
        (lambda: ui.form([]), "at least one field"),
        (lambda: ui.form([ui.form_field("a", "A"), ui.form_field("a", "B")]), "share an id"),
        (lambda: ui.form([ui.form_field("a", "A")], submit_style="loud"), "submit_style"),
        (lambda: ui.iframe("https://x.org", layout="diagonal"), "iframe\\(layout\\)"),
        (lambda: ui.notice("Hi", "purple"), "notice\\(level\\)"),
        (lambda: ui.choice(), "at least one button"),
        (lambda: ui.tool_call(""), "tool_call\\(name\\)"),
    ],
)
def test_builders_refuse_what_the_service_would_drop(build, message):
    with pytest.raises(ConfigurationError, match=message):
        build()
