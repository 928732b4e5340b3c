"""Agent test suites: loading and checking suite files, expectations, the runner, results.

Runs go through a real embedded server on loopback (the demo agent or agents written
here); concurrency and interrupts are proven from what the server saw, not from clocks.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convowidget import ConfigurationError, ConvoClient, ConvoError, Faults, Reply, serve
from convowidget.results import SuiteResult
from convowidget.suite import Expect, Scenario, Suite, SuiteError, Turn, load_suite, run_suite

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
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> ]]> &amp; \x00\x1b\x7f end'


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def quiet(client, suite, **options):
    return run_suite(client, suite, progress=False, **options)


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


def interrupts(r: Reply):
    raise KeyboardInterrupt


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
    assert Expect(check=check).failures(reply(**fields)) == sentences


# ---------------------------------------------------------------------- running against a server


def test_expectations_against_the_demo_agent(client):
    suite = Suite(
        [
            Scenario(
                "install",
                [
                    Turn(
                        "How do I install it?",
                        expect=Expect(
                            contains=["pip install"],
                            not_contains="sorry",
                            regex=r"Python 3\.\d+",
                            sources_include="getting-started",
                            max_first_chunk_s=60,
                            max_seconds=60,
                            handoff=False,
                        ),
                    )
                ],
            ),
            Scenario("wrong facts", [Turn("How do I install it?", expect=Expect(contains="npm", regex="Ruby"))]),
            Scenario("human", ["start", Turn("I want a human", expect={"handoff": True})]),
            Scenario("no human", [Turn("I want a human", expect={"handoff": False})]),
            Scenario("menu", [Turn("menu", check=lambda r: r.ui_turn is not None and "Pick one" in r.text)]),
        ],
        name="demo",
    )
    result = quiet(client, suite)
    outcome = {s.name: (s.status, s.failures) for s in result.scenarios}
    assert outcome == {
        "install": ("passed", []),
        "wrong facts": (
            "failed",
            ["turn 1: expected the reply to contain 'npm'", "turn 1: expected the reply to match the regex /Ruby/"],
        ),
        "human": ("passed", []),
        "no human": ("failed", ["turn 1: expected no handoff to a human; the agent asked for one"]),
        "menu": ("passed", []),
    }
    assert (result.passed, result.failed, result.not_run) == (3, 2, 0)
    assert result.pass_rate == pytest.approx(3 / 5)


def test_timing_and_status_expectations_against_a_slow_and_a_broken_agent():
    async def slow(request):
        await asyncio.sleep(0.3)  # at least this long before the first chunk
        yield "late "
        await asyncio.sleep(0.3)
        yield "answer"

    suite = Suite(
        [
            Scenario("patient", [Turn("hi", expect=Expect(max_first_chunk_s=120, max_seconds=120))]),
            Scenario("hurried", [Turn("hi", expect=Expect(max_first_chunk_s=0.1, max_seconds=0.2))]),
        ]
    )
    with serve(slow, chunk_delay=0) as server:
        result = quiet(ConvoClient(url=server.url, agent_id="a"), suite)
    hurried = {s.name: s for s in result.scenarios}["hurried"].failures
    assert hurried[0].startswith("turn 1: expected the first chunk within 0.1 s; it came after 0.")
    assert hurried[1].startswith("turn 1: expected the whole reply within 0.2 s; it took 0.")
    assert [s.status for s in result.scenarios] == ["passed", "failed"]

    broken = Suite(
        [
            Scenario("expects complete", ["hi"]),
            Scenario("expects the failure", [Turn("hi", expect={"status": "failed"})]),
        ]
    )
    with serve(chunk_delay=0, faults=Faults(close_after=1, close_code=1011)) as server:
        result = quiet(ConvoClient(url=server.url, agent_id="a"), broken)
    first = result.scenarios[0].failures
    assert first == [
        "turn 1: expected the reply to be complete; it failed: the server had an internal error and ended the "
        'reply: "injected fault". Try again later. (close code 1011)'
    ]
    assert result.scenarios[1].status == "passed"


def test_each_scenario_is_one_conversation_with_its_turns_in_order():
    received: dict[str, list[str]] = {}

    def agent(request):  # what the server was asked, conversation by conversation
        received.setdefault(request.convo_id, []).append(request.prompt)
        return f"ok {request.prompt}"

    suite = Suite([Scenario(f"s{i}", [f"first {i}", f"second {i}", f"third {i}"]) for i in range(6)])
    with serve(agent, chunk_delay=0) as server:
        result = quiet(ConvoClient(url=server.url, agent_id="a"), suite, concurrency=3)
    assert result.passed == 6
    convo_ids = {run.scenario: run.convo_id for run in result.runs}
    assert len(set(convo_ids.values())) == 6 == len(received)
    for i in range(6):
        assert received[convo_ids[f"s{i}"]] == [f"first {i}", f"second {i}", f"third {i}"]
        assert [t.reply.convo_id for t in result.runs[i].turns] == [convo_ids[f"s{i}"]] * 3


def barrier_agent(width: int):
    """An agent that holds every request until ``width`` of them are in it at once."""
    seen = {"active": 0, "most": 0, "spans": []}
    full: list[asyncio.Event] = []

    async def agent(request):
        if not full:
            full.append(asyncio.Event())
        seen["active"] += 1
        seen["most"] = max(seen["most"], seen["active"])
        start = time.monotonic()
        if seen["active"] >= width:
            full[0].set()
        try:
            await asyncio.wait_for(full[0].wait(), 60)  # a runner one at a time never gets past this
            yield f"answer to {request.prompt}"
        finally:
            seen["active"] -= 1
            seen["spans"].append((request.convo_id, start, time.monotonic()))

    return agent, seen


def test_scenarios_run_concurrently_up_to_the_limit():
    agent, seen = barrier_agent(width=4)
    suite = Suite([Scenario(f"s{i}", [f"a{i}", f"b{i}"]) for i in range(10)])
    with serve(agent, chunk_delay=0) as server:
        result = quiet(ConvoClient(url=server.url, agent_id="a", idle_timeout=90), suite, concurrency=4)
    assert result.passed == 10, result.scenarios[0].failures
    assert seen["most"] == 4  # four conversations were in the agent at once, never five
    spans = seen["spans"]
    overlapping = {
        (a[0], b[0]) for a in spans for b in spans if a[0] != b[0] and a[1] < b[2] and b[1] < a[2]
    }  # server-side intervals of different conversations that overlap
    assert overlapping


def test_a_failed_turn_fails_its_scenario_and_the_rest_still_run_unless_stop_on_failure(server, client):
    scenario = Scenario("x", [Turn("How do I install it?", expect={"contains": "nope"}), "menu", "start"])
    result = quiet(client, Suite([scenario]))
    assert [t.status for t in result.runs[0].turns] == ["failed", "passed", "passed"]
    assert result.failed == 1

    sent_before = server.connections
    result = quiet(client, Suite([scenario]), stop_on_failure=True)
    assert [t.status for t in result.runs[0].turns] == ["failed", "skipped", "skipped"]
    assert [t.reply is None for t in result.runs[0].turns] == [False, True, True]
    assert server.connections == sent_before + 1


def test_repeat_runs_each_scenario_in_new_conversations_and_reports_the_pass_rate():
    calls = {"n": 0}

    def flaky(request):
        calls["n"] += 1
        return "yes" if calls["n"] % 2 else "no"

    suite = Suite([Scenario("flaky", [Turn("ok?", expect={"contains": "yes"})])])
    with serve(flaky, chunk_delay=0) as server:
        result = quiet(ConvoClient(url=server.url, agent_id="a"), suite, repeat=4, concurrency=1)
    (summary,) = result.scenarios
    assert len(summary.runs) == 4 and [run.run for run in summary.runs] == [1, 2, 3, 4]
    assert len({run.convo_id for run in summary.runs}) == 4
    assert summary.pass_rate == 0.5 and summary.runs_label == "2/4"
    assert (result.passed, result.failed) == (0, 1)  # passes only when every run passes
    assert result.pass_rate == 0.5
    assert summary.failures == [
        "run 2: turn 1: expected the reply to contain 'yes'",
        "run 4: turn 1: expected the reply to contain 'yes'",
    ]


def test_a_check_runs_in_a_worker_thread_and_even_keyboard_interrupt_there_only_fails_it(client):
    threads = []

    def where(r):
        threads.append(threading.current_thread().name)

    suite = Suite([Scenario("a", [Turn("menu", check=where)]), Scenario("b", [Turn("menu", check=interrupts)])])
    result = quiet(client, suite)
    assert threads and threads[0] != "convowidget-io"
    assert result.scenarios[1].failures == ["turn 1: check 'interrupts' raised KeyboardInterrupt"]
    assert not result.interrupted
    assert client.ask("menu").status == "complete"  # the IO thread survived


class PartialWatcher(ConvoClient):
    """A client that says when both slow replies have delivered their first chunk."""

    def __init__(self, **options):
        super().__init__(**options)
        self.partials: list[str] = []
        self.both_partial = threading.Event()

    async def exchange(self, request, *, on_event=None, **options):
        def watch(event, builder):
            if builder.text.startswith("partial: slow"):
                self.partials.append(builder.text)
                if len(self.partials) == 2:
                    self.both_partial.set()
            if on_event is not None:
                on_event(event, builder)

        return await super().exchange(request, on_event=watch, **options)


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to this process")
def test_an_interrupt_stops_the_run_and_keeps_what_finished():
    async def agent(request):
        if request.prompt.startswith("slow"):
            yield f"partial: {request.prompt}"
            while True:  # until the client leaves; the server then cancels this
                await asyncio.sleep(0.05)
        yield f"done: {request.prompt}"

    def interrupt_when_both_slow_are_in_flight(client):
        if client.both_partial.wait(60):
            os.kill(os.getpid(), signal.SIGINT)  # what the kernel's stop button does

    names = ["fast-1", "fast-2", "slow-1", "slow-2", "later-1", "later-2", "later-3"]
    suite = Suite([Scenario(name, [f"{name.split('-')[0]} one", f"{name.split('-')[0]} two"]) for name in names])
    with serve(agent, chunk_delay=0) as server:
        client = PartialWatcher(url=server.url, agent_id="a")
        threading.Thread(target=interrupt_when_both_slow_are_in_flight, args=(client,), daemon=True).start()
        result = quiet(client, suite, concurrency=2)
        after = client.ask("fast again")
    assert result.interrupted
    status = {s.name: s.status for s in result.scenarios}
    assert status == {
        "fast-1": "passed",
        "fast-2": "passed",
        "slow-1": "interrupted",
        "slow-2": "interrupted",
        "later-1": "not run",
        "later-2": "not run",
        "later-3": "not run",
    }
    assert (result.passed, result.failed, result.not_run) == (2, 0, 5)
    fast = result.runs[0]
    assert [t.text for t in fast.turns] == ["done: fast one", "done: fast two"]
    slow = {run.scenario: run for run in result.runs}["slow-1"]
    assert [t.status for t in slow.turns] == ["interrupted", "not run"]
    # The reply that was coming in is kept, stopped, with the text it had so far.
    assert (slow.turns[0].reply.status, slow.turns[0].text) == ("stopped", "partial: slow one")
    assert slow.turns[0].failures == [] and slow.turns[1].reply is None
    assert all(t.reply is None for run in result.runs[4:] for t in run.turns)
    assert after.status == "complete" and after.text == "done: fast again"


def test_the_client_runs_a_suite_and_retries_a_prompt_the_server_refused():
    suite = Suite([Scenario("greets", [Turn("start", expect={"contains": "demo agent"})])])
    refused_once = Faults(refuse_status=503, retry_after=0, times=1)
    with serve(chunk_delay=0, faults=refused_once) as server:
        result = ConvoClient(url=server.url, agent_id="demo").run_suite(suite, progress=False, retries=0)
    assert "(HTTP 503 Service Unavailable, Retry-After: 0)" in result.scenarios[0].failures[0]
    with serve(chunk_delay=0, faults=refused_once) as server:
        result = ConvoClient(url=server.url, agent_id="demo").run_suite(suite, progress=False)  # the client's 2
        assert server.connections == 1  # the refused handshake never reached the agent; the retry did
    assert result.passed == 1 and result.runs[0].turns[0].text.startswith("Hi! I'm the **convowidget demo agent**")
    with pytest.raises(ConfigurationError, match="retries: expected a whole number of at least 0"):
        ConvoClient(url="ws://127.0.0.1:9/interact", agent_id="demo").run_suite(suite, retries=-1)


def test_run_suite_checks_its_arguments_and_accepts_a_path(tmp_path, client):
    path = write(tmp_path, "s.yaml", "scenarios:\n  - name: a\n    turns: [menu]\n")
    assert quiet(client, str(path)).passed == 1
    assert quiet(client, [Scenario("a", ["menu"])]).passed == 1
    for bad in ({"concurrency": 0}, {"repeat": True}, {"concurrency": 2.5}):
        with pytest.raises(ConfigurationError, match="expected a whole number of at least 1"):
            quiet(client, path, **bad)


def test_the_progress_bar_counts_scenarios(client, capsys):
    run_suite(client, Suite([Scenario("a", ["menu"]), Scenario("b", ["menu"])], name="bar"), progress=True)
    assert "bar: 100%" in capsys.readouterr().err


# ---------------------------------------------------------------------- the result


@pytest.fixture
def hostile_result():
    def agent(request):
        if "bad" in request.prompt:
            return HOSTILE
        return "fine"

    suite = Suite(
        [
            Scenario("fine", ["hello"]),
            Scenario("<b>hostile</b> \x01 name", [Turn("bad <i>prompt</i>", expect={"contains": "nothing"})]),
        ],
        name="hostile <suite>",
    )
    with serve(agent, chunk_delay=0) as server:
        yield quiet(ConvoClient(url=server.url, agent_id="a"), suite, repeat=2)


def test_to_dataframe_has_one_row_per_scenario_turn(client):
    result = quiet(client, Suite([Scenario("a", ["start", "menu"]), Scenario("b", ["How do I install it?"])]))
    frame = result.to_dataframe()
    assert list(frame.columns[:8]) == ["scenario", "run", "turn", "prompt", "passed", "status", "failures", "reply"]
    assert {"time_to_first_chunk", "elapsed"} <= set(frame.columns)
    assert list(zip(frame.scenario, frame.turn, strict=True)) == [("a", 1), ("a", 2), ("b", 1)]
    assert frame.reply[2].startswith("### Installing convowidget")
    assert frame.passed.all()


def test_to_dataframe_without_pandas_says_how_to_get_it(client, monkeypatch):
    result = SuiteResult("s", [])
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConvoError, match=r"needs pandas: pip install 'convowidget\[pandas\]'"):
        result.to_dataframe()


def test_junit_is_valid_xml_with_one_testcase_per_scenario(hostile_result, tmp_path):
    path = tmp_path / "results.xml"
    text = hostile_result.to_junit(path)
    assert path.read_text(encoding="utf-8") == text
    root = ET.parse(path).getroot()  # parses: control characters from the agent were replaced
    assert root.tag == "testsuites" and root.get("tests") == "2" and root.get("failures") == "1"
    (suite,) = root
    assert suite.get("name") == "hostile <suite>"
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == ["fine", "<b>hostile</b> \ufffd name"]  # 2 runs, 1 testcase
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure.get("message") == "passed 0 of 2 runs; run 1: turn 1: expected the reply to contain 'nothing'"
    assert failure.text.splitlines() == [
        "run 1: turn 1: expected the reply to contain 'nothing'",
        "run 2: turn 1: expected the reply to contain 'nothing'",
    ]
    assert "<script>window.__pwned = 1</script>" in cases[1].find("system-out").text


def test_junit_marks_scenarios_not_run_as_skipped():
    from convowidget.results import ScenarioResult

    runs = [ScenarioResult.planned("never", 1, [("hi", {})])]
    root = ET.fromstring(SuiteResult("s", runs, interrupted=True).to_junit())
    assert root.get("skipped") == "1"
    assert root.find("testsuite/testcase/skipped").get("message") == "not run: the run was interrupted"


def test_json_round_trip_and_compare(tmp_path, client):
    def suite(*names_and_expectations):
        scenarios = [Scenario(name, [Turn("How do I install it?", expect=e)]) for name, e in names_and_expectations]
        return Suite(scenarios)

    passes, fails = {"contains": "pip"}, {"contains": "npm"}
    before = quiet(client, suite(("a", passes), ("b", fails), ("c", fails), ("d", passes), ("gone", passes)))
    saved = tmp_path / "before.json"
    before.to_json(saved)
    again = SuiteResult.load(saved)
    assert again.to_dict() == before.to_dict()
    assert again.runs[1].turns[0].reply.text.startswith("### Installing")

    after = quiet(client, suite(("a", fails), ("b", passes), ("c", fails), ("d", passes), ("new", passes)))
    comparison = after.compare(saved)
    assert comparison == after.compare(before)
    assert (comparison.broken, comparison.fixed, comparison.still_failing) == (["a"], ["b"], ["c"])
    assert (comparison.still_passing, comparison.new, comparison.removed) == (["d"], ["new"], ["gone"])
    assert not comparison.ok
    assert repr(comparison) == (
        "Comparison: 1 broken, 1 fixed, 1 still failing, 1 new, 1 removed, 0 not run, 1 still passing\n"
        "broken:\n  'a': turn 1: expected the reply to contain 'npm'\n"
        "fixed:\n  'b'\n"
        "still failing:\n  'c': turn 1: expected the reply to contain 'npm'\n"
        "new:\n  'new': passed\n"
        "removed:\n  'gone': was passed"
    )
    with pytest.raises(ConfigurationError, match="cannot read a suite result"):
        SuiteResult.from_json('{"format": "something else"}')


def test_the_html_view_escapes_agent_text_and_lists_failures_first(hostile_result):
    page = hostile_result._repr_html_()
    assert "<script>window" not in page and "<img src=x" not in page and "<b>hostile" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert "&lt;b&gt;hostile&lt;/b&gt;" in page
    assert page.index("cwr-row cwr-failed") < page.index("cwr-row cwr-passed")
    assert "✗ expected the reply to contain &#x27;nothing&#x27;" in page
    assert "<svg" in page and "p50" in page and "p95" in page
    assert "<details" in page and "<summary>" in page
    assert repr(hostile_result).startswith("SuiteResult('hostile <suite>': 1 passed, 1 failed, 50% of runs passed")


# ---------------------------------------------------------------------- the results view: the conversation

MARKDOWN = """The **pro plan** costs *$29*.

- unlimited agents
- priority support, see [pricing](https://example.com/pricing "Prices")

```python class="evil" id="x"
run_suite(suite)
```

| plan | price |
|:-----|------:|
| pro | $29 |

![chart](https://example.com/chart.png) ![old](http://example.com/old.png) ![pixel](data:image/png;base64,AAAA)
[mail](mailto:sales@example.com)
"""
HOSTILE_MD = """<script>window.__pwned = 3</script>

<img src=x onerror="window.__pwned = 4">

<div class="jp-Dialog" style="position:fixed;inset:0">over everything</div>

<iframe src="https://example.com"></iframe><style>body { display: none }</style><!-- hidden -->

[click](javascript:alert(1)) [vb](vbscript:msgbox(1)) [file](file:///etc/passwd) [rel](../secrets) <javascript:alert(2)>
[entity](java&#115;cript:alert(3)) ![x](javascript:alert(5)) ![y](data:image/svg+xml,<svg/onload=alert(6)>)
[![img](https://example.com/a.png)](javascript:alert(7)) *<b onclick="alert(8)">bold</b>* {: .cwr-agent #id}
"""
# What the page itself writes: the view's own elements, then those agent markdown may become.
VIEW_TAGS = {"div", "style", "p", "span", "strong", "em", "details", "summary", "ol", "ul", "li", "a"}
CHART_TAGS = {"svg", "title", "rect", "line", "text"}
MARKDOWN_TAGS = {"p", "br", "hr", "blockquote", "pre", "code", "ul", "ol", "li", "strong", "em", "s", "a", "img"}
MARKDOWN_TAGS |= {"table", "thead", "tbody", "tr", "th", "td", "h1", "h2", "h3", "h4", "h5", "h6"}
VOID = {"br", "hr", "img", "input", "meta", "link", "source", "wbr"}


class Element:
    """One parsed HTML element: enough of a DOM to ask what the view really contains."""

    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None = None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element | str] = []

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def iter(self):
        """This element and everything inside it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def select(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        """The elements inside this one with that tag and class."""
        return [e for e in list(self.iter())[1:] if tag in (None, e.tag) and (cls is None or cls in e.classes)]

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)


def parse_html(text: str) -> Element:
    from html.parser import HTMLParser

    root = Element("#root", {})

    class Builder(HTMLParser):
        current = root

        def handle_starttag(self, tag, attrs):
            element = Element(tag, dict(attrs), self.current)
            self.current.children.append(element)
            if tag not in VOID:
                self.current = element

        def handle_startendtag(self, tag, attrs):
            self.current.children.append(Element(tag, dict(attrs), self.current))

        def handle_endtag(self, tag):
            node = self.current
            while node is not root and node.tag != tag:
                node = node.parent
            assert node is not root, f"</{tag}> closes nothing"
            self.current = node.parent

        def handle_data(self, data):
            self.current.children.append(data)

    builder = Builder()
    builder.feed(text)
    builder.close()
    assert builder.current is root, "an element was left open"
    return root


@pytest.fixture(scope="module")
def markdown_result():
    """Two scenarios through the embedded server: markdown with sources then a handoff, and hostile text."""

    def agent(request):
        if request.prompt == "markdown please":
            yield MARKDOWN
            yield {
                "type": "metadata",
                "metadata": {"sources": ["https://example.com/pricing", "javascript:alert(9)", "FAQ"]},
            }
        elif request.prompt == "a human":
            yield "Connecting you to a person."
            yield {"type": "action", "action": {"type": "request_handoff", "reason": "asked"}}
        else:
            yield HOSTILE_MD

    suite = Suite(
        [
            Scenario(
                "markdown",
                [
                    Turn("markdown please", expect={"contains": "pro plan", "regex": r"\$\d+"}),
                    Turn("a human", expect={"contains": "nothing", "handoff": True}),
                ],
            ),
            Scenario("hostile", [Turn("bad <i>prompt</i>", expect={"contains": "over everything"})]),
        ],
        name="markdown",
    )
    with serve(agent, chunk_delay=0) as server:
        yield quiet(ConvoClient(url=server.url, agent_id="a"), suite)


def turns_of(page: Element, scenario: str) -> list[Element]:
    (row,) = [row for row in page.select("details", "cwr-row") if scenario in row.select("summary")[0].text()]
    return row.select("li", "cwr-turn")


def test_hostile_agent_markdown_renders_inert(markdown_result):
    page = parse_html(markdown_result.to_html())
    assert len(page.select("style")) == 1  # the view's own, and no other
    allowed = VIEW_TAGS | CHART_TAGS | MARKDOWN_TAGS | {"html", "head", "meta", "title", "body"}
    for element in page.iter():
        if element is page:
            continue
        assert element.tag in allowed, element.tag
        assert not [name for name in element.attrs if name.startswith("on")], element.attrs
        assert "id" not in element.attrs
        assert all(name.startswith("cwr-") for name in element.classes), element.classes
        if "style" in element.attrs:
            assert element.tag in ("svg", "body"), element.tag  # the chart and the page: never the agent's
        for name in ("href", "src"):
            url = element.attrs.get(name)
            assert url is None or re.match(r"(https?://|mailto:)", url), (element.tag, url)
        if element.tag == "a":
            assert (element.attrs["target"], element.attrs["rel"]) == ("_blank", "noopener noreferrer")
    (hostile,) = turns_of(page, "hostile")
    (bubble,) = hostile.select("div", "cwr-agent")
    assert not bubble.select("a") and not bubble.select("b")  # no link survives, no agent HTML
    assert [img.attrs["src"] for img in bubble.select("img")] == ["https://example.com/a.png"]  # https: only
    text = bubble.text()
    for shown in (
        "<script>window.__pwned = 3</script>",
        '<img src=x onerror="window.__pwned = 4">',
        '<div class="jp-Dialog" style="position:fixed;inset:0">over everything</div>',
        '<iframe src="https://example.com"></iframe><style>body { display: none }</style><!-- hidden -->',
        "[click](javascript:alert(1))",
        "![x](javascript:alert(5))",  # refused images stay text
        "![y](data:image/svg+xml,<svg/onload=alert(6)>)",
        '<b onclick="alert(8)">bold</b>',
    ):
        assert shown in text
    assert [e.text() for e in bubble.select("em")] == ['<b onclick="alert(8)">bold</b>']  # markdown still works
    (prompt,) = hostile.select("div", "cwr-you")
    assert prompt.text() == "You: bad <i>prompt</i>" and not prompt.select("i")
    assert "<script>window.__pwned" not in markdown_result.to_html()


def test_agent_markdown_renders_as_elements(markdown_result):
    page = parse_html(markdown_result._repr_html_())
    first = turns_of(page, "markdown")[0]
    (markdown,) = first.select("div", "cwr-md")
    assert [e.text() for e in markdown.select("strong")] == ["pro plan"]
    assert [e.text() for e in markdown.select("em")] == ["$29"]
    (bullets,) = markdown.select("ul")
    assert [li.text() for li in bullets.select("li")] == ["unlimited agents", "priority support, see pricing"]
    (link,) = bullets.select("a")
    assert link.attrs == {
        "href": "https://example.com/pricing",
        "title": "Prices",
        "target": "_blank",
        "rel": "noopener noreferrer",
    }
    (code,) = markdown.select("code")
    assert code.parent.tag == "pre" and code.text() == "run_suite(suite)\n" and code.attrs == {}
    (table,) = markdown.select("table")
    assert [th.text() for th in table.select("th")] == ["plan", "price"]
    assert [(td.text(), td.attrs) for td in table.select("td")] == [
        ("pro", {"align": "left"}),
        ("$29", {"align": "right"}),
    ]
    (image,) = markdown.select("img")  # https: only, lazily, without a referrer
    assert image.attrs == {
        "src": "https://example.com/chart.png",
        "alt": "chart",
        "loading": "lazy",
        "referrerpolicy": "no-referrer",
    }
    links = {a.text(): a.attrs["href"] for a in markdown.select("a")}
    assert links == {
        "pricing": "https://example.com/pricing",
        "old": "http://example.com/old.png",  # an http: image is a link to it, never loaded
        "mail": "mailto:sales@example.com",
    }
    assert "[image: pixel]" in markdown.text()  # a data: image is text


def test_the_conversation_is_laid_out_like_the_panel(markdown_result):
    page = parse_html(markdown_result._repr_html_())
    rows = page.select("details", "cwr-row")
    assert [row.classes for row in rows] == [["cwr-row", "cwr-failed"], ["cwr-row", "cwr-passed"]]
    (chat,) = rows[0].select("ol", "cwr-chat")
    first, second = turns_of(page, "markdown")
    assert first.parent is chat and second.parent is chat

    # turn 1 passed: the prompt, the reply with its sources, a quiet tick and no failures
    assert first.classes == ["cwr-turn"]
    assert [e.text() for e in first.select("div", "cwr-you")] == ["You: markdown please"]
    (reply,) = first.select("div", "cwr-agent")
    (sources,) = reply.select("div", "cwr-sources")
    items = sources.select("li")
    assert [li.text() for li in items] == ["https://example.com/pricing", "javascript:alert(9)", "FAQ"]
    assert [[a.attrs["href"] for a in li.select("a")] for li in items] == [["https://example.com/pricing"], [], []]
    assert not reply.select(cls="cwr-handoff") and not first.select("ul", "cwr-failures")
    (verdict,) = first.select("p", "cwr-verdict")
    assert verdict.text().startswith("✓ turn 1 passed · first chunk ")
    assert verdict.text().endswith("expected contains: ['pro plan']; regex: ['\\$\\d+']")

    # turn 2 failed: marked on that turn, with its handoff notice in the reply
    assert second.classes == ["cwr-turn", "cwr-bad"]
    (reply,) = second.select("div", "cwr-agent")
    assert [e.text() for e in reply.select(cls="cwr-handoff")] == [
        "The agent asked for a human: a human will take over this conversation."
    ]
    (failures,) = second.select("ul", "cwr-failures")
    assert [li.text() for li in failures.select("li")] == ["✗ expected the reply to contain 'nothing'"]
    assert second.select("p", "cwr-verdict")[0].text().startswith("✗ turn 2 failed · ")


FRAGMENTS = [
    *("<script>", "</script>", "<img src=x onerror=alert(1)>", '<a href="javascript:x">', "<div class=jp-x style=a>"),
    *("<!--", "-->", "<![CDATA[", "&#106;", "&lt;", "&", '"', "'", "`", "```js class=x\n", "\n\n", "\n", "    "),
    *("[", "]", "(", ")", "!", "<", ">", "*", "_", "~~", "#", "> ", "- ", "1. ", "|", "|:-|", "\\", " "),
    *("javascript:", "JaVaScRiPt:", "vbscript:", "data:text/html,", "file:", "http://a.b/", "https://c.d/", "//e.f"),
    *("mailto:", "tel:+1", "onload=", "style=", "class=", "id=", "{: .x}", "\x00", "\u202e", "\ud800"),
]


# Attributes an element in the reply's bubble may carry (class: the view's own, cwr-*).
BUBBLE_ATTRS = {
    "a": {"href", "title", "target", "rel"},
    "img": {"src", "alt", "title", "loading", "referrerpolicy"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "div": {"class"},
    "span": {"class"},
    "p": {"class"},
}


SCHEMES = ["javascript:", "JaVaScRiPt:", " javascript:", "vbscript:", "data:image/png,", "file:///", "", "/", "../"]
SCHEMES += ["http://a.b/", "https://c.d/", "//e.f/", "mailto:", "tel:+1", "ftp://g.h/", "\x01javascript:"]
LINKS = st.builds(
    "{}[{}]({}{}{})".format,
    st.sampled_from(["", "!", "[![i](https://i.j/p.png)"]),
    st.sampled_from(FRAGMENTS) | st.text(max_size=3),
    st.sampled_from(["", "<"]),
    st.sampled_from(SCHEMES),
    st.sampled_from(["x", "alert(1)", '"t"', "x 'title'", "%0a", "&#58;"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3) | LINKS, max_size=40).map("".join))
def test_any_agent_text_renders_to_allowlisted_html(text):
    from convowidget.results import ScenarioResult, TurnResult

    turn = TurnResult("s", 1, 1, "p", status="passed", reply=Reply(text=text))
    page = parse_html(SuiteResult("s", [ScenarioResult("s", 1, [turn], "passed")])._repr_html_())
    (bubble,) = page.select("div", "cwr-agent")
    for element in bubble.select():
        assert element.tag in MARKDOWN_TAGS | {"div", "span"}, element.tag
        assert set(element.attrs) <= BUBBLE_ATTRS.get(element.tag, set()), (element.tag, element.attrs)
        assert all(name.startswith("cwr-") for name in element.classes)
        if element.tag == "a":
            assert re.match(r"(https?://[^/\\\s]|mailto:|tel:)", element.attrs["href"]), element.attrs
            assert (element.attrs["target"], element.attrs["rel"]) == ("_blank", "noopener noreferrer")
        if element.tag == "img":
            assert element.attrs["src"].startswith("https://"), element.attrs
            assert (element.attrs["loading"], element.attrs["referrerpolicy"]) == ("lazy", "no-referrer")


def test_without_markdown_it_the_view_shows_the_reply_as_escaped_text(markdown_result, monkeypatch):
    monkeypatch.setitem(sys.modules, "markdown_it", None)
    page = parse_html(markdown_result._repr_html_())
    first = turns_of(page, "markdown")[0]
    (plain,) = first.select("div", "cwr-plain")
    assert plain.text() == MARKDOWN and not plain.select()
    (hostile,) = turns_of(page, "hostile")
    assert hostile.select("div", "cwr-plain")[0].text() == HOSTILE_MD


def test_importing_convowidget_does_not_import_markdown_it():
    code = "import sys, convowidget, convowidget.results; print('markdown_it' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ---------------------------------------------------------------------- the command line


GOOD = (
    "scenarios:\n  - name: install\n    turns:\n      - user: How do I install it?\n        expect: {contains: pip}\n"
)


def test_the_test_command_exits_0_1_or_2_and_writes_junit_and_json(tmp_path, capsys, monkeypatch):
    from convowidget.cli import main

    for name in ("CONVOCORE_AGENT_ID", "CONVOCORE_URL"):
        monkeypatch.delenv(name, raising=False)
    good = write(tmp_path, "good.yaml", GOOD)
    failing = write(tmp_path, "failing.yaml", GOOD.replace("pip", "npm"))
    malformed = write(tmp_path, "malformed.yaml", GOOD.replace("contains", "contain"))
    junit = tmp_path / "results.xml"

    assert main(["test", str(good), "--demo", "--junit", str(junit)]) == 0
    assert re.fullmatch(r"1 passed, 0 failed in \d+\.\d s", capsys.readouterr().out.splitlines()[-1])
    assert ET.parse(junit).getroot().get("tests") == "1"

    assert main(["test", str(failing), "--demo"]) == 1
    out = capsys.readouterr().out
    assert "FAILED: install\n    turn 1: expected the reply to contain 'npm'\n" in out

    assert main(["test", str(malformed), "--demo"]) == 2
    err = capsys.readouterr().err
    assert "malformed.yaml: scenario 'install', turn 1: unknown key 'contain' (did you mean 'contains'?)" in err

    assert main(["test", str(good)]) == 2
    assert "no agent to test" in capsys.readouterr().err

    assert main(["test", str(good), "--demo", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["passed"] == 1


def test_the_test_command_records_then_replays_offline(tmp_path, capsys):
    from convowidget.cli import main

    good = write(tmp_path, "good.yaml", GOOD)
    cassette = tmp_path / "session.jsonl"
    assert main(["test", str(good), "--demo", "--record", str(cassette)]) == 0
    assert main(["test", str(good), "--replay", str(cassette)]) == 0
    other = write(tmp_path, "other.yaml", GOOD.replace("How do I install it?", "Something new"))
    assert main(["test", str(other), "--replay", str(cassette)]) == 1
    assert "no recorded reply to 'Something new'" in capsys.readouterr().out


# ---------------------------------------------------------------------- the results view in Chromium


@pytest.mark.browser
def test_the_results_view_page_in_chromium(hostile_result, tmp_path):
    from browser_harness import ARTIFACTS, chromium

    path = tmp_path / "results.html"
    hostile_result.to_html(path)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(path.as_uri())
        rows = page.locator("details.cwr-row")
        assert rows.count() == 2
        failing = rows.nth(0)  # failing first
        assert "<b>hostile</b>" in failing.locator("summary").inner_text()
        assert not failing.locator(".cwr-convo").is_visible()
        failing.locator("summary").click()
        assert failing.locator(".cwr-convo").is_visible()
        assert "<script>window.__pwned = 1</script>" in failing.locator(".cwr-agent").first.inner_text()
        failure = failing.locator("ul.cwr-failures li").first
        assert failure.inner_text() == "✗ expected the reply to contain 'nothing'"
        assert failure.evaluate("e => getComputedStyle(e).color") == "rgb(207, 34, 46)"
        assert page.locator("svg.cwr-chart rect").count() >= 1
        assert page.evaluate("typeof window.__pwned") == "undefined" and not dialogs
        # laid out like the panel: the prompt in a bubble on the right, the reply on the left
        chat = failing.locator("ol.cwr-chat").first.bounding_box()
        you = failing.locator(".cwr-you .cwr-bubble").first.bounding_box()
        agent = failing.locator(".cwr-agent").first.bounding_box()
        assert chat["x"] + chat["width"] - (you["x"] + you["width"]) < 20 < you["x"] - chat["x"]
        assert agent["x"] - chat["x"] < 20 < chat["x"] + chat["width"] - (agent["x"] + agent["width"])
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "results-view-page.png"), full_page=True)
        # a reader who prefers dark gets a dark conversation and a red that reads on it
        page.emulate_media(color_scheme="dark")
        assert failing.locator("ol.cwr-chat").first.evaluate("e => getComputedStyle(e).backgroundColor") == (
            "rgb(22, 27, 34)"
        )
        assert failure.evaluate("e => getComputedStyle(e).color") == "rgb(255, 123, 114)"
        page.screenshot(path=str(ARTIFACTS / "results-view-page-dark.png"), full_page=True)
        page.close()


@pytest.mark.browser
def test_the_results_view_in_jupyterlab(tmp_path):
    from browser_harness import ARTIFACTS, JupyterServer, chromium, write_notebook

    cells = [
        "from convowidget import ConvoClient, serve\n"
        "from convowidget.suite import Scenario, Suite, Turn, run_suite\n"
        f"HOSTILE = {HOSTILE!r}\n"
        "server = serve(lambda r: HOSTILE if 'bad' in r.prompt else 'fine', chunk_delay=0).start()\n"
        "client = ConvoClient(url=server.url, agent_id='a')\n"
        "hostile = Scenario('hostile', [Turn('bad', expect={'contains': 'nothing'})])\n"
        "suite = Suite([Scenario('fine', ['hello']), hostile])\n"
        "result = run_suite(client, suite, progress=False)\n"
        "result"
    ]
    lab = JupyterServer(tmp_path).start()
    try:
        write_notebook(lab.root / "work" / "results.ipynb", cells)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(60_000)
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(lab.notebook_url("results.ipynb"))
            page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for()
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            view = page.locator(".jp-OutputArea-output .cwr-results")
            view.wait_for()
            assert "1 passed" in view.locator(".cwr-summary").inner_text()
            failing = view.locator("details.cwr-row").first
            failing.locator("summary").click()
            assert "<script>window.__pwned = 1</script>" in failing.locator(".cwr-agent").inner_text()
            assert failing.locator("ul.cwr-failures li").inner_text() == "✗ expected the reply to contain 'nothing'"
            assert view.locator("svg.cwr-chart").is_visible()
            assert page.evaluate("typeof window.__pwned") == "undefined" and not dialogs
            ARTIFACTS.mkdir(exist_ok=True)
            view.screenshot(path=str(ARTIFACTS / "results-view-jupyterlab.png"))
    finally:
        lab.stop()
