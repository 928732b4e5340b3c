"""Benchmark of run_suite: 1,000 scenarios of 3 turns against the embedded demo agent.

Run it from the repository root:

    .venv/bin/python bench/bench_suite.py [--scenarios 1000] [--concurrency 8 32]

The embedded server (demo agent, ``chunk_delay=0``) runs in its own process, so the
client's figures are its own. Each scenario greets (``start``), asks an installation
question (contains, regex, sources_include) and asks for a human (handoff). Reported per
concurrency: wall time, scenarios and exchanges per second, this process's CPU time, and
the check that nothing was lost: every scenario passed and the server answered exactly
scenarios x 3 connections. Then the cost of the exports for that result (JUnit XML,
DataFrame, JSON, the HTML view) and the HTML view's size.

``--carried`` adds to every turn the expectations on what a reply carried (model,
max_output_tokens, not_regex, similar_to), which all hold, so the run still checks that
nothing was lost. Last, the cost per turn of judging each of the run's replies: the
suite's own expectations, then those plus every expectation issue 14 added (buttons,
message types, tool call, model, tokens, not_regex, similar_to, a snapshot with volatile
patterns), side by side on the same replies.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import queue
import time
from collections.abc import Callable
from typing import TypeVar

from convowidget import ConvoClient
from convowidget._expect import with_stored
from convowidget._snapshots import Stored
from convowidget.reply import Reply
from convowidget.runner import run_suite
from convowidget.suite import Expect, Scenario, Suite, Turn

T = TypeVar("T")


def _serve(ports: multiprocessing.Queue, stop: multiprocessing.Event, counts: multiprocessing.Queue) -> None:
    from convowidget import serve

    with serve(chunk_delay=0, backlog=4096) as server:
        ports.put(server.port)
        stop.wait()
        counts.put(server.connections)


_CARRIED = {  # what every turn's reply also carries, in the --carried run: all of it holds
    "model": "convowidget-demo",
    "max_output_tokens": 5000,
    "not_regex": r"(?i)\bsorry\b|traceback",
    "similar_to": "Hello, I am the local demo agent: pip install convowidget, or talk to a human.",
    "min_similarity": 0.05,
}


def _suite(size: int, carried: bool = False) -> Suite:
    more = _CARRIED if carried else {}
    turns = [
        Turn("start", expect=Expect(contains="demo agent", **more)),
        Turn(
            "How do I install it?",
            expect=Expect(contains="pip install", regex=r"Python 3\.\d+", sources_include="kb/", **more),
        ),
        Turn("I want a human", expect=Expect(handoff=True, not_contains="sorry", **more)),
    ]
    return Suite([Scenario(f"scenario {n:04d}", turns) for n in range(size)], name="bench")


def _judging_cost(suite: Suite, replies: list[Reply]) -> None:
    """Microseconds per turn to judge the run's replies: the suite's expectations, each new one
    added alone, then all of them together."""
    base = [turn.expect for turn in suite.scenarios[0].turns]
    stored = Stored(replies[1].text.replace("3.", "4."), ("dates", "numbers", "ids"))
    new: dict[str, dict[str, object]] = {
        "buttons_include": {"buttons_include": "Talk to a human"},
        "ui_includes": {"ui_includes": ["choice", "card"]},
        "tool_called": {"tool_called": {"name": "lookup_order", "input_contains": {"order_id": "CW-1042"}}},
        "model": {"model": "convowidget-demo"},
        "max_output_tokens": {"max_output_tokens": 5000},
        "not_regex": {"not_regex": _CARRIED["not_regex"]},
        "similar_to": {"similar_to": _CARRIED["similar_to"], "min_similarity": 0.5},
        "snapshot (3 volatile presets)": {"snapshot": 0.85},
    }
    new["all of them"] = {key: value for keys in new.values() for key, value in keys.items()}

    def per_turn(expects: list[Expect]) -> float:
        start = time.perf_counter()
        for number, reply in enumerate(replies):
            expects[number % 3].reply_failures(reply)
        return (time.perf_counter() - start) / len(replies) * 1e6

    own = per_turn(base)
    print(f"  {'the suite own expectations':<30} {own:7.1f} µs per turn")
    for label, keys in new.items():
        expects = [with_stored(Expect(**{**expect.to_dict(), **keys}), stored) for expect in base]  # type: ignore[arg-type]
        print(f"  {'+ ' + label:<30} {per_turn(expects) - own:7.1f} µs per turn more")


def _timed(label: str, action: Callable[[], T]) -> T:
    start = time.perf_counter()
    value = action()
    print(f"  {label:<26} {time.perf_counter() - start:7.3f} s")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--carried", action="store_true", help="add the expectations on what a reply carried")
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, {multiprocessing.cpu_count()} CPUs")
    suite = _suite(args.scenarios, args.carried)
    for concurrency in args.concurrency:
        ports: multiprocessing.Queue = multiprocessing.Queue()
        counts: multiprocessing.Queue = multiprocessing.Queue()
        stop = multiprocessing.Event()
        process = multiprocessing.Process(target=_serve, args=(ports, stop, counts), daemon=True)
        process.start()
        try:
            port = ports.get(timeout=60)
            client = ConvoClient(url=f"ws://127.0.0.1:{port}/interact", agent_id="bench", idle_timeout=120)
            run_suite(client, _suite(concurrency), concurrency=concurrency, progress=False)  # warm-up
            cpu, wall = time.process_time(), time.perf_counter()
            result = run_suite(client, suite, concurrency=concurrency, progress=False)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            stop.set()
        try:
            served = counts.get(timeout=30) - 3 * concurrency  # less the warm-up's connections
        except queue.Empty:
            served = -1
        process.join(30)
        exchanges = sum(1 for turn in result.turns if turn.reply is not None)
        lost = "none lost" if result.passed == args.scenarios and served == exchanges == 3 * args.scenarios else "LOST"
        latency = result.latency()
        print(
            f"concurrency {concurrency:>3}: {args.scenarios} scenarios x 3 turns in {wall:6.2f} s "
            f"({args.scenarios / wall:6.1f} scenarios/s, {exchanges / wall:6.1f} exchanges/s, "
            f"client CPU {cpu:5.2f} s); passed {result.passed}, failed {result.failed}; "
            f"server answered {served} connections: {lost}; first chunk p50 "
            f"{latency['first_chunk_p50']:.4f} s, p95 {latency['first_chunk_p95']:.4f} s"
        )
    print("exports of the last result:")
    _timed("to_junit()", result.to_junit)
    _timed("to_dataframe()", result.to_dataframe)
    _timed("to_json()", result.to_json)
    page = _timed("_repr_html_()", result._repr_html_)
    print(f"  HTML view: {len(page.encode()) / 1024:.0f} KiB (300 rows shown of {args.scenarios})")
    print("judging each reply of the last result:")
    _judging_cost(suite, [turn.reply for turn in result.turns if turn.reply is not None])


if __name__ == "__main__":
    main()
