"""Suite turns that react to the agent: ``click`` a button it offered, ``submit`` the form it showed.

Against the demo agent and custom agents on a real embedded server: a click sends the
button's message as the panel does, a submit sends what the panel's Submit sends, a
password never reaches results, JUnit or a cassette, and what was not offered fails
naming what was.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from suite_helpers import quiet, write

from convowidget import ChatWidget, ConvoClient, serve
from convowidget.agent import button, choice, form, form_field, text
from convowidget.cassette import Recorder
from convowidget.suite import Scenario, Suite, SuiteError, Turn, load_suite

DEMO_SUITE = """
scenarios:
  - name: book a demo from the menu
    turns:
      - user: menu
        expect: {buttons_include: Book a demo}
      - click: Book a demo
        expect: {ui_includes: form}
      - submit:
          name: Ada Lovelace
          Email address: ada@example.org
          team_size: 2–10 people
          Preferred date: 2031-05-20
          consent: true
        expect: {contains: "Thanks, Ada Lovelace!"}
  - name: subscribe, then track an order
    turns:
      - user: menu
      - click: subscribe
        expect: {ui_includes: input}
      - submit: {email: ada@example.org}
        expect: {contains: on the list}
      - user: menu
      - click: Where is my order?
        expect: {tool_called: lookup_order}
  - name: not offered
    turns:
      - user: menu
      - click: Pricing
      - click: Book a demo
      - submit: {favourite colour: blue, name: Ada}
"""


def test_a_suite_clicks_and_submits_its_way_through_the_demo_agent(tmp_path):
    with serve(chunk_delay=0) as server:
        result = quiet(ConvoClient(url=server.url, agent_id="demo"), load_suite(write(tmp_path, "d.yaml", DEMO_SUITE)))
    first, second, third = result.runs
    assert (first.status, second.status) == ("passed", "passed"), first.failures + second.failures
    assert first.turns[1].prompt == "Book a demo"  # what the button sends, as the panel sends it
    assert first.turns[2].prompt.startswith("Your name: Ada Lovelace; Email address: ada@example.org; Team size: 2–10")
    assert third.status == "failed"
    assert third.turns[1].failures == [
        "click: no button named 'Pricing'; the buttons offered were: 'Streaming', 'Show me code', 'A long reply', "
        "'Answer slowly (try Stop)', 'Talk to a human', 'Book a demo', 'Subscribe', 'Watch the intro', "
        "'Where is my order?', 'Save my settings', 'Python API'"
    ]
    assert third.turns[1].reply is None and third.turns[2].status == "passed"  # still reacts to the menu
    (unknown,) = third.turns[3].failures
    assert unknown.startswith("submit: unknown field 'favourite colour'; the fields are: name (Your name), ")
    assert "email (Email address)" in unknown and "consent (You may contact me about this demo)" in unknown


def form_agent(seen: list):
    """Shows a sign-up form with a password on "sign up", then repeats everything it was sent."""

    def agent(request):
        seen.append(request.request)
        if request.prompt == "sign up":
            fields = [form_field("user", "User name", required=True), form_field("pin", "Password", "password")]
            return [text("Please sign up:"), replace(form(fields, title="Sign up"), mid="sign-up-form")]
        return f"got {request.prompt} {json.dumps(request.form_submission)}"  # an agent that leaks

    return agent


def test_a_submit_sends_exactly_what_the_panels_submit_sends(recording_comm):
    seen: list = []
    with serve(form_agent(seen), chunk_delay=0) as server:
        chat = ChatWidget(url=server.url, agent_id="a")
        chat.ask("sign up")
        chat.submit({"user": "ada", "pin": "s3cret-Pa55"})
        suite = Suite([Scenario("s", ["sign up", Turn(submit={"User name": "ada", "pin": "s3cret-Pa55"})])])
        quiet(ConvoClient(url=server.url, agent_id="a"), suite)
    panel, suite_sent = seen[1], seen[3]
    for key in ("prompt", "formSubmissionMetadata", "actionMetadata"):
        assert suite_sent[key] == panel[key], key
    assert suite_sent["actionMetadata"] == {"mid": "sign-up-form"}
    assert suite_sent["formSubmissionMetadata"]["submittedData"][1]["value"] == "s3cret-Pa55"  # the agent gets it


def test_a_password_never_reaches_results_junit_or_the_cassette(tmp_path):
    seen: list = []
    cassette = tmp_path / "s.jsonl"
    suite = Suite(
        [
            Scenario(
                "sign up",
                ["sign up", Turn(submit={"user": "ada", "Password": "s3cret-Pa55"}, expect={"contains": "nothing"})],
            )
        ]
    )
    with serve(form_agent(seen), chunk_delay=0) as server, Recorder(cassette) as recorder:
        result = quiet(ConvoClient(url=server.url, agent_id="a", record=recorder), suite)
    assert seen[-1]["formSubmissionMetadata"]["submittedData"][1]["value"] == "s3cret-Pa55"  # it was sent...
    turn = result.runs[0].turns[1]
    assert turn.prompt == "User name: ada; Password: (hidden)"
    assert "got User name: ada; Password: (hidden)" in turn.text and turn.status == "failed"
    for kept in (
        result.to_json(),
        result.to_junit(),
        result.to_html(),
        cassette.read_text(encoding="utf-8"),
        repr(turn),
    ):
        assert "s3cret-Pa55" not in kept  # ...and kept nowhere
    assert "[redacted]" in turn.text


def test_a_click_sends_a_100_kb_button_message_whole():
    message = "pick me " + "x" * 100_000
    seen: list = []

    def agent(request):
        seen.append(request.prompt)
        if request.prompt == "menu":
            return [choice(button("Huge", message), button("Docs", url="https://example.org/docs"))]
        return f"received {len(request.prompt)} characters"

    suite = Suite(
        [Scenario("big", ["menu", Turn(click="Docs"), Turn(click="huge", expect={"contains": "received 100008"})])]
    )
    with serve(agent, chunk_delay=0) as server:
        result = quiet(ConvoClient(url=server.url, agent_id="a"), suite)
    assert result.runs[0].status == "passed", result.runs[0].failures
    assert seen == ["menu", message]  # the link button was checked, not followed: nothing was sent for it
    assert result.runs[0].turns[1].prompt == "click: Docs (opens https://example.org/docs)"


def test_a_link_button_turn_cannot_expect_a_reply():
    def agent(request):
        return [choice(button("Docs", url="https://example.org/docs"))]

    suite = Suite([Scenario("s", ["menu", Turn(click="Docs", expect={"contains": "docs"})])])
    with serve(agent, chunk_delay=0) as server:
        result = quiet(ConvoClient(url=server.url, agent_id="a"), suite)
    assert result.runs[0].turns[1].failures == [
        "a link button opens a page and asks the agent nothing, so there is no reply to check; move expect"
    ]


BAD = [
    ("turns: [{click: Pricing}]", "scenario 's', turn 1: click: the first turn has no reply before it to click in"),
    ("turns: [hi, {submit: {a: 1}, user: hi}]", "scenario 's', turn 2: give only one of user and submit"),
    ("turns: [hi, {click: 3}]", "scenario 's', turn 2: click: expected the name of a button the agent offered"),
    (
        "turns: [hi, {click: ''}]",
        "scenario 's', turn 2: click: expected the name of a button the agent offered, got an",
    ),
    ("turns: [hi, {submit: [a]}]", "scenario 's', turn 2: submit: expected a mapping of field to value, got a list"),
    ("turns: [hi, {submit: {}}]", "scenario 's', turn 2: submit: expected a mapping of field to value, got an empty"),
    ("turns: [hi, {submit: {a: [1]}}]", "scenario 's', turn 2: submit: a: expected text, a number, true/false or a"),
    ("turns: [hi, {click: null}]", "scenario 's', turn 2: click: expected a value, got null"),
    ("turns: [hi, {clik: x}]", "scenario 's', turn 2: unknown key 'clik' (did you mean 'click'?)"),
]


@pytest.mark.parametrize(("turns", "message"), BAD, ids=[m for _, m in BAD])
def test_a_click_or_submit_turn_is_checked_when_the_suite_loads(tmp_path, turns, message):
    with pytest.raises(SuiteError) as caught:
        load_suite(write(tmp_path, "bad.yaml", f"scenarios:\n  - name: s\n    {turns}\n"))
    assert str(caught.value).startswith(f"bad.yaml: {message}")
