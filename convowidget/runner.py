"""Running a suite: every scenario as its own conversation, a few at a time, through a client.

``run_suite(client, suite)`` sends each scenario's turns in order through the client's
public ``make_request`` and ``exchange``, on convowidget's IO thread, judges each reply
by its turn's ``Expect`` (in a worker thread: checks and regexes may be slow), and returns a
``SuiteResult``. ``run_suite(suite, clients={"A": a, "B": b})`` runs the suite against
each agent in turn and returns a ``MultiResult`` to compare them. A KeyboardInterrupt
ends the run and keeps what finished. It is also ``convowidget.run_suite``, and
``ConvoClient.run_suite`` is a shorthand for it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, overload

from . import _io
from ._options import whole
from ._reactions import Outgoing, TurnNotSent, plan_turn
from ._urls import safe_url
from .errors import ConfigurationError, ConvoError
from .reply import Reply
from .results import MultiResult, ScenarioResult, SuiteResult, TurnResult
from .suite import Expect, Scenario, Suite, Turn, load_suite

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


def _unjudged(expect: Expect) -> list[str]:
    """A link button sends nothing, so a turn expecting something of a reply fails saying so."""
    if not expect.to_dict():
        return []
    return ["a link button opens a page and asks the agent nothing, so there is no reply to check; move expect"]


async def _ask(client: ConvoClient, outgoing: Outgoing, convo_id: str, state: _Run, retries: int) -> Reply:
    """One turn's reply; an interrupt meanwhile ends it ``stopped``, its text kept."""
    request = client.make_request(outgoing.prompt or "", convo_id, **outgoing.extra)
    task = asyncio.current_task()
    state.receiving.add(task)
    try:
        return await client.exchange(request, stop_event=state.stop_event, retries=retries)
    finally:
        state.receiving.discard(task)


async def _take_turn(
    client: ConvoClient,
    turn: Turn,
    current: TurnResult,
    previous: Reply | None,
    convo_id: str,
    state: _Run,
    retries: int,
) -> Reply | None:
    """Send one turn as the panel would and judge its reply, filling ``current``.

    Returns the reply the next turn reacts to (this one's, or ``previous`` when nothing was
    sent: a link button, a button or field that was not offered, a client that raised).
    """
    try:
        outgoing = plan_turn(turn.user, turn.click, turn.submit, previous)
    except TurnNotSent as exc:  # no such button or field: this turn fails, saying what was offered
        current.failures = [str(exc)]
        return previous
    current.prompt = outgoing.shown
    if outgoing.prompt is None:  # a link button: checked, not followed
        current.failures = _unjudged(turn.expect)
        return previous
    try:
        reply = outgoing.redacted(await _ask(client, outgoing, convo_id, state, retries))
    except Exception as exc:  # the client should not raise; if it does, it is this turn's failure
        current.failures = [f"the client raised {type(exc).__name__}: {exc}"]
        return previous
    current.reply = reply
    if state.stopped:  # interrupted while it came in: keep the reply, judge nothing more
        raise asyncio.CancelledError
    current.failures = await _evaluate(turn.expect, reply)
    return reply


async def _run_scenario(
    client: ConvoClient, scenario: Scenario, record: ScenarioResult, state: _Run, stop_on_failure: bool, retries: int
) -> None:
    """Send the turns in order in one conversation, filling ``record`` as each turn ends."""
    started = time.perf_counter()
    record.status = "running"
    record.convo_id = convo_id = client.new_convo_id()
    current: TurnResult | None = None
    previous: Reply | None = None  # what a click or submit turn reacts to
    failed = False
    try:
        for turn, current in zip(scenario.turns, record.turns, strict=True):
            if stop_on_failure and failed:
                current.status = "skipped"
                continue
            previous = await _take_turn(client, turn, current, previous, convo_id, state, retries)
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
        ScenarioResult.planned(
            scenario.name,
            run,
            [(turn.label, turn.expect.to_dict()) for turn in scenario.turns],
            suite.threshold(scenario),
        )
        for scenario in suite.scenarios
        for run in range(1, repeat + 1)
    ]


@overload
def run_suite(
    client: ConvoClient,
    suite: SuiteLike,
    *,
    concurrency: int = 8,
    progress: bool = True,
    stop_on_failure: bool = False,
    repeat: int = 1,
    retries: int | None = None,
) -> SuiteResult: ...


@overload
def run_suite(
    suite: SuiteLike,
    /,
    *,
    clients: Mapping[str, ConvoClient],
    concurrency: int = 8,
    progress: bool = True,
    stop_on_failure: bool = False,
    repeat: int = 1,
    retries: int | None = None,
) -> MultiResult: ...


def run_suite(
    client: Any = None,
    suite: Any = None,
    *,
    clients: Mapping[str, ConvoClient] | None = None,
    concurrency: int = 8,
    progress: bool = True,
    stop_on_failure: bool = False,
    repeat: int = 1,
    retries: int | None = None,
) -> SuiteResult | MultiResult:
    """Run every scenario as its own conversation, up to ``concurrency`` at once.

    Two forms: ``run_suite(client, suite)`` tests one agent and returns a ``SuiteResult``;
    ``run_suite(suite, clients={"A": client_a, "B": client_b})`` tests each agent in turn
    (two or more, one after the other, so they do not compete for time) and returns a
    ``MultiResult`` whose view shows them side by side.

    ``suite`` is a ``Suite``, one or more scenarios, or the path of a YAML/JSON suite. A
    failed turn fails its scenario; its remaining turns still run unless
    ``stop_on_failure=True`` (then they are ``skipped``). ``repeat=N`` runs each
    scenario N times, in N conversations, and reports its pass rate; a scenario with a
    ``min_pass_rate`` then passes when that share of its runs passed. ``retries``
    (default: the client's) re-tries a prompt that never reached the server. A
    KeyboardInterrupt (the kernel's stop button) stops the run and returns what
    finished: scenarios in flight are ``interrupted`` (the reply that was coming in is
    kept, with its text so far), those not started ``not run``; neither counts as failed.
    """
    if _io.on_io_thread():
        raise ConvoError("run_suite() cannot block inside a reply callback")
    run = functools.partial(
        _run_one,
        concurrency=whole("concurrency", concurrency, least=1),
        repeat=whole("repeat", repeat, least=1),
        progress=progress,
        stop_on_failure=stop_on_failure,
        retries=None if retries is None else whole("retries", retries, least=0),
    )
    if clients is None:
        if client is None or suite is None:
            raise ConfigurationError("run_suite: pass the client and the suite: run_suite(client, suite)")
        return run(client, _as_suite(suite), label="")
    if suite is not None:
        raise ConfigurationError("run_suite: with clients=, pass only the suite: run_suite(suite, clients={...})")
    if not isinstance(clients, Mapping) or len(clients) < 2:
        raise ConfigurationError("clients: expected a mapping of two or more names to clients, e.g. {'A': a, 'B': b}")
    if not all(isinstance(label, str) and label.strip() for label in clients):
        raise ConfigurationError("clients: every agent needs a name (a non-empty text) to label its results")
    built = _as_suite(client)
    results: dict[str, SuiteResult] = {}
    for label, each in clients.items():
        results[label] = run(each, built, label=label)
        if results[label].interrupted:
            break  # the stop button stops the whole comparison
    return MultiResult(results)


def _run_one(
    client: ConvoClient,
    built: Suite,
    *,
    label: str,
    concurrency: int,
    progress: bool,
    stop_on_failure: bool,
    repeat: int,
    retries: int | None,
) -> SuiteResult:
    """One agent's run of ``built`` (options already checked)."""
    retries = client.retries if retries is None else retries
    records = _planned(built, repeat)
    state = _Run(len(records), progress, f"{built.name} · {label}" if label else built.name)
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
    return SuiteResult(
        built.name,
        records,
        repeat=repeat,
        interrupted=state.stopped,
        elapsed=elapsed,
        started_at=stamp,
        agent_id=client.agent_id,
        url=safe_url(client.url),
    )
