"""Running a suite: every scenario as its own conversation, a few at a time, through a client.

``run_suite(client, suite)`` sends each scenario's turns in order through the client's
public ``make_request`` and ``exchange``, on convowidget's IO thread, judges each reply
by its turn's ``Expect`` (in a worker thread: checks and regexes may be slow), and returns a
``SuiteResult``. A KeyboardInterrupt ends the run and keeps what finished. It is also
``convowidget.run_suite``, and ``ConvoClient.run_suite`` is a shorthand for it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import _io
from ._options import whole
from .errors import ConvoError
from .reply import Reply
from .results import ScenarioResult, SuiteResult, TurnResult
from .suite import Expect, Scenario, Suite, load_suite

if TYPE_CHECKING:
    from .client import ConvoClient

__all__ = ["run_suite"]

SuiteLike = Suite | Scenario | Iterable[Scenario] | str | os.PathLike[str]


def _as_suite(suite: SuiteLike) -> Suite:
    if isinstance(suite, Suite):
        return suite
    if isinstance(suite, (str, os.PathLike)):
        return load_suite(suite)
    if isinstance(suite, Scenario):
        return Suite([suite])
    return Suite(suite)


class _Run:
    """The state one ``run_suite`` call shares between its scenarios (on the IO thread).

    ``stop()`` (an interrupt) sets ``stop_event``, which ends every reply in flight
    ``stopped`` with its text so far; scenarios doing anything else (waiting for a free
    slot, running a check) are cancelled.
    """

    def __init__(self, total: int, progress: bool, description: str) -> None:
        self.stopped = False
        self.stop_event = asyncio.Event()
        self.tasks: list[asyncio.Future[None]] = []
        self.receiving: set[asyncio.Future[Any] | None] = set()  # scenarios waiting for a reply
        self.failed = 0
        self.bar: Any = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=description, unit="scenario")

    def stop(self) -> None:
        self.stopped = True
        self.stop_event.set()
        for task in self.tasks:
            if task not in self.receiving:
                task.cancel()

    def finished(self, result: ScenarioResult) -> None:
        if result.status == "failed":
            self.failed += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.failed:
                self.bar.set_postfix(failed=self.failed, refresh=False)


async def _evaluate(expect: Expect, reply: Reply) -> list[str]:
    """The reply's failures, judged in a worker thread: a ``check`` function may be slow, and
    so may a regex (up to its time limit), while the IO thread keeps other replies streaming."""
    return await asyncio.to_thread(expect.failures, reply)


async def _ask(client: ConvoClient, prompt: str, convo_id: str, state: _Run, retries: int) -> Reply:
    """One turn's reply; an interrupt meanwhile ends it ``stopped``, its text kept."""
    request = client.make_request(prompt, convo_id)
    task = asyncio.current_task()
    state.receiving.add(task)
    try:
        return await client.exchange(request, stop_event=state.stop_event, retries=retries)
    finally:
        state.receiving.discard(task)


async def _run_scenario(
    client: ConvoClient, scenario: Scenario, record: ScenarioResult, state: _Run, stop_on_failure: bool, retries: int
) -> None:
    """Send the turns in order in one conversation, filling ``record`` as each turn ends."""
    started = time.perf_counter()
    record.status = "running"
    record.convo_id = convo_id = client.new_convo_id()
    current: TurnResult | None = None
    failed = False
    try:
        for turn, current in zip(scenario.turns, record.turns, strict=True):
            if stop_on_failure and failed:
                current.status = "skipped"
                continue
            try:
                reply = await _ask(client, turn.user, convo_id, state, retries)
            except Exception as exc:  # the client should not raise; if it does, it is this turn's failure
                current.failures = [f"the client raised {type(exc).__name__}: {exc}"]
            else:
                current.reply = reply
                if state.stopped:  # interrupted while it came in: keep the reply, judge nothing more
                    raise asyncio.CancelledError
                current.failures = await _evaluate(turn.expect, reply)
            current.status = "failed" if current.failures else "passed"
            failed = failed or bool(current.failures)
        current = None
        record.status = "failed" if failed else "passed"
    except asyncio.CancelledError:  # the run was interrupted: keep what finished
        if current is not None and current.status == "not run":
            current.status = "interrupted"
        record.status = "failed" if failed else "interrupted"
    finally:
        record.elapsed = time.perf_counter() - started


def _planned(suite: Suite, repeat: int) -> list[ScenarioResult]:
    """A record per scenario and run, in suite order, every turn ``not run``."""
    return [
        ScenarioResult.planned(scenario.name, run, [(turn.user, turn.expect.to_dict()) for turn in scenario.turns])
        for scenario in suite.scenarios
        for run in range(1, repeat + 1)
    ]


def run_suite(
    client: ConvoClient,
    suite: SuiteLike,
    *,
    concurrency: int = 8,
    progress: bool = True,
    stop_on_failure: bool = False,
    repeat: int = 1,
    retries: int | None = None,
) -> SuiteResult:
    """Run every scenario as its own conversation, up to ``concurrency`` at once.

    ``suite`` is a ``Suite``, one or more scenarios, or the path of a YAML/JSON suite. A
    failed turn fails its scenario; its remaining turns still run unless
    ``stop_on_failure=True`` (then they are ``skipped``). ``repeat=N`` runs each
    scenario N times, in N conversations, and reports its pass rate. ``retries``
    (default: the client's) re-tries a prompt that never reached the server. A
    KeyboardInterrupt (the kernel's stop button) stops the run and returns what
    finished: scenarios in flight are ``interrupted`` (the reply that was coming in is
    kept, with its text so far), those not started ``not run``; neither counts as failed.
    """
    if _io.on_io_thread():
        raise ConvoError("run_suite() cannot block inside a reply callback")
    built = _as_suite(suite)
    concurrency = whole("concurrency", concurrency, least=1)
    repeat = whole("repeat", repeat, least=1)
    retries = client.retries if retries is None else whole("retries", retries, least=0)
    records = _planned(built, repeat)
    state = _Run(len(records), progress, built.name)
    scenarios = {scenario.name: scenario for scenario in built.scenarios}

    async def one(record: ScenarioResult, gate: asyncio.Semaphore) -> None:
        try:
            async with gate:
                if state.stopped:
                    return
                await _run_scenario(client, scenarios[record.scenario], record, state, stop_on_failure, retries)
        except asyncio.CancelledError:
            return  # cancelled while waiting for a free slot: stays "not run"
        state.finished(record)

    async def run_all() -> None:
        gate = asyncio.Semaphore(concurrency)
        first_runs_first = sorted(records, key=lambda record: record.run)  # stable: suite order within a run
        state.tasks = [asyncio.ensure_future(one(record, gate)) for record in first_runs_first]
        if state.stopped:
            state.stop()
        await asyncio.gather(*state.tasks, return_exceptions=True)

    started, stamp = time.perf_counter(), time.time()
    try:
        _io.wait(_io.submit(run_all()), lambda: _io.call_soon(state.stop))
    finally:
        if state.bar is not None:
            state.bar.close()
    elapsed = time.perf_counter() - started
    return SuiteResult(built.name, records, repeat=repeat, interrupted=state.stopped, elapsed=elapsed, started_at=stamp)
