"""Forms and inputs in ChatWidget: the panel's Submit and ``ChatWidget.submit``, kernel side.

A recording comm stands in for the browser (see test_widget.py); a real embedded server
runs an agent that asks with a form and keeps what each request carried.
"""

from __future__ import annotations

import json
import time

import pytest

from convowidget import ChatWidget, ConvoClient, FormError, agent, serve

SECRET = "hunter2-very-secret"
SIGN_UP = agent.form(
    [
        agent.form_field("name", "Your name", required=True),
        agent.form_field("code", "Team code", validation={"pattern": "[A-Z]{3}", "errorMessage": "Three capitals"}),
        agent.form_field("password", "Password", "password", required=True),
        agent.form_field("size", "Team size", "select", options=[("s", "Small"), ("l", "Large")]),
        agent.form_field("news", "Send me news", "checkbox"),
    ],
    title="Sign up",
)


@pytest.fixture(autouse=True)
def _record(recording_comm):
    pass


@pytest.fixture
def received():
    """What the agent got with each prompt: (prompt, form values)."""
    return []


@pytest.fixture
def chat(received):
    def sign_up_agent(request):
        received.append((request.prompt, request.form_values))
        if request.form_submission:
            yield f"Welcome, {request.form_values.get('name') or 'friend'}."
        elif request.prompt == "email":
            yield agent.input_field(agent.form_field("email", "Email", "email", required=True))
        elif request.prompt == "sign up":
            yield agent.text("Please fill this in:")
            yield SIGN_UP
        else:
            yield f"You said {request.prompt}"

    with serve(sign_up_agent, chunk_delay=0) as server:
        yield ChatWidget(client=ConvoClient(url=server.url, agent_id="forms"))


def from_front_end(chat: ChatWidget, content: dict) -> None:
    chat._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def custom_messages(chat: ChatWidget) -> list[dict]:
    return [m["data"]["content"] for m in chat.comm.sent if m["data"].get("method") == "custom"]


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


GOOD = {"name": "Ann", "code": "ABC", "password": SECRET, "size": "l", "news": True}


def test_the_panels_submit_reaches_the_agent_and_shows_the_form_sent(chat, received):
    chat.ask("sign up")
    entry = chat.transcript[-1]
    assert [b["kind"] for b in entry["blocks"]] == ["text", "form"]
    chat.comm.sent.clear()
    from_front_end(chat, {"type": "submit_form", "id": entry["id"], "block": 1, "values": GOOD})
    wait_for(lambda: len(chat.replies) == 2)
    assert received[-1][1] == GOOD  # every value typed reached the agent, the password too
    assert chat.replies[-1].text == "Welcome, Ann."
    prompt = chat.transcript[-2]["text"]
    assert prompt == "Your name: Ann; Team code: ABC; Password: (hidden); Team size: Large; Send me news: yes"
    sent = next(e for e in chat.transcript if e["id"] == entry["id"])["blocks"][1]
    assert sent["submitted"] is True
    assert sent["values"] == {"name": "Ann", "code": "ABC", "password": None, "size": "l", "news": True}
    # the entry changed in place and went to the panel alone, as the tail
    tails = [
        m["data"]["state"]["transcript_tail"] for m in chat.comm.sent if "transcript_tail" in m["data"].get("state", {})
    ]
    assert tails[0]["entries"][0]["id"] == entry["id"] and tails[0]["entries"][0]["blocks"][1] == sent
    # the password was never synced, saved or exported
    wire = json.dumps([m["data"] for m in chat.comm.sent])
    for text in (wire, json.dumps(chat.get_state(), default=str), json.dumps(chat._saved_copy.bundles()),
                 chat.to_json(), chat.to_markdown(), repr(chat.replies)):  # fmt: skip
        assert SECRET not in text
    assert "Welcome, Ann." in wire


def test_values_that_do_not_fit_come_back_as_problems_and_nothing_is_sent(chat, received):
    chat.ask("sign up")
    entry_id = chat.transcript[-1]["id"]
    chat.comm.sent.clear()
    bad = {**GOOD, "name": " ", "code": "abc", "size": "huge"}
    from_front_end(chat, {"type": "submit_form", "id": entry_id, "block": 1, "values": bad})
    problems = custom_messages(chat)
    assert problems == [{
        "type": "form_problems", "id": entry_id, "block": 1,
        "problems": {"name": "Please fill in this field.", "code": "Three capitals",
                     "size": "Please select one of these options: Small, Large."},
    }]  # fmt: skip
    assert len(received) == 1 and len(chat.replies) == 1  # the agent got nothing
    assert chat.transcript[-1]["blocks"][1]["submitted"] is False
    assert SECRET not in json.dumps([m["data"] for m in chat.comm.sent])
    # no such block, a text block, and a form sent twice: a problem for the panel, never a send
    for where in ({"id": entry_id, "block": 0}, {"id": "m999", "block": 1}):
        chat.comm.sent.clear()
        from_front_end(chat, {"type": "submit_form", **where, "values": GOOD})
        assert custom_messages(chat)[0]["problems"] == {"": "There is no form or input there to submit."}
    from_front_end(chat, {"type": "submit_form", "id": entry_id, "block": 1, "values": GOOD})
    chat.comm.sent.clear()
    from_front_end(chat, {"type": "submit_form", "id": entry_id, "block": 1, "values": GOOD})
    assert "already submitted" in custom_messages(chat)[0]["problems"][""]
    wait_for(lambda: len(chat.replies) == 2)
    assert len(received) == 2
    from_front_end(chat, {"type": "submit_form", "id": entry_id, "block": "1", "values": GOOD})  # malformed: ignored
    from_front_end(chat, {"type": "submit_form", "id": entry_id, "block": 1, "values": ["Ann"]})
    assert len(received) == 2


def test_submit_from_python_sends_the_latest_form_as_the_panel_does(chat, received):
    with pytest.raises(FormError, match="no reply yet"):
        chat.submit({"name": "Ann"})
    chat.ask("hello")
    with pytest.raises(FormError, match="no form or input waiting"):
        chat.submit({"name": "Ann"})
    asked = chat.ask("sign up")
    with pytest.raises(FormError) as caught:
        chat.submit({"name": "Ann", "code": "nope"})
    assert caught.value.problems == {"code": "Three capitals", "password": "Please fill in this field."}
    reply = chat.submit(GOOD)
    assert reply.text == "Welcome, Ann." and received[-1][1] == GOOD
    assert chat.transcript[-2]["text"].startswith("Your name: Ann; Team code: ABC; Password: (hidden)")
    assert chat.transcript[-3]["blocks"][1]["submitted"] is True
    with pytest.raises(FormError, match="that reply has no form or input waiting"):
        chat.submit(GOOD, reply=asked)  # sent already
    chat.ask("email")
    assert chat.submit({"email": "ann@example.org"}).text == "Welcome, friend."
    entry = chat.transcript[-3]["blocks"][0]
    assert entry["kind"] == "input" and entry["submitted"] is True and entry["value"] == "ann@example.org"
    chat.clear()
    wait_for(lambda: chat.transcript == [])
    with pytest.raises(FormError, match="no longer in the panel"):
        chat.submit(GOOD, reply=asked)


def test_regenerating_a_submitted_forms_answer_sends_the_form_again_whole(chat, received):
    chat.ask("sign up")
    chat.submit(GOOD)
    from_front_end(chat, {"type": "regenerate", "id": chat.transcript[-1]["id"]})
    wait_for(lambda: len(chat.replies) == 3)
    assert received[-1] == received[-2] and received[-1][1] == GOOD
    assert chat.replies[-1].text == "Welcome, Ann."


def test_a_recorded_form_submission_keeps_no_password(tmp_path):
    def asks(request):
        yield SIGN_UP if not request.form_submission else "thanks"

    path = tmp_path / "forms.jsonl"
    with serve(asks, chunk_delay=0) as server:
        chat = ChatWidget(url=server.url, agent_id="forms", record=path)
        chat.ask("sign up")
        chat.submit(GOOD)
    assert "Welcome" not in path.read_text() and "Ann" in path.read_text()
    assert SECRET not in path.read_text()
