"""Expectations on what a reply carried: buttons, message types, tool calls, model, tokens,
a regex it must not match, and similarity to a text; checked at load time, judged in words."""

from __future__ import annotations

import pytest
from suite_helpers import quiet, write

from convowidget import ConvoClient, serve
from convowidget.agent import button, card, choice, form, form_field
from convowidget.reply import Reply, ToolCall
from convowidget.suite import Expect, SuiteError, load_suite

MENU = {
    "from": "bot",
    "messages": [
        {"type": "choice", "item": {"type": "choice", "payload": {"buttons": [
            {"name": "Pricing", "request": {"type": "text", "payload": {"message": "Show me the prices"}}},
            {"name": "Docs", "request": {"type": "open_url", "payload": {"url": "https://example.org/docs"}}},
        ]}}},
        {"type": "carousel", "item": {"type": "carousel", "payload": {"cards": [
            {"title": "Pro", "buttons": [{"name": "Buy Pro", "request": {"payload": {"message": "buy pro"}}}]},
        ]}}},
    ],
}  # fmt: skip


def reply(**fields) -> Reply:
    values = {"text": "Your order CW-1042 has shipped.", "ui_turn": MENU, **fields}
    return Reply(**values)


ORDER = ToolCall("lookup_order", {"order_id": "CW-1042", "express": True}, {"status": "shipped"})

EXPECTATIONS = [
    # (expect, reply fields, failure sentences; [] means it passes)
    (Expect(buttons_include=["pricing", "Docs", "Buy Pro"]), {}, []),
    (
        Expect(buttons_include="Checkout"),
        {},
        ["expected a button named 'Checkout'; the buttons were: 'Pricing', 'Docs', 'Buy Pro'"],
    ),
    (
        Expect(buttons_include="pricing", case_sensitive=True),
        {},
        ["expected a button named 'pricing'; the buttons were: 'Pricing', 'Docs', 'Buy Pro'"],
    ),
    (
        Expect(buttons_include="Pricing"),
        {"ui_turn": None},
        ["expected a button named 'Pricing'; the buttons were: none"],
    ),
    (Expect(ui_includes=["choice", "Carousel", "buttons"]), {}, []),
    (Expect(ui_includes="form"), {}, ["expected a form message in the reply; it held: choice, carousel"]),
    (
        Expect(ui_includes="iFrame"),
        {"ui_turn": None},
        ["expected a iFrame message in the reply; it held: no rich messages"],
    ),
    (Expect(tool_called="lookup_order"), {"tool_calls": [ORDER]}, []),
    (Expect(tool_called={"name": "lookup_order", "input_contains": "cw-1042"}), {"tool_calls": [ORDER]}, []),
    (
        Expect(tool_called={"name": "lookup_order", "input_contains": {"order_id": "1042", "express": True}}),
        {"tool_calls": [ORDER]},
        [],
    ),
    (
        Expect(tool_called={"name": "lookup_order", "input_contains": {"express": False}}),
        {"tool_calls": [ORDER]},
        [
            "expected a call to 'lookup_order' with input containing {\"express\": false}; "
            'its input was {"express": true, "order_id": "CW-1042"}'
        ],
    ),
    (
        Expect(tool_called=["lookup_order", "refund"]),
        {"tool_calls": [ORDER]},
        ["expected a call to the tool 'refund'; the tools called were: 'lookup_order'"],
    ),
    (
        Expect(tool_called="lookup_order"),
        {},
        ["expected a call to the tool 'lookup_order'; the tools called were: none"],
    ),
    (Expect(model="GPT-4o"), {"model": "gpt-4o"}, []),
    (Expect(model="gpt-4o"), {"model": "claude"}, ["expected the model 'gpt-4o'; it came from 'claude'"]),
    (Expect(model="gpt-4o"), {}, ["expected the model 'gpt-4o'; the reply did not say which model answered"]),
    (Expect(max_output_tokens=100), {"output_tokens": 100}, []),
    (Expect(max_output_tokens=100), {"output_tokens": 1234}, ["expected at most 100 output tokens; it used 1,234"]),
    (Expect(max_output_tokens=100), {}, ["expected at most 100 output tokens; the reply reported no count"]),
    (Expect(not_regex=[r"(?i)sorry", r"\berror\b"]), {}, []),
    (Expect(not_regex=r"CW-\d+"), {}, ["expected the reply not to match the regex /CW-\\d+/; it does: 'CW-1042'"]),
    (Expect(similar_to="your order cw-1042 has  shipped!"), {}, []),
    (
        Expect(similar_to="Your order has shipped.", min_similarity=0.95),
        {},
        ["expected the reply to be at least 95% similar to 'Your order has shipped.'; it is 85%"],
    ),
    (
        Expect(similar_to="Nothing like it"),
        {},
        ["expected the reply to be at least 80% similar to 'Nothing like it'; it is 21%"],
    ),
]


@pytest.mark.parametrize(("expect", "fields", "sentences"), EXPECTATIONS, ids=[repr(e[0]) for e in EXPECTATIONS])
def test_each_expectation_on_what_a_reply_carried_passes_and_fails_with_a_sentence(expect, fields, sentences):
    assert expect.failures(reply(**fields)) == sentences


BAD = [
    ("{buttons_include: [1]}", "buttons_include: expected text or a list of texts, got a list"),
    ("{buttons_include: ''}", "buttons_include: an empty text would match any reply"),
    ("{ui_includes: [formular]}", "ui_includes: 'formular' is not a message type (known: form, input, card"),
    ("{tool_called: 3}", "tool_called: expected a tool's name or {name, input_contains}, got a number (3)"),
    ("{tool_called: {nam: x}}", "tool_called: unknown key 'nam' (allowed: name, input_contains)"),
    ("{tool_called: {input_contains: x}}", "tool_called: name: expected the tool's name as text"),
    ("{tool_called: {name: x, input_contains: 4}}", "tool_called: input_contains: expected text or a mapping"),
    ("{model: 4}", "model: expected the model's name as text, got a number (4)"),
    ("{max_output_tokens: -1}", "max_output_tokens: expected a whole number, got a number (-1)"),
    ("{max_output_tokens: 2.5}", "max_output_tokens: expected a whole number, got a number (2.5)"),
    ("{not_regex: '(x'}", "not_regex: '(x' is not a valid regular expression"),
    ("{similar_to: ''}", "similar_to: expected the text the reply should resemble, got an empty text"),
    ("{similar_to: [a]}", "similar_to: expected the text the reply should resemble, got a list"),
    ("{min_similarity: 0.5}", "min_similarity: give similar_to too"),
    ("{similar_to: a, min_similarity: 1.5}", "min_similarity: expected a number from 0 to 1, got a number (1.5)"),
    ("{similar_to: a, min_similarity: yes}", "min_similarity: expected a number from 0 to 1, got true (true/false)"),
    ("{buttons_includes: [a]}", "unknown key 'buttons_includes' (did you mean 'buttons_include'?)"),
]


@pytest.mark.parametrize(("expect", "message"), BAD, ids=[m for _, m in BAD])
def test_a_bad_value_is_refused_when_the_suite_loads(tmp_path, expect, message):
    text = f"scenarios:\n  - name: s\n    turns:\n      - user: hi\n        expect: {expect}\n"
    with pytest.raises(SuiteError) as caught:
        load_suite(write(tmp_path, "bad.yaml", text))
    assert str(caught.value).startswith(f"bad.yaml: scenario 's', turn 1: {message}")
    assert caught.value.turn == 1


def test_the_new_keys_read_back_as_written():
    data = {
        "buttons_include": ["Pricing"],
        "ui_includes": ["form", "cardV2"],
        "tool_called": [{"name": "lookup_order", "input_contains": {"order_id": "CW"}}, "refund"],
        "model": "gpt-4o",
        "max_output_tokens": 300,
        "not_regex": ["sorry"],
        "similar_to": "Hello",
        "min_similarity": 0.7,
    }
    expect = Expect.from_dict(data)
    assert expect.to_dict() == data
    assert Expect.from_dict(expect.to_dict()) == expect
    assert Expect(tool_called="refund").to_dict() == {"tool_called": "refund"}
    assert expect.tool_called[0].name == "lookup_order" and expect.min_similarity == 0.7


def test_similar_to_a_megabyte_reply_gives_a_fair_score():
    sentence = "The order {} shipped with Royal Mail and arrives on Tuesday. "
    long = "".join(sentence.format(n) for n in range(16_000))  # about 1 MB
    assert len(long) > 1_000_000
    assert Expect(similar_to=long, min_similarity=0.99).failures(reply(text=long + " Thanks!")) == []
    half = long[: len(long) // 2]  # the first half is not "the same": the score follows the lengths
    (sentence_failed,) = Expect(similar_to=long, min_similarity=0.9).failures(reply(text=half))
    assert sentence_failed.endswith("it is 66%")
    assert Expect(similar_to="Thanks", min_similarity=0.5).failures(reply(text=long)) != []


# ------------------------------------------------------------------ against the demo agent, for real


def test_a_suite_checks_what_the_demo_agent_carried(tmp_path):
    suite = write(
        tmp_path,
        "demo.yaml",
        """
scenarios:
  - name: menu
    turns:
      - user: menu
        expect:
          buttons_include: [Streaming, Book a demo, Python API]
          ui_includes: [choice, card]
          model: convowidget-demo
          max_output_tokens: 500
          not_regex: '(?i)sorry'
  - name: forms
    turns:
      - user: book a demo
        expect: {ui_includes: form}
      - user: subscribe
        expect: {ui_includes: input}
  - name: order
    turns:
      - user: where is my order CW-2001?
        expect:
          tool_called: {name: lookup_order, input_contains: {order_id: CW-2001}}
          similar_to: Your order CW-2001 has shipped with Royal Mail
          min_similarity: 0.3
  - name: wrong
    turns:
      - user: menu
        expect: {buttons_include: Checkout, ui_includes: form, tool_called: lookup_order, max_output_tokens: 3}
""",
    )
    with serve(chunk_delay=0) as server:
        result = quiet(ConvoClient(url=server.url, agent_id="demo"), suite)
    assert [(s.scenario, s.status) for s in result.runs] == [
        ("menu", "passed"),
        ("forms", "passed"),
        ("order", "passed"),
        ("wrong", "failed"),
    ]
    failures = result.runs[-1].turns[0].failures
    assert failures[0].startswith("expected a button named 'Checkout'; the buttons were: 'Streaming', 'Show me code'")
    assert failures[1] == "expected a form message in the reply; it held: text, choice, card"
    assert failures[2] == "expected a call to the tool 'lookup_order'; the tools called were: none"
    assert failures[3].startswith("expected at most 3 output tokens; it used ")


def test_the_agent_builders_make_what_the_expectations_read():
    reply_turn = {"from": "bot", "messages": [
        choice(button("Yes"), button("No")).wire(),
        card("Plan", "Pro", buttons=[button("Buy")]).wire(),
        form([form_field("name", "Your name")], title="Sign up").wire(),
    ]}  # fmt: skip
    expect = Expect(buttons_include=["Yes", "No", "Buy"], ui_includes=["choice", "card", "form"])
    assert expect.failures(Reply(text="x", ui_turn=reply_turn)) == []
