"""Agent test suites: loading and checking suite files, and expectations judging one reply.

Suite files are read from disk as a user writes them; each mistake must name its file,
scenario, turn and key, before anything is sent.
"""

from __future__ import annotations

import json

import pytest
from suite_helpers import interrupts, write

from convowidget import ConfigurationError, Reply
from convowidget.suite import Expect, Scenario, SuiteError, Turn, load_suite, run_suite

ISSUE_EXAMPLE = r"""
scenarios:
  - name: pricing, then a human
    turns:
      - user: How much does the pro plan cost?
        expect: {contains: ["plan"], not_contains: ["sorry"], regex: '\$\d+',
                 sources_include: ["pricing"], max_first_chunk_s: 3, max_seconds: 15}
      - user: I want to talk to a human
        expect: {handoff: true}
"""


# ---------------------------------------------------------------------- loading


def test_the_issue_example_loads_with_every_key(tmp_path):
    suite = load_suite(write(tmp_path, "agent-tests.yaml", ISSUE_EXAMPLE))
    assert suite.name == "agent-tests"
    (scenario,) = suite.scenarios
    assert scenario.name == "pricing, then a human"
    first, second = scenario.turns
    assert first.user == "How much does the pro plan cost?"
    assert first.expect.contains == ("plan",)
    assert first.expect.not_contains == ("sorry",)
    assert first.expect.regex == (r"\$\d+",)
    assert first.expect.sources_include == ("pricing",)
    assert (first.expect.max_first_chunk_s, first.expect.max_seconds) == (3.0, 15.0)
    assert first.expect.status == "complete" and first.expect.case_sensitive is False
    assert second.expect.handoff is True and second.expect.contains == ()


def test_a_json_suite_is_the_same_suite(tmp_path):
    yaml_suite = load_suite(write(tmp_path, "a.yaml", ISSUE_EXAMPLE))
    data = {
        "name": "a",
        "scenarios": [
            {
                "name": "pricing, then a human",
                "turns": [
                    {
                        "user": "How much does the pro plan cost?",
                        "expect": {
                            "contains": ["plan"],
                            "not_contains": "sorry",
                            "regex": r"\$\d+",
                            "sources_include": ["pricing"],
                            "max_first_chunk_s": 3,
                            "max_seconds": 15,
                        },
                    },
                    {"user": "I want to talk to a human", "expect": {"handoff": True}},
                ],
            }
        ],
    }
    assert load_suite(write(tmp_path, "a.json", json.dumps(data))) == yaml_suite


BAD_SUITES = [
    (  # the issue's own example of a typo
        "scenarios:\n  - name: pricing, then a human\n    turns:\n      - user: hi\n"
        "      - user: I want a human\n        expect: {contain: [plan]}\n",
        "bad.yaml: scenario 'pricing, then a human', turn 2: unknown key 'contain' (did you mean 'contains'?)",
        ("pricing, then a human", 2, "contain"),
    ),
    (
        "scenarios:\n  - name: greets\n    turns:\n      - expect: {contains: hello}\n",
        "bad.yaml: scenario 'greets', turn 1: user: missing; every turn needs the user's message",
        ("greets", 1, "user"),
    ),
    (
        "scenarios:\n  - name: greets\n    turns:\n      - user: hi\n        expect: {contains: 3}\n",
        "bad.yaml: scenario 'greets', turn 1: contains: expected text or a list of texts, got a number (3)",
        ("greets", 1, "contains"),
    ),
    (
        "scenarios:\n  - name: greets\n    turns:\n      - user: hi\n      - user: yes\n",
        "bad.yaml: scenario 'greets', turn 2: user: expected the user's message as text, got true (true/false) "
        "(put it in quotes)",
        ("greets", 2, "user"),
    ),
    (
        "scenarios:\n  - name: slow\n    turns:\n      - user: hi\n        expect: {max_seconds: fast}\n",
        "bad.yaml: scenario 'slow', turn 1: max_seconds: expected a positive number of seconds, got text",
        ("slow", 1, "max_seconds"),
    ),
    (
        "scenarios:\n  - name: slow\n    turns:\n      - user: hi\n        expect: {max_first_chunk_s: -1}\n",
        "bad.yaml: scenario 'slow', turn 1: max_first_chunk_s: expected a positive number of seconds, "
        "got a number (-1)",
        ("slow", 1, "max_first_chunk_s"),
    ),
    (
        "scenarios:\n  - name: h\n    turns:\n      - user: hi\n        expect: {handoff: maybe}\n",
        "bad.yaml: scenario 'h', turn 1: handoff: expected true or false, got text",
        ("h", 1, "handoff"),
    ),
    (
        "scenarios:\n  - name: s\n    turns:\n      - user: hi\n        expect: {status: done}\n",
        "bad.yaml: scenario 's', turn 1: status: expected one of complete, stopped, failed, got 'done'",
        ("s", 1, "status"),
    ),
    (
        "scenarios:\n  - name: r\n    turns:\n      - user: hi\n        expect: {regex: '(unclosed'}\n",
        "bad.yaml: scenario 'r', turn 1: regex: '(unclosed' is not a valid regular expression",
        ("r", 1, "regex"),
    ),
    (
        "scenarios:\n  - name: c\n    turns:\n      - user: hi\n        expect: {case_sensitive: 1}\n",
        "bad.yaml: scenario 'c', turn 1: case_sensitive: expected true or false, got a number (1)",
        ("c", 1, "case_sensitive"),
    ),
    (
        "scenarios:\n  - name: c\n    turns:\n      - user: hi\n        expect: {contains: ['']}\n",
        "bad.yaml: scenario 'c', turn 1: contains: an empty text would match any reply; remove it",
        ("c", 1, "contains"),
    ),
    (
        "scenarios:\n  - name: c\n    turns:\n      - user: hi\n        expect: {check: mine}\n",
        "bad.yaml: scenario 'c', turn 1: check: a check function can only be given in Python",
        ("c", 1, "check"),
    ),
    (
        "scenarios:\n  - name: c\n    turns:\n      - user: hi\n        expect: [contains]\n",
        "bad.yaml: scenario 'c', turn 1: expect: expected a mapping of checks or Expect(...), got a list",
        ("c", 1, "expect"),
    ),
    (
        "scenarios:\n  - name: a\n    turns: [hi]\n  - turns: [hi]\n",
        "bad.yaml: scenario 2: name: missing; every scenario needs a name",
        (2, None, "name"),
    ),
    (
        "scenarios:\n  - name: a\n    turns: [hi]\n  - name: a\n    turns: [hello]\n",
        "bad.yaml: scenario 'a': name: another scenario has this name; names must be unique",
        ("a", None, "name"),
    ),
    (
        "scenarios:\n  - name: a\n    turns: []\n",
        "bad.yaml: scenario 'a': turns: the list is empty",
        ("a", None, "turns"),
    ),
    (
        "scenarios:\n  - name: a\n    turn: [hi]\n",
        "bad.yaml: scenario 'a': unknown key 'turn' (did you mean 'turns'?)",
        ("a", None, "turn"),
    ),
    (
        "scenario:\n  - name: a\n    turns: [hi]\n",
        "bad.yaml: unknown key 'scenario' (did you mean 'scenarios'?)",
        (None, None, "scenario"),
    ),
    (
        "scenarios:\n  - name: a\n    turns:\n      - user: hi\n        expect: {contains: x, contains: y}\n",
        "bad.yaml: key 'contains' appears twice in one mapping; keep one (line 5)",
        (None, None, "contains"),
    ),
    (
        "scenarios:\n  - name: a\n    turns: [hi\n",
        "bad.yaml: not valid YAML",
        (None, None, None),
    ),
]


@pytest.mark.parametrize(("text", "message", "place"), BAD_SUITES, ids=[m for _, m, _ in BAD_SUITES])
def test_a_malformed_suite_names_scenario_turn_and_key(tmp_path, text, message, place):
    with pytest.raises(SuiteError) as caught:
        load_suite(write(tmp_path, "bad.yaml", text))
    assert str(caught.value).startswith(message)
    assert (caught.value.scenario, caught.value.turn, caught.value.key) == place
    assert isinstance(caught.value, ConfigurationError)


def test_a_bad_json_suite_says_where(tmp_path):
    with pytest.raises(SuiteError, match=r"bad.json: not valid JSON: .* at line 1"):
        load_suite(write(tmp_path, "bad.json", '{"scenarios": [}'))
    with pytest.raises(SuiteError, match="no suite file at"):
        load_suite(tmp_path / "missing.yaml")


def test_a_malformed_suite_is_refused_before_anything_is_sent(tmp_path, server, client):
    text = "scenarios:\n  - name: a\n    turns: [hi]\n  - name: b\n    turns: [{usr: hi}]\n"
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(SuiteError, match=r"scenario 'b', turn 1: unknown key 'usr' \(did you mean 'user'\?\)"):
        run_suite(client, path, progress=False)
    assert server.connections == 0


def test_python_objects_are_checked_the_same_way():
    with pytest.raises(SuiteError, match="contains: expected text or a list of texts, got a number") as caught:
        Expect(contains=3)  # type: ignore[arg-type]
    assert caught.value.key == "contains"
    with pytest.raises(SuiteError, match="scenario 'x', turn 2: user: the message is empty"):
        Scenario("x", ["hi", "  "])
    with pytest.raises(SuiteError, match="check: given both on the Turn and in its Expect"):
        Turn("hi", expect=Expect(check=bool), check=bool)
    turn = Turn("hi", expect={"contains": "hello"}, check=bool)
    assert turn.expect.contains == ("hello",) and turn.expect.check is bool
    assert repr(turn.expect) == "Expect(contains=['hello'], check=\"check 'bool'\")"


# ---------------------------------------------------------------------- expectations, one reply


def reply(**fields) -> Reply:
    values = {"text": "The Pro plan costs $20 a month.", "time_to_first_chunk": 0.5, "elapsed": 2.0, **fields}
    return Reply(**values)


EXPECTATIONS = [
    # (expect, reply fields, failure sentences; [] means it passes)
    (Expect(contains=["pro plan", "$20"]), {}, []),
    (Expect(contains="enterprise"), {}, ["expected the reply to contain 'enterprise'"]),
    (Expect(contains="pro plan", case_sensitive=True), {}, ["expected the reply to contain 'pro plan'"]),
    (Expect(not_contains=["sorry", "error"]), {}, []),
    (
        Expect(not_contains="COSTS"),
        {},
        ["expected the reply not to contain 'COSTS'; it does: 'The Pro plan costs $20 a month.'"],
    ),
    (Expect(not_contains="COSTS", case_sensitive=True), {}, []),
    (Expect(regex=r"\$\d+"), {}, []),
    (Expect(regex=r"€\d+"), {}, ["expected the reply to match the regex /€\\d+/"]),
    (Expect(regex="pro plan"), {}, ["expected the reply to match the regex /pro plan/"]),  # as written
    (Expect(sources_include="PRICING"), {"sources": ["https://example.org/pricing"]}, []),
    (Expect(sources_include="pricing"), {"source_details": [{"title": "Pricing page", "url": None}]}, []),
    (
        Expect(sources_include="pricing"),
        {"sources": ["kb/install.md"]},
        ["expected a source matching 'pricing'; the sources were: 'kb/install.md'"],
    ),
    (Expect(sources_include="pricing"), {}, ["expected a source matching 'pricing'; the sources were: none"]),
    (Expect(max_first_chunk_s=1), {}, []),
    (Expect(max_first_chunk_s=0.2), {}, ["expected the first chunk within 0.2 s; it came after 0.50 s"]),
    (
        Expect(max_first_chunk_s=3),
        {"time_to_first_chunk": None},
        ["expected the first chunk within 3 s; no chunk arrived"],
    ),
    (Expect(max_seconds=15), {}, []),
    (Expect(max_seconds=1.5), {}, ["expected the whole reply within 1.5 s; it took 2.00 s"]),
    (Expect(handoff=True), {"handoff": True}, []),
    (Expect(handoff=True), {}, ["expected the agent to hand off to a human; it did not"]),
    (Expect(handoff=False), {"handoff": True}, ["expected no handoff to a human; the agent asked for one"]),
    (Expect(), {"status": "failed", "error": "dropped"}, ["expected the reply to be complete; it failed: dropped"]),
    (Expect(status="failed"), {"status": "failed", "error": "dropped"}, []),
    (Expect(status="stopped"), {}, ["expected the reply to be stopped; it was complete"]),
]


@pytest.mark.parametrize(("expect", "fields", "sentences"), EXPECTATIONS, ids=[repr(e[0]) for e in EXPECTATIONS])
def test_each_expectation_passes_and_fails_with_a_sentence(expect, fields, sentences):
    assert expect.failures(reply(**fields)) == sentences


def mentions_price(r: Reply):
    return "$" in r.text or "the reply names no price"


def asserts_price(r: Reply):
    assert "€" in r.text, "no euro price"


def boom(r: Reply):
    raise ValueError("judge unavailable")


CHECKS = [
    (lambda r: True, {}, []),
    (lambda r: None, {}, []),
    (lambda r: False, {}, ["the check function returned False"]),
    (mentions_price, {}, []),
    (mentions_price, {"text": "free"}, ["check 'mentions_price' failed: the reply names no price"]),
    (asserts_price, {}, ["check 'asserts_price' failed: no euro price"]),
    (boom, {}, ["check 'boom' raised ValueError: judge unavailable"]),
    (interrupts, {}, ["check 'interrupts' raised KeyboardInterrupt"]),
    (
        lambda r: r.text.find("x"),
        {},
        ["the check function returned int; return True or None to pass, False or a message to fail"],
    ),
]


@pytest.mark.parametrize(("check", "fields", "sentences"), CHECKS)
def test_a_check_function_passes_with_true_or_none_and_fails_with_false_or_a_message(check, fields, sentences):
    expect = Expect(check=check)
    assert expect.failures(reply(**fields)) == sentences
    # the runner's two halves: the reply alone (no check), then the check (in a worker thread)
    assert expect.reply_failures(reply(**fields)) == [] and expect.check_failures(reply(**fields)) == sentences
