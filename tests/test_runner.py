"""run_suite: each scenario one conversation through a real embedded server on loopback.

Concurrency and interrupts are proven from what the server saw, not from clocks.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time

import pytest
from suite_helpers import interrupts, quiet, write

from convowidget import ConfigurationError, ConvoClient, Faults, serve
from convowidget.runner import run_suite
from convowidget.suite import Expect, Scenario, Suite, Turn

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


FORTY_ONE = "a" * 40 + "!"  # the reply of issue 16: 41 characters that make nested repeats backtrack


def test_a_regex_that_backtracks_fails_its_turn_in_words_instead_of_freezing_the_run():
    """``(a|aa)+$`` would take ``re`` hours on this reply, holding the GIL; it gets 1 s and a sentence."""
    suite = Suite(
        [
            Scenario("nested", [Turn("x", expect={"regex": "(a+)+$"})]),  # regex answers this one at once
            Scenario("alternation", [Turn("x", expect={"regex": ["(a|aa)+$", "a{40}"]})]),
        ]
    )
    with serve(lambda request: FORTY_ONE, chunk_delay=0) as server:
        result = quiet(ConvoClient(url=server.url, agent_id="a"), suite)
    assert {s.name: s.failures for s in result.scenarios} == {
        "nested": ["turn 1: expected the reply to match the regex /(a+)+$/"],
        "alternation": [
            "turn 1: the regex /(a|aa)+$/ took longer than 1 s on a 41-character reply: "
            "it backtracks catastrophically; rewrite it"
        ],
    }
    assert not result.interrupted


def test_a_reply_is_judged_off_the_io_thread(client, monkeypatch):
    """Its regexes may take up to their time limit: the IO thread meanwhile streams the other replies."""
    import convowidget._expect
    from convowidget import _io

    on_io_thread = []

    def watched(pattern, text):
        on_io_thread.append(_io.on_io_thread())
        return search(pattern, text)

    search = convowidget._expect.search
    monkeypatch.setattr(convowidget._expect, "search", watched)
    result = quiet(client, Suite([Scenario("a", [Turn("menu", expect={"regex": "Pick"})])]))
    assert result.passed == 1 and on_io_thread == [False]


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


def test_run_suite_keeps_its_old_names(client):
    import convowidget
    import convowidget.suite

    assert convowidget.run_suite is convowidget.suite.run_suite is run_suite
    result = client.run_suite(Suite([Scenario("a", ["menu"])]), progress=False, repeat=2)  # the method's keywords
    assert (result.passed, result.repeat, len(result.runs)) == (1, 2, 2)
